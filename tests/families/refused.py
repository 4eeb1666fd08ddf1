"""Tiny checkpoints of families the harness refuses, each with the reason its one line must give.

A family that gives vision to its decoder without writing token positions (cross-attention:
Mllama, IDEFICS v1) has no image keys; the harness must say so in one line instead of measuring
the image placeholder's own text embedding as "image".
"""

from __future__ import annotations

from typing import Any, Callable

from .zoo import small_text, template, tokenizer

REFUSED: dict[str, tuple[Callable[[], tuple[Any, Any]], str]] = {}  # family → (builder, pattern its one line matches)


def refused(name: str, reason: str):
    def wrap(fn):
        REFUSED[name] = (fn, reason)
        return fn

    return wrap


@refused("mllama", r"by cross-attention .* wrote 0 of the \d+ positions labelled image")
def mllama():
    from transformers import MllamaConfig, MllamaForConditionalGeneration, MllamaImageProcessorPil, MllamaProcessor

    specials = (
        "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|finetune_right_pad_id|>", "<|image|>", "<|python_tag|>",
    )
    chat = template(
        "{{ bos_token }}", "<|start_header_id|>{role}<|end_header_id|>\\n\\n", "<|image|>", "<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\\n\\n",
    )
    tok = tokenizer(specials, "<|begin_of_text|>", "<|eot_id|>", "<|finetune_right_pad_id|>", chat)
    text = {k: v for k, v in small_text(num_hidden_layers=3).items() if k != "head_dim"}
    config = MllamaConfig(
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_global_layers=1, attention_heads=2, image_size=32,
            patch_size=8, vision_output_dim=64, max_num_tiles=2, intermediate_layers_indices=[0],
            supported_aspect_ratios=[[1, 1], [1, 2], [2, 1]],
        ),
        text_config=dict(**text, cross_attention_layers=[1], bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id),
        image_token_index=tok.convert_tokens_to_ids("<|image|>"),
    )
    image_processor = MllamaImageProcessorPil(size={"height": 32, "width": 32}, max_image_tiles=2)
    processor = MllamaProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat)
    return MllamaForConditionalGeneration(config), processor
