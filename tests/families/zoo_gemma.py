"""Tiny checkpoints of more image-text-to-text families (see tests/families/zoo.py for the conventions)."""

from __future__ import annotations

from .kit import VOCAB, family, image_only_if_needed, small_text, tokenizer, video_processor

# Gemma 4's tokenizer: turn markers, image/audio wrappers and placeholders, the thought channel.
GEMMA4_SPECIALS = (
    "<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<|turn>", "<turn|>", "<|image>", "<image|>", "<|image|>",
    "<|audio>", "<audio|>", "<|audio|>", "<|video|>", "<|channel>", "<channel|>", "<|think|>",
)
# The published template (google/gemma-4-*-it) for one user turn: BOS, `<|turn>user\n`, each image as
# `<|image|>`, the text trimmed, `<turn|>\n`; the generation prompt opens the model turn and, thinking
# being off by default, an empty thought channel.
GEMMA4_TEMPLATE = (
    "{{ bos_token }}{%- for message in messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{- '<|turn>' + role + '\\n' -}}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{- item['text'] | trim -}}"
    "{%- elif item['type'] == 'image' -%}{{- '<|image|>' -}}{%- endif -%}"
    "{%- endfor -%}{{- '<turn|>\\n' -}}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|turn>model\\n' -}}"
    "{%- if not enable_thinking | default(false) -%}{{- '<|channel>thought\\n<channel|>' -}}{%- endif -%}{%- endif -%}"
)


def _gemma4_tokenizer():
    return tokenizer(
        GEMMA4_SPECIALS, "<bos>", "<turn|>", "<pad>", GEMMA4_TEMPLATE,
        image_token="<|image|>", boi_token="<|image>", eoi_token="<image|>",
        audio_token="<|audio|>", boa_token="<|audio>", eoa_token="<audio|>",
        sot_token="<|turn>", eot_token="<turn|>", soc_token="<|channel>", eoc_token="<channel|>", think_token="<|think|>",
    )


def _gemma4_ids(tok) -> dict:
    """The composite config's token ids (image, video, audio and their wrappers) in the tiny vocabulary."""
    ids = tok.convert_tokens_to_ids
    return dict(
        image_token_id=ids("<|image|>"), boi_token_id=ids("<|image>"), eoi_token_id=ids("<image|>"),
        video_token_id=ids("<|video|>"), audio_token_id=ids("<|audio|>"), boa_token_id=ids("<|audio>"),
        eoa_token_index=ids("<audio|>"),
    )


def _gemma4_text(**kw) -> dict:
    """Gemma 4's decoder at tiny size: a sliding layer then a global one with wider heads (real: 256 and 512)."""
    return small_text(
        sliding_window=64, layer_types=["sliding_attention", "full_attention"], global_head_dim=32,
        pad_token_id=0, eos_token_id=1, bos_token_id=2, **kw,
    )


@family("gemma4")
def gemma4():
    """Gemma 4 (E2B/E4B shape: per-layer input embeddings; no audio tower, unused here)."""
    from transformers import Gemma4Config, Gemma4ForConditionalGeneration

    tok = _gemma4_tokenizer()
    config = Gemma4Config(
        text_config=_gemma4_text(vocab_size_per_layer_input=VOCAB, hidden_size_per_layer_input=8),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
            head_dim=16, patch_size=4, pooling_kernel_size=2, position_embedding_size=64,
        ),
        **_gemma4_ids(tok),
    )
    return Gemma4ForConditionalGeneration(config), gemma4_processor(tok)


def gemma4_processor(tok):
    """Gemma 4's processor with 70 soft tokens at most (the smallest budget): 4-px patches pooled 2 × 2, so a fixture
    image is 64 tokens."""
    from transformers import Gemma4AudioFeatureExtractor, Gemma4ImageProcessorPil, Gemma4Processor

    image_processor = Gemma4ImageProcessorPil(patch_size=4, pooling_kernel_size=2, max_soft_tokens=70)
    return image_only_if_needed(Gemma4Processor)(
        feature_extractor=Gemma4AudioFeatureExtractor(), image_processor=image_processor, tokenizer=tok,
        video_processor=video_processor("Gemma4VideoProcessor", patch_size=4, pooling_kernel_size=2, max_soft_tokens=70),
        chat_template=GEMMA4_TEMPLATE, image_seq_length=70,
    )


@family("gemma4_unified", torchvision=True)
def gemma4_unified():
    """Gemma 4 unified: encoder-free, raw 2 × 2-merged pixel patches projected into the decoder (no vision
    tower); vision tokens attend bidirectionally. Its image processor exists only for torchvision."""
    from transformers import (
        Gemma4UnifiedAudioFeatureExtractor, Gemma4UnifiedConfig, Gemma4UnifiedForConditionalGeneration,
        Gemma4UnifiedImageProcessor, Gemma4UnifiedProcessor,
    )

    tok = _gemma4_tokenizer()
    config = Gemma4UnifiedConfig(
        text_config=_gemma4_text(use_bidirectional_attention="vision"),
        # the embedder's width is the decoder's, as in the real checkpoints (3840)
        vision_config=dict(patch_size=4, pooling_kernel_size=2, mm_embed_dim=64, output_proj_dims=64, mm_posemb_size=64),
        **_gemma4_ids(tok),
    )
    image_processor = Gemma4UnifiedImageProcessor(patch_size=4, pooling_kernel_size=2, max_soft_tokens=70)
    processor = Gemma4UnifiedProcessor(
        feature_extractor=Gemma4UnifiedAudioFeatureExtractor(), image_processor=image_processor, tokenizer=tok,
        video_processor=video_processor("Gemma4UnifiedVideoProcessor", patch_size=4, pooling_kernel_size=2, max_soft_tokens=70),
        chat_template=GEMMA4_TEMPLATE, image_seq_length=70,
    )
    return Gemma4UnifiedForConditionalGeneration(config), processor


def gemma4_per_layer_kv():
    """`gemma4` as the larger Gemma 4 checkpoints are laid out (not a family of its own; tests/families/
    test_per_layer_heads.py): the global layer's keys are also its values and it has 1 KV head where the
    sliding layer has 2, so no one KV head count is the config's (reading it there is an error) and the
    global layer's heads are twice as wide."""
    return _gemma4_with(attention_k_eq_v=True, num_global_key_value_heads=1, global_head_dim=32, hidden_size_per_layer_input=0)


def gemma4_kv_shared():
    """`gemma4` as the E2B/E4B checkpoints share keys (not a family of its own; tests/families/test_kv_sharing.py):
    four layers, sliding and global in turn, the last two reading the keys and values of the last layer of
    their type before them (`num_kv_shared_layers` 2: layer 2 reads layer 0's, layer 3 layer 1's) and holding
    no key projection of their own."""
    return _gemma4_with(num_hidden_layers=4, layer_types=["sliding_attention", "full_attention"] * 2, num_kv_shared_layers=2)


def _gemma4_with(**text_changes):
    """`gemma4` with its decoder's config changed by `text_changes` (the per-layer layout rebuilt from them)."""
    from transformers import Gemma4Config, Gemma4ForConditionalGeneration

    model, processor = gemma4()
    text = model.config.text_config.to_dict()
    text.update(text_changes)
    text.pop("per_layer_config", None)  # rebuilt from the fields above
    composite = model.config.to_dict()
    kept = ("vision_config", "image_token_id", "boi_token_id", "eoi_token_id", "video_token_id", "audio_token_id",
            "boa_token_id", "eoa_token_index")
    config = Gemma4Config(text_config=text, **{k: composite[k] for k in kept})
    return Gemma4ForConditionalGeneration(config), processor
