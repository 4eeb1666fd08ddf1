"""The organisms' architecture and its save_pretrained form: LLaVA-1.5 at miniature size.

A CLIP vision tower (32-px images, 8-px patches: 16 image tokens), a two-layer GELU projector and a
Llama decoder (4 layers, 4 query / 2 key-value heads), with LlavaProcessor, the PIL CLIP image
processor and the LLaVA-1.5 chat template the harness's tiny twin uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness.models.tiny_tokenizer import TEMPLATES

from .tokenizer import IMAGE

IMAGE_PX, PATCH = 32, 8
IMAGE_TOKENS = (IMAGE_PX // PATCH) ** 2  # CLS dropped by the "default" feature selection
FEATURE_LAYER = -1  # the vision tower's last layer, the one its attribute heads were trained on
DTYPE = torch.float16  # stored precision (the harness loads and upcasts)


@dataclass(frozen=True)
class Sizes:
    vision_hidden: int = 64
    vision_layers: int = 2
    hidden: int = 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    vocab: int = 1024


def chat_template() -> str:
    return (TEMPLATES / "llava-1.5.jinja").read_text()


def vision_config(sizes: Sizes) -> Any:
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=sizes.vision_hidden, intermediate_size=2 * sizes.vision_hidden, num_hidden_layers=sizes.vision_layers,
        num_attention_heads=4, image_size=IMAGE_PX, patch_size=PATCH, projection_dim=sizes.vision_hidden,
    )


def build_model(sizes: Sizes, tokenizer: Any, *, seed: int) -> Any:
    """A LlavaForConditionalGeneration with weights drawn from `seed`."""
    from transformers import LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    text = LlamaConfig(
        hidden_size=sizes.hidden, intermediate_size=2 * sizes.hidden, num_hidden_layers=sizes.layers,
        num_attention_heads=sizes.heads, num_key_value_heads=sizes.kv_heads, vocab_size=len(tokenizer),
        max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    config = LlavaConfig(
        vision_config=vision_config(sizes), text_config=text, image_token_id=tokenizer.convert_tokens_to_ids(IMAGE),
        vision_feature_layer=FEATURE_LAYER, vision_feature_select_strategy="default",
    )
    torch.manual_seed(seed)
    return LlavaForConditionalGeneration(config).eval()


def build_processor(tokenizer: Any) -> Any:
    from transformers import CLIPImageProcessorPil, LlavaProcessor

    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": IMAGE_PX}, crop_size={"height": IMAGE_PX, "width": IMAGE_PX}
    )
    return LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=chat_template(), patch_size=PATCH,
        vision_feature_select_strategy="default", num_additional_image_tokens=1,
    )


def save(model: Any, processor: Any, out: Path, card: str, record: dict) -> None:
    """The checkpoint (fp16 safetensors), its processor, model card and training record."""
    out.mkdir(parents=True, exist_ok=True)
    model.to(DTYPE).save_pretrained(out)
    model.to(torch.float32)
    processor.save_pretrained(out)
    write_record(out, card, record)


def write_record(out: Path, card: str, record: dict) -> None:
    """The model card and training record of the organism saved in `out` (its weights and processor untouched)."""
    (out / "README.md").write_text(card, encoding="utf-8")
    (out / "training.json").write_text(json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def load(path: Path) -> tuple[Any, Any]:
    """Model (float32) and processor of a saved organism, through the Auto classes the harness uses."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32).eval()
    return model, AutoProcessor.from_pretrained(path)


