"""Tiny checkpoints of more image-text-to-text families (see tests/families/zoo.py for the conventions)."""

from __future__ import annotations

from .kit import family, small_text, template, tokenizer, video_processor

MINICPM_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|image_pad|>", "<|video_pad|>", "<image>", "</image>", "<slice>", "</slice>",
    "<image_id>", "</image_id>",
)
# MiniCPM-V 4.6's template is ChatML: the image item is one <|image_pad|>, which the processor expands into
# <image_id>N</image_id><image>(<|image_pad|> x n)</image> and one <slice>...</slice> per crop, rows split by "\n".
MINICPM_TEMPLATE = template("", "<|im_start|>{role}\\n", "<|image_pad|>\\n", "<|im_end|>\\n", "<|im_start|>assistant\\n")


def _minicpm_tokenizer():
    return tokenizer(
        MINICPM_SPECIALS, None, "<|im_end|>", "<|endoftext|>", MINICPM_TEMPLATE,
        image_token="<|image_pad|>", video_token="<|video_pad|>", image_start_token="<image>", image_end_token="</image>",
        slice_start_token="<slice>", slice_end_token="</slice>", image_id_start_token="<image_id>", image_id_end_token="</image_id>",
    )


def _minicpm_text() -> dict:
    """Qwen3.5's hybrid text model (MiniCPM-V 4.6's language model): layers 1 and 3 of 4 attend."""
    return small_text(
        model_type="qwen3_5_text", num_hidden_layers=4,
        layer_types=["linear_attention", "full_attention", "linear_attention", "full_attention"],
        linear_key_head_dim=16, linear_value_head_dim=16, linear_num_key_heads=2, linear_num_value_heads=4,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 1, 1], "mrope_interleaved": True,
                         "partial_rotary_factor": 0.5},
    )


def _minicpm(config_class, model_class, processor_class, *, markers: bool = False):
    """The processor hands its video processor (torchvision) to ProcessorMixin positionally and reads its
    `slice_mode`, so it cannot be built without one. 8 px patches; 64 px views (one overview, up to two slices)
    merged 4 x 4 (window merger, then the MLP merger): 4 image tokens per overview, 3 per slice of a 79 px image."""
    from transformers import MiniCPMV4_6ImageProcessorPil

    tok = _minicpm_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in MINICPM_SPECIALS}
    # MiniCPM-V 4.7's canvas M-RoPE places the markers around each view (the newline ends a row of slices)
    extra = dict(
        image_start_id=ids["<image>"], image_end_id=ids["</image>"], slice_start_id=ids["<slice>"], slice_end_id=ids["</slice>"],
        newline_id=tok.encode("\n", add_special_tokens=False)[0],
    ) if markers else {}
    config = config_class(
        text_config=_minicpm_text(), **extra,
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=64, patch_size=8),
        insert_layer_id=0, image_size=64, image_token_id=tok.image_token_id, video_token_id=tok.video_token_id,
    )
    image_processor = MiniCPMV4_6ImageProcessorPil(patch_size=8, scale_resolution=64, max_slice_nums=2)
    processor = processor_class(
        image_processor=image_processor, tokenizer=tok, chat_template=MINICPM_TEMPLATE,
        video_processor=video_processor("MiniCPMV4_6VideoProcessor", patch_size=8, scale_resolution=64, max_slice_nums=2),
    )
    return model_class(config), processor


@family("minicpmv4_6", torchvision=True)
def minicpmv4_6():
    from transformers import MiniCPMV4_6Config, MiniCPMV4_6ForConditionalGeneration, MiniCPMV4_6Processor

    return _minicpm(MiniCPMV4_6Config, MiniCPMV4_6ForConditionalGeneration, MiniCPMV4_6Processor)


@family("minicpmv4_7", torchvision=True)
def minicpmv4_7():
    """MiniCPM-V 4.6's vision side and processor (its PIL image processor) with canvas M-RoPE positions."""
    from transformers import MiniCPMV4_7Config, MiniCPMV4_7ForConditionalGeneration, MiniCPMV4_7Processor

    return _minicpm(MiniCPMV4_7Config, MiniCPMV4_7ForConditionalGeneration, MiniCPMV4_7Processor, markers=True)


MOLMO_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<low_res_im_start>",
    "<|image|>", "<im_low>", "<frame_start>", "<frame_end>", "<|video|>",
)
# Molmo2's published template: every image of the conversation first (one `<|image|>`, or "Image N<|image|>" each when
# there are several), then ChatML turns; the processor writes the tokenizer's BOS (<|im_end|>) before the prompt.
MOLMO_TEMPLATE = (
    "{% set n = namespace(images=0) %}{% for message in messages %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' %}{% set n.images = n.images + 1 %}{% endif %}{% endfor %}{% endfor %}"
    "{% if n.images == 1 %}{{ '<|image|>' }}{% elif n.images > 1 %}{% for i in range(n.images) %}"
    "{{ 'Image ' ~ (i + 1) ~ '<|image|>' }}{% endfor %}{% endif %}"
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}{% for c in message['content'] %}"
    "{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{{ '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@family("molmo2", torchvision=True)
def molmo2():
    """Its image processor exists only for torchvision. 32 px crops of 8 px patches (4 x 4, margins of one patch), up
    to two overlapping crops plus the low-resolution view, pooled 2 x 2 by the adapter's attention; only <im_patch>
    positions get vision features (added to the token's embedding), <im_col> and the start/end markers keep their own."""
    from transformers import Molmo2Config, Molmo2ForConditionalGeneration, Molmo2ImageProcessor, Molmo2Processor

    tok = tokenizer(MOLMO_SPECIALS, None, "<|im_end|>", "<|endoftext|>", MOLMO_TEMPLATE, image_token="<|image|>", video_token="<|video|>")
    ids = {t: tok.convert_tokens_to_ids(t) for t in MOLMO_SPECIALS}
    text = {k: v for k, v in small_text().items() if k != "max_position_embeddings"}
    config = Molmo2Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                           head_dim=16, image_size=[32, 32], patch_size=8),
        adapter_config=dict(vision_feature_layer=[-1, 0], hidden_size=32, num_attention_heads=2, num_key_value_heads=2, head_dim=16,
                            intermediate_size=64, text_hidden_size=64),
        text_config=dict(**text, additional_vocab_size=0, max_position_embeddings=4096),
        image_start_token_id=ids["<im_start>"], low_res_image_start_token_id=ids["<low_res_im_start>"],
        image_end_token_id=ids["<im_end>"], image_patch_id=ids["<im_patch>"], frame_start_token_id=ids["<frame_start>"],
        frame_end_token_id=ids["<frame_end>"],
    )
    image_processor = Molmo2ImageProcessor(size={"height": 32, "width": 32}, patch_size=8, max_crops=2, overlap_margins=[1, 1],
                                           image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    processor = Molmo2Processor(
        image_processor=image_processor, tokenizer=tok, chat_template=MOLMO_TEMPLATE, video_processor=video_processor("Molmo2VideoProcessor"),
    )
    return Molmo2ForConditionalGeneration(config), processor
