"""Offline tiny twins: the real transformers classes at tiny size, seeded random weights.

A tiny twin differs from its hub checkpoint only in config and weights: the same model class,
the same processor class (with the PIL image processor) and the same chat template, so every
code path the harness takes on a real checkpoint is taken offline too.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from .adapter import TEMPLATES
from .tiny_tokenizer import TokenizerSpec, build_tokenizer

_BUILDERS: dict[str, Callable[[], tuple[nn.Module, Any]]] = {}


def register_tiny(family: str) -> Callable:
    def wrap(fn: Callable[[], tuple[nn.Module, Any]]) -> Callable:
        _BUILDERS[family] = fn
        return fn

    return wrap


def build_tiny(family: str, *, seed: int) -> tuple[nn.Module, Any]:
    """Model and processor of the tiny `family`, with weights drawn from `seed`."""
    torch.manual_seed(seed)
    model, processor = _BUILDERS[family]()
    return model, processor


LLAVA_TOKENS = TokenizerSpec(
    specials=("<s>", "</s>", "<unk>", "<pad>", "<image>"), bos="<s>", eos="</s>", pad="<pad>", unk="<unk>"
)


@register_tiny("llava")
def tiny_llava() -> tuple[nn.Module, Any]:
    """LLaVA-1.5 at tiny size: CLIP vision (32 px, patch 4 → 64 image tokens) + Llama (4 layers, GQA 4/2)."""
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    template = (TEMPLATES / "llava-1.5.jinja").read_text()
    tokenizer = build_tokenizer(LLAVA_TOKENS, template)
    vision = CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=32, patch_size=4, projection_dim=32,
    )
    text = LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=272, max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    config = LlavaConfig(
        vision_config=vision, text_config=text, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-2, vision_feature_select_strategy="default",
    )
    model = LlavaForConditionalGeneration(config)
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=4,
        vision_feature_select_strategy="default", num_additional_image_tokens=1, chat_template=template,
    )
    return model, processor
