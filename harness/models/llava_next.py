"""LLaVA-NeXT (LLaVA-1.6) family: CLIP with any-resolution tiling + Mistral decoder.

One image becomes a base view plus tiles, with a learned newline embedding per tile row, all
carrying the `<image>` id: every one of them counts as an image token.
"""

from __future__ import annotations

from typing import ClassVar

from .adapter import ModelAdapter
from .family import register_family
from .registry import ModelSpec, register_model


@register_family("llava-next")
class LlavaNextAdapter(ModelAdapter):
    family: ClassVar[str] = "llava-next"
    model_class = "LlavaNextForConditionalGeneration"


@register_model("llava-next-7b")
def llava_next_7b() -> ModelSpec:
    return ModelSpec(
        name="llava-next-7b", family="llava-next", source="llava-hf/llava-v1.6-mistral-7b-hf",
        revision="2424fdd47412fccc66d91719126b420e9fbd7065", num_layers=32, default_layers=("0", "mid", "last"),
    )


@register_model("tiny-llava-next")
def tiny_llava_next() -> ModelSpec:
    return ModelSpec(
        name="tiny-llava-next", family="llava-next", source="tiny:llava-next", num_layers=4,
        default_layers=("first", "mid", "last"),
    )
