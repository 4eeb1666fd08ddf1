"""Tiny checkpoints of OCR and document-conversion families (see tests/families/zoo.py for the conventions)."""

from __future__ import annotations

from .kit import family, small_text, template, tokenizer

DOCLING = (
    "<|end_of_text|>", "<|pad|>", "<|start_of_role|>", "<|end_of_role|>", "<image>", "<fake_token_around_image>", "<global-img>",
    *(f"<row_{i}_col_{j}>" for i in range(1, 5) for j in range(1, 5)),
)


@family("granite_docling")
def granite_docling():
    """Granite Docling: Idefics3's prompt layout (each 32 px tile as <fake_token_around_image><row_i_col_j> and its image
    tokens, a newline after each row of tiles, then the thumbnail after <global-img> when the page is split) before a
    Granite decoder; the vision side's features are also added after the decoder's first layer (deepstack). 8 px patches
    pixel-shuffled by 2: 4 image tokens per tile. The template is granite-docling-258M's (Granite's role markers, no BOS,
    <|end_of_text|> and a newline after each turn, the image placeholder <image> where the message puts it)."""
    from transformers import (
        GraniteDoclingConfig, GraniteDoclingForConditionalGeneration, GraniteDoclingImageProcessorPil, GraniteDoclingProcessor,
    )

    chat = template("", "<|start_of_role|>{role}<|end_of_role|>", "<image>", "<|end_of_text|>\\n", "<|start_of_role|>assistant<|end_of_role|>")
    tok = tokenizer(DOCLING, None, "<|end_of_text|>", "<|pad|>", chat)
    config = GraniteDoclingConfig(
        text_config=small_text(pad_token_id=tok.pad_token_id, bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=32, patch_size=8,
            out_hidden_size=64, scale_factor=2, deepstack_visual_indexes=[0],
        ),
        image_token_id=tok.convert_tokens_to_ids("<image>"), pad_token_id=tok.pad_token_id,
    )
    image_processor = GraniteDoclingImageProcessorPil(size={"height": 32, "width": 32}, max_patches=4)
    processor = GraniteDoclingProcessor(image_processor=image_processor, tokenizer=tok, image_seq_len=4, chat_template=chat)
    return GraniteDoclingForConditionalGeneration(config), processor
