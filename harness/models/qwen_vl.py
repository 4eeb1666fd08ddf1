"""Qwen-VL families: Qwen2-VL and Qwen2.5-VL (ViT with 2x2 patch merging + Qwen2 decoder with M-RoPE).

Their decoders rotate queries and keys by multimodal RoPE (temporal, height and width sections of
each head), so the post-RoPE keys of image tokens depend on where the patch sits in the image.
"""

from __future__ import annotations

from typing import ClassVar

from .adapter import ModelAdapter
from .family import register_family
from .registry import ModelSpec, register_model


@register_family("qwen2-vl")
class Qwen2VLAdapter(ModelAdapter):
    family: ClassVar[str] = "qwen2-vl"
    model_class = "Qwen2VLForConditionalGeneration"


@register_family("qwen2.5-vl")
class Qwen25VLAdapter(ModelAdapter):
    family: ClassVar[str] = "qwen2.5-vl"
    model_class = "Qwen2_5_VLForConditionalGeneration"


@register_model("qwen2.5-vl-7b")
def qwen25_vl_7b() -> ModelSpec:
    return ModelSpec(
        name="qwen2.5-vl-7b", family="qwen2.5-vl", source="Qwen/Qwen2.5-VL-7B-Instruct",
        revision="cc594898137f460bfe9f0759e9844b3ce807cfb5", num_layers=28, default_layers=("0", "mid", "last"),
    )


@register_model("qwen2-vl-7b")
def qwen2_vl_7b() -> ModelSpec:
    return ModelSpec(
        name="qwen2-vl-7b", family="qwen2-vl", source="Qwen/Qwen2-VL-7B-Instruct",
        revision="eed13092ef92e448dd6875b2a00151bd3f7db0ac", num_layers=28, default_layers=("0", "mid", "last"),
    )


@register_model("tiny-qwen2.5-vl")
def tiny_qwen25_vl() -> ModelSpec:
    return ModelSpec(name="tiny-qwen2.5-vl", family="qwen2.5-vl", source="tiny:qwen2.5-vl", num_layers=4)


@register_model("tiny-qwen2-vl")
def tiny_qwen2_vl() -> ModelSpec:
    return ModelSpec(name="tiny-qwen2-vl", family="qwen2-vl", source="tiny:qwen2-vl", num_layers=4)
