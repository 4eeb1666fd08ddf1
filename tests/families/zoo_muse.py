"""Tiny checkpoints of Meta's Muse families, Muse Glimmer and Muse Spark (see tests/families/zoo.py for the conventions).

Both share one vision side (a perception encoder: 8 px patches here, windowed and full attention blocks, axial 2-D RoPE,
pixel-shuffled 2 × 2, then a two-layer adapter and a projection) and one image processor (MuseGlimmerImageProcessor,
which exists only for torchvision), and a decoder with scaleless QK-norm, a sigmoid output gate per head, sliding-window
RoPE layers and full-attention NoPE layers (every fourth counted back from the last: here layer 0 sliding, layer 1 NoPE).
Muse Spark adds routed experts, residual gates and a waveform audio tower.
"""

from __future__ import annotations

from .kit import family, small_text, template, tokenizer, video_processor

# Llama 4's specials as Muse keeps them (bos 200000 / eos 200001 in the configs' defaults), and the processors' own
MUSE = ("<|begin_of_text|>", "<|end_of_text|>", "<|finetune_right_pad|>", "<|header_start|>", "<|header_end|>", "<|eot|>",
        "<|patch|>", "<|image_start|>", "<|image_end|>", "<|video|>", "<|vid_start|>", "<|vid_end|>", "<|vid_frame_separator|>")
MUSE_AUDIO = ("<|audio|>", "<|soft_audio_start|>", "<|soft_audio_end|>")
# Guessed role markers (Llama 4's); the BOS written by the template (transformers' muse_glimmer.md: "the chat template
# writes <|begin_of_text|> into the rendered text") and one <|patch|> per image, which the processor expands to
# <|image_start|> + <|patch|> × N + <|image_end|> (vLLM's muse_glimmer.py: IMAGE_TOKEN = "<|patch|>" is the prompt's placeholder).
MUSE_TEMPLATE = template(
    "{{ bos_token }}", "<|header_start|>{role}<|header_end|>\\n\\n", "<|patch|>", "<|eot|>",
    "<|header_start|>assistant<|header_end|>\\n\\n",
)
MUSE_VISION = dict(patch_size=8, pos_emb_height=4, pos_emb_width=4, num_attention_heads=2, num_hidden_layers=2, hidden_size=32,
                   intermediate_size=64, merge_size=2)


def _muse_tokenizer(specials):
    return tokenizer(specials, "<|begin_of_text|>", "<|eot|>", "<|finetune_right_pad|>", MUSE_TEMPLATE)


def _muse_text(tok, **kw) -> dict:
    return small_text(sliding_window=64, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      **kw)


def _muse_processors():
    """The image processor (8 px patches merged 2 × 2, at most 4 merged tokens: a 79 px fixture image becomes 32 × 32) and
    the video processor the processor takes (torchvision only, like the image processor)."""
    from transformers import MuseGlimmerImageProcessor

    image_processor = MuseGlimmerImageProcessor(patch_size=8, merge_size=2, max_image_tokens=4)
    return image_processor, video_processor("MuseGlimmerVideoProcessor", patch_size=8, merge_size=2, max_video_frame_tokens=4)


@family("muse_glimmer", torchvision=True)
def muse_glimmer():
    """Muse Glimmer 30B (meta-models/Muse-Glimmer-30B): a dense decoder with gated attention. Template: BOS written by the
    template (published), the image as one <|patch|> before the text (the processor's placeholder); guessed: Llama 4's
    <|header_start|>role<|header_end|> markers and <|eot|>, no reasoning_strength sentence (it would be special text only)."""
    from transformers import MuseGlimmerConfig, MuseGlimmerForConditionalGeneration, MuseGlimmerProcessor

    tok = _muse_tokenizer(MUSE)
    ids = tok.convert_tokens_to_ids
    config = MuseGlimmerConfig(
        text_config=_muse_text(tok), vision_config=MUSE_VISION, out_hidden_size=32 * 4, projector_hidden_size=64,
        image_token_id=ids("<|patch|>"), video_token_id=ids("<|video|>"),
    )
    image_processor, videos = _muse_processors()
    processor = MuseGlimmerProcessor(image_processor=image_processor, video_processor=videos, tokenizer=tok, chat_template=MUSE_TEMPLATE)
    return MuseGlimmerForConditionalGeneration(config), processor


@family("muse_spark", torchvision=True)
def muse_spark():
    """Muse Spark Open (meta-models/Muse-Spark-Open-816B-A42B): Muse Glimmer's vision side and attention before a decoder
    with routed experts (pooled to moe_hidden_size, a post-expert norm) and residual gates, plus a convolutional waveform
    audio tower (MuseSparkFeatureExtractor). Template as muse_glimmer's (its model card passes reasoning_effort, left at
    its default here); the audio placeholders are in the vocabulary because the processor looks them up."""
    from transformers import MuseSparkConfig, MuseSparkFeatureExtractor, MuseSparkForConditionalGeneration, MuseSparkProcessor

    tok = _muse_tokenizer(MUSE + MUSE_AUDIO)
    ids = tok.convert_tokens_to_ids
    config = MuseSparkConfig(
        text_config=_muse_text(
            tok, num_local_experts=2, num_experts_per_tok=1, moe_intermediate_size=32, moe_hidden_size=32,
            mlp_layer_types=["dense", "sparse"],
        ),
        vision_config=MUSE_VISION,
        audio_config=dict(patch_sizes=[2, 2], hidden_sizes=[8, 16], depths=[1, 1], num_hidden_layers=2, conv_kernel_size=3,
                          out_hidden_size=64),
        out_hidden_size=32 * 4, projector_hidden_size=64,
        image_token_id=ids("<|patch|>"), video_token_id=ids("<|video|>"), audio_token_id=ids("<|audio|>"),
    )
    image_processor, videos = _muse_processors()
    processor = MuseSparkProcessor(
        image_processor=image_processor, video_processor=videos, tokenizer=tok, chat_template=MUSE_TEMPLATE,
        feature_extractor=MuseSparkFeatureExtractor(samples_per_token=4),
    )
    return MuseSparkForConditionalGeneration(config), processor
