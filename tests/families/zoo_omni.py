"""Tiny checkpoints of more image-text-to-text families (see tests/families/zoo.py for the conventions)."""

from __future__ import annotations

from .kit import QWEN_SPECIALS, family, image_only_if_needed, small_text, template, tokenizer, video_processor

QWEN_ROPE = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]}
OMNI_SYSTEM = "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"  # written when no system turn is given


def _whisper():
    """The omni processors' audio side (unused by image prompts, but part of the processor): Whisper log-mel features."""
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=128)


@family("qwen2_5_omni_thinker")
def qwen2_5_omni_thinker():
    """Qwen2.5-Omni's thinker (its text-generating half): Qwen2.5-VL's windowed ViT (14-px patches merged 2 × 2), an audio
    encoder, a Qwen2 decoder with M-RoPE. Images are <|vision_bos|><|IMAGE|><|vision_eos|>; the published template writes a
    default system turn. Its processor hands image, video, feature extractor and tokenizer on positionally."""
    from transformers import (
        Qwen2_5OmniProcessor, Qwen2_5OmniThinkerConfig, Qwen2_5OmniThinkerForConditionalGeneration, Qwen2VLImageProcessorPil,
    )

    specials = (
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>", "<|vision_bos|>",
        "<|vision_eos|>", "<|IMAGE|>", "<|VIDEO|>",
    )
    chat = template(OMNI_SYSTEM, "<|im_start|>{role}\\n", "<|vision_bos|><|IMAGE|><|vision_eos|>", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(
        specials, None, "<|im_end|>", "<|endoftext|>", chat, image_token="<|IMAGE|>", audio_token="<|AUDIO|>", video_token="<|VIDEO|>",
        vision_bos_token="<|vision_bos|>", vision_eos_token="<|vision_eos|>", audio_bos_token="<|audio_bos|>", audio_eos_token="<|audio_eos|>",
    )
    ids = {t: tok.convert_tokens_to_ids(t) for t in specials}
    config = Qwen2_5OmniThinkerConfig(
        text_config=small_text(rope_parameters=QWEN_ROPE, eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=4, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
            window_size=112, out_hidden_size=64, fullatt_block_indexes=[1],
        ),
        audio_config=dict(num_mel_bins=128, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=64, d_model=32, output_dim=64),
        image_token_index=ids["<|IMAGE|>"], video_token_index=ids["<|VIDEO|>"], audio_token_index=ids["<|AUDIO|>"],
        audio_start_token_id=ids["<|audio_bos|>"], audio_end_token_id=ids["<|audio_eos|>"],
        vision_start_token_id=ids["<|vision_bos|>"], vision_end_token_id=ids["<|vision_eos|>"],
    )
    image_processor = Qwen2VLImageProcessorPil(patch_size=14, merge_size=2, min_pixels=16 * 28 * 28, max_pixels=32 * 28 * 28)
    processor = image_only_if_needed(Qwen2_5OmniProcessor)(
        image_processor=image_processor, video_processor=video_processor("Qwen2VLVideoProcessor"), feature_extractor=_whisper(),
        tokenizer=tok, chat_template=chat,
    )
    return Qwen2_5OmniThinkerForConditionalGeneration(config), processor


@family("video_llama_3")
def video_llama_3():
    """VideoLLaMA3: a SigLIP-style NaViT (14-px patches, no merging for images: one token per patch) and a projector into a
    Qwen2 decoder. The published template writes each image as <|image_pad|> and a newline, without vision start/end
    markers, and no system turn unless asked (add_system_prompt)."""
    from transformers import VideoLlama3Config, VideoLlama3ForConditionalGeneration, VideoLlama3ImageProcessorPil, VideoLlama3Processor

    chat = template("", "<|im_start|>{role}\\n", "<|image_pad|>\\n", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(QWEN_SPECIALS, None, "<|im_end|>", "<|endoftext|>", chat, image_token="<|image_pad|>", video_token="<|video_pad|>")
    config = VideoLlama3Config(
        text_config={"model_type": "qwen2", **small_text(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)},
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, patch_size=14),
        image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"), video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"),
    )
    image_processor = VideoLlama3ImageProcessorPil(size={"shortest_edge": 16 * 14 * 14, "longest_edge": 32 * 14 * 14})
    processor = image_only_if_needed(VideoLlama3Processor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor("VideoLlama3VideoProcessor"),
    )
    return VideoLlama3ForConditionalGeneration(config), processor


@family("qwen3_omni_moe_thinker")
def qwen3_omni_moe_thinker():
    """Qwen3-Omni's thinker: Qwen3-VL's vision side (16-px patches merged 2 × 2, deepstack features written into the first
    decoder layers at the image positions), an audio encoder, a mixture-of-experts Qwen3 decoder with interleaved M-RoPE.
    Images are <|vision_start|><|image_pad|><|vision_end|>, no default system turn. Its processor, like Qwen2.5-Omni's,
    hands image, video, feature extractor and tokenizer on positionally."""
    from transformers import (
        Qwen2VLImageProcessorPil, Qwen3OmniMoeProcessor, Qwen3OmniMoeThinkerConfig, Qwen3OmniMoeThinkerForConditionalGeneration,
    )

    specials = QWEN_SPECIALS + ("<|audio_start|>", "<|audio_end|>", "<|audio_pad|>")
    chat = template("", "<|im_start|>{role}\\n", "<|vision_start|><|image_pad|><|vision_end|>", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(
        specials, None, "<|im_end|>", "<|endoftext|>", chat, image_token="<|image_pad|>", audio_token="<|audio_pad|>",
        video_token="<|video_pad|>", vision_bos_token="<|vision_start|>", vision_eos_token="<|vision_end|>",
        audio_bos_token="<|audio_start|>", audio_eos_token="<|audio_end|>",
    )
    ids = {t: tok.convert_tokens_to_ids(t) for t in specials}
    config = Qwen3OmniMoeThinkerConfig(
        text_config=small_text(
            rope_parameters={**QWEN_ROPE, "mrope_interleaved": True}, moe_intermediate_size=32, num_experts=2, num_experts_per_tok=1,
            eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
        ),
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=4, out_hidden_size=64, patch_size=16, spatial_merge_size=2,
            temporal_patch_size=2, num_position_embeddings=16, deepstack_visual_indexes=[1],
        ),
        audio_config=dict(
            num_mel_bins=128, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=64, d_model=32, output_dim=64,
            downsample_hidden_size=16,
        ),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"], audio_token_id=ids["<|audio_pad|>"],
        audio_start_token_id=ids["<|audio_start|>"], audio_end_token_id=ids["<|audio_end|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    image_processor = Qwen2VLImageProcessorPil(patch_size=16, merge_size=2, min_pixels=16 * 32 * 32, max_pixels=32 * 32 * 32)
    processor = image_only_if_needed(Qwen3OmniMoeProcessor)(
        image_processor=image_processor, video_processor=video_processor("Qwen2VLVideoProcessor", patch_size=16, merge_size=2),
        feature_extractor=_whisper(), tokenizer=tok, chat_template=chat,
    )
    return Qwen3OmniMoeThinkerForConditionalGeneration(config), processor
