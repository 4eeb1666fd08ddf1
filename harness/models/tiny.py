"""Offline tiny twins: the real transformers classes at tiny size, seeded random weights.

A tiny twin differs from its hub checkpoint only in config and weights: the same model class,
the same processor class (with the PIL image processor) and the same chat template, so every
code path the harness takes on a real checkpoint is taken offline too.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from .tiny_tokenizer import TEMPLATES, TokenizerSpec, build_tokenizer

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


# What a LLaVA processor needs to count the tiny CLIP's image tokens: 4-px patches, the CLS token
# dropped by the "default" feature selection.
TINY_CLIP_TOKENS = dict(patch_size=4, vision_feature_select_strategy="default", num_additional_image_tokens=1)


def _tiny_clip() -> Any:
    """The CLIP vision tower of the LLaVA twins: 32-px images, 4-px patches (64 patches + CLS), 2 layers."""
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=32, patch_size=TINY_CLIP_TOKENS["patch_size"], projection_dim=32,
    )


@register_tiny("llava")
def tiny_llava(*, hidden: int = 64, layers: int = 4) -> tuple[nn.Module, Any]:
    """LLaVA-1.5 at tiny size: CLIP vision (32 px, patch 4 → 64 image tokens) + Llama (4 layers, GQA 4/2).

    `hidden` and `layers` size the Llama decoder (heads of 16 dims) for timing runs."""
    from transformers import (
        CLIPImageProcessorPil,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    template = (TEMPLATES / "llava-1.5.jinja").read_text()
    tokenizer = build_tokenizer(LLAVA_TOKENS, template)
    vision = _tiny_clip()
    text = LlamaConfig(
        hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers, num_attention_heads=hidden // 16,
        num_key_value_heads=hidden // 32, vocab_size=272, max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    config = LlavaConfig(
        vision_config=vision, text_config=text, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-2, vision_feature_select_strategy=TINY_CLIP_TOKENS["vision_feature_select_strategy"],
    )
    model = LlavaForConditionalGeneration(config)
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=template, **TINY_CLIP_TOKENS
    )
    return model, processor


@register_tiny("llava-next")
def tiny_llava_next() -> tuple[nn.Module, Any]:
    """LLaVA-NeXT (1.6, Mistral) at tiny size: any-resolution tiling of the tiny CLIP (32 px tiles, patch 4)
    over a 4-layer Mistral (GQA 4/2); grid pinpoints are the real ones (336-px units) scaled to 32 px.

    An image becomes a 32-px base view plus up to 2 × 2 tiles, each 64 tokens, with one learned
    newline embedding per row of tile patches; all of them carry the `<image>` id."""
    from transformers import (
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
        LlavaNextImageProcessorPil,
        LlavaNextProcessor,
        MistralConfig,
    )

    template = (TEMPLATES / "llava-next-mistral.jinja").read_text()
    tokenizer = build_tokenizer(LLAVA_TOKENS, template)
    pinpoints = [[32, 64], [64, 32], [64, 64], [96, 32], [32, 96]]
    vision = _tiny_clip()
    text = MistralConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=272, max_position_embeddings=4096, sliding_window=None,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    config = LlavaNextConfig(
        vision_config=vision, text_config=text, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-2, vision_feature_select_strategy=TINY_CLIP_TOKENS["vision_feature_select_strategy"],
        image_grid_pinpoints=pinpoints,
    )
    model = LlavaNextForConditionalGeneration(config)
    image_processor = LlavaNextImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, image_grid_pinpoints=pinpoints
    )
    processor = LlavaNextProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=template, **TINY_CLIP_TOKENS
    )
    return model, processor


QWEN_TOKENS = TokenizerSpec(
    specials=(
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
        "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
    ),
    bos=None, eos="<|im_end|>", pad="<|endoftext|>",
)

# 28 px = one 14-px patch pair merged 2x2; 32-64 merged cells → 32-64 image tokens per fixture image.
QWEN_MIN_PIXELS, QWEN_MAX_PIXELS = 32 * 28 * 28, 64 * 28 * 28


def _tiny_qwen(model_class: type, config_class: type, processor_class: type, vision: dict) -> tuple[nn.Module, Any]:
    """A Qwen-VL twin: Qwen2 decoder (4 layers, 4 query / 2 KV heads of 16 dims, M-RoPE 2+3+3 = 16/2)."""
    from transformers import Qwen2VLImageProcessorPil

    from .processors import image_only, torchvision_available  # deferred: processor classes only for the twin being built

    template = (TEMPLATES / "qwen2-vl.jinja").read_text()
    tokenizer = build_tokenizer(QWEN_TOKENS, template)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_TOKENS.specials}
    text = dict(
        hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=272, max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
        bos_token_id=None, eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
    )
    config = config_class(
        text_config=text, vision_config=vision,
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    model = model_class(config)
    image_processor = Qwen2VLImageProcessorPil(min_pixels=QWEN_MIN_PIXELS, max_pixels=QWEN_MAX_PIXELS)
    if torchvision_available():
        from transformers import Qwen2VLVideoProcessor

        video_processor = Qwen2VLVideoProcessor(min_pixels=QWEN_MIN_PIXELS, max_pixels=QWEN_MAX_PIXELS)
    else:
        processor_class, video_processor = image_only(processor_class), None
    processor = processor_class(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor, chat_template=template
    )
    return model, processor


@register_tiny("qwen2.5-vl")
def tiny_qwen25_vl() -> tuple[nn.Module, Any]:
    """Qwen2.5-VL at tiny size: windowed ViT (2 blocks, the last full-attention) + the tiny Qwen2 decoder."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor

    vision = dict(
        depth=2, hidden_size=32, intermediate_size=64, num_heads=4, patch_size=14, spatial_merge_size=2,
        temporal_patch_size=2, window_size=112, out_hidden_size=64, fullatt_block_indexes=[1],
    )
    return _tiny_qwen(Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLConfig, Qwen2_5_VLProcessor, vision)


@register_tiny("qwen2-vl")
def tiny_qwen2_vl() -> tuple[nn.Module, Any]:
    """Qwen2-VL at tiny size: ViT (2 blocks) + the tiny Qwen2 decoder."""
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor

    vision = dict(
        depth=2, embed_dim=32, hidden_size=64, mlp_ratio=2, num_heads=4, patch_size=14, spatial_merge_size=2,
        temporal_patch_size=2,
    )
    return _tiny_qwen(Qwen2VLForConditionalGeneration, Qwen2VLConfig, Qwen2VLProcessor, vision)
