"""LLaVA family: LLaVA-1.5 (CLIP + Vicuna) and its tiny offline twin."""

from __future__ import annotations

from typing import ClassVar

from .adapter import ModelAdapter
from .family import register_family
from .registry import ModelSpec, register_model


@register_family("llava")
class LlavaAdapter(ModelAdapter):
    family: ClassVar[str] = "llava"
    model_class = "LlavaForConditionalGeneration"


@register_model("llava-1.5-7b")
def llava_15_7b() -> ModelSpec:
    return ModelSpec(
        name="llava-1.5-7b", family="llava", source="llava-hf/llava-1.5-7b-hf",
        revision="b234b804b114d9e37bb655e11cbbb5f5e971b7a9", num_layers=32, default_layers=("0", "mid", "last"),
    )


@register_model("tiny-llava")
def tiny_llava() -> ModelSpec:
    return ModelSpec(name="tiny-llava", family="llava", source="tiny:llava", num_layers=4, default_layers=("first", "mid", "last"))
