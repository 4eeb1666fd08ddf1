"""Tiny checkpoints of GLM-5.3-Flash (glm5_next), Inkling 2 (inkling2) and Inkling (inkling_mm_model); see
tests/families/zoo.py for the conventions.

The Inkling families are measured exactly (@family; their image processors are torchvision-only). GLM-5.3-Flash is
refused (registered in tests/families/refused.py, which builds it); its builder is the checkpoint a user would run.
"""

from __future__ import annotations

from .kit import VOCAB, family, image_only_if_needed, template, tokenizer, video_processor

GLM5 = ("[gMASK]", "<sop>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|begin_of_image|>", "<|end_of_image|>", "<|image|>",
        "<|video|>", "<|begin_of_video|>", "<|end_of_video|>")


def glm5_next():
    """Refused when loaded (see tests/families/refused.py's MLA): its self-attention layers are multi-head latent attention,
    with no k_proj; its other layers are linear attention, whose k_proj outputs are no keys the harness measures.
    GLM-5.3-Flash: a GLM-OCR-style vision side (14 px patches merged 2 × 2) before a hybrid decoder of Kimi-style
    delta-rule linear-attention layers (KDA: q_proj, k_proj, v_proj, a short convolution, a recurrent state, no softmax
    over keys) and DeepSeek-V3.2-style sparse latent-attention layers (DSA, NoPE: keys decompressed from a latent by
    kv_b_proj), with hyper-connection streams (4 in the checkpoint, 2 here). Template shaped like GLM-4.5V / 4.6V's: no
    BOS token but the [gMASK]<sop> prefix, <|user|>\\n, the image as <|begin_of_image|><|image|><|end_of_image|> before the
    text, then <|assistant|>\\n; guessed: that GLM-5.3-Flash keeps it, without a thinking switch."""
    from transformers import Glm5NextConfig, Glm5NextForConditionalGeneration, Glm5NextImageProcessorPil, Glm5NextProcessor

    chat = template("[gMASK]<sop>", "<|{role}|>\\n", "<|begin_of_image|><|image|><|end_of_image|>", "", "<|assistant|>\\n")
    tok = tokenizer(GLM5, None, "<|endoftext|>", "<|endoftext|>", chat)
    ids = {t: tok.convert_tokens_to_ids(t) for t in GLM5}
    config = Glm5NextConfig(
        text_config=dict(
            vocab_size=VOCAB, hidden_size=64, intermediate_size=128, moe_intermediate_size=32, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=4, n_routed_experts=2, num_experts_per_tok=1, n_shared_experts=1,
            layer_types=["linear_attention", "full_attention"], mlp_layer_types=["dense", "sparse"],
            kv_lora_rank=32, q_lora_rank=32, qk_rope_head_dim=0, qk_nope_head_dim=16, v_head_dim=16,
            index_topk=16, index_head_dim=16, index_n_heads=2, index_kpool=4,
            linear_head_dim=16, linear_num_heads=2, linear_conv_kernel_dim=2, hc_mult=2, hc_sinkhorn_iters=3,
            max_position_embeddings=4096, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(depth=1, hidden_size=32, num_heads=2, intermediate_size=64, out_hidden_size=64, patch_size=14,
                           image_size=28, spatial_merge_size=2, projection_intermediate_size=64),
        image_token_id=ids["<|image|>"], video_token_id=ids["<|video|>"], image_start_token_id=ids["<|begin_of_image|>"],
        image_end_token_id=ids["<|end_of_image|>"], video_start_token_id=ids["<|begin_of_video|>"],
        video_end_token_id=ids["<|end_of_video|>"],
    )
    image_processor = Glm5NextImageProcessorPil(patch_size=14, merge_size=2, temporal_patch_size=2, min_image_tokens=4,
                                                max_image_tokens=16)
    processor = image_only_if_needed(Glm5NextProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor("Glm5NextVideoProcessor"),
    )
    return Glm5NextForConditionalGeneration(config), processor


# Inkling's TMLv0 control tokens (role and content-type markers) and its image / audio placeholders
INKLING = ("<|endoftext|>", "<|message_user|>", "<|message_model|>", "<|message_system|>", "<|content_text|>", "<|content_image|>",
           "<|content_thinking|>", "<|content_audio_input|>", "<|audio_end|>", "<|end_message|>", "<|content_model_end_sampling|>",
           "<|unused_200054|>", "<|unused_200053|>")
# One TMLv0 message per content part (a message holds one content type): the default thinking-effort system message before
# the first user message, then <|message_user|><|content_image|> + the placeholder, <|message_user|><|content_text|> + the
# text, each closed by <|end_message|>, and <|message_model|> as the generation prompt.
INKLING_TEMPLATE = (
    "{{ '<|message_system|><|content_text|>Thinking effort level: 0.9<|end_message|>' }}"
    "{% for message in messages %}{% for c in message['content'] %}"
    "{{ '<|message_' + ('model' if message['role'] == 'assistant' else message['role']) + '|>' }}"
    "{% if c['type'] == 'image' %}{{ '<|content_image|><|unused_200054|>' }}{% else %}{{ '<|content_text|>' + c['text'] }}{% endif %}"
    "{{ '<|end_message|>' }}{% endfor %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|message_model|>' }}{% endif %}"
)


def _inkling_tokenizer():
    return tokenizer(INKLING, None, "<|end_message|>", "<|endoftext|>", INKLING_TEMPLATE)


@family("inkling2", torchvision=True)
def inkling2():
    """Inkling 2 (Inkling-2-Small): a ViT (8 px patches here, merged 2 × 2 into one token per 16 px cell, the image padded
    to whole cells) before a decoder of sliding-window and full-attention layers without RoPE (a relative position
    bias; each key is a causal short convolution over k_proj's outputs, then an L2 clip), per-layer head layouts (the
    sliding layers' heads are narrower here), attention residuals over blocks and MoE MLPs. Its image processor is
    torchvision-only. Template: Inkling's TMLv0 messages (INKLING_TEMPLATE: role and content-type tokens, one message
    per content part, the default thinking-effort system message, <|message_model|> to generate), as third-party
    reproductions of Inkling's chat_template.jinja write it; guessed: that Inkling 2 keeps Inkling's template, and the
    image message as <|content_image|> + the placeholder with no closing token."""
    from transformers import Inkling2Config, Inkling2ForConditionalGeneration, Inkling2ImageProcessor, Inkling2Processor

    tok = _inkling_tokenizer()
    config = Inkling2Config(
        text_config=dict(
            vocab_size=VOCAB, unpadded_vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, layer_types=["hybrid_sliding", "hybrid"],
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, swa_num_attention_heads=4, swa_num_key_value_heads=2,
            swa_head_dim=8, sliding_window_size=64, d_rel=4, rel_extent=64, moe_intermediate_size=32, n_routed_experts=2,
            num_experts_per_tok=1, n_layers_per_attn_res_block=1, max_position_embeddings=4096,
            pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, patch_size=8,
                           spatial_merge_size=2, posemb_grid_size=4, projection_hidden_dim=64, text_hidden_size=64),
        image_token_id=tok.convert_tokens_to_ids("<|unused_200054|>"),
    )
    processor = Inkling2Processor(image_processor=Inkling2ImageProcessor(size={"height": 16, "width": 16}), tokenizer=tok,
                                  chat_template=INKLING_TEMPLATE)
    return Inkling2ForConditionalGeneration(config), processor


@family("inkling_mm_model", torchvision=True)
def inkling_mm_model():
    """Inkling: a hierarchical-MLP vision encoder (one image token per 8 px patch here; its image processor, torchvision-only,
    cuts the image into patches, one column more than fit) and an audio tower before a decoder of sliding-window and
    full-attention layers without RoPE (a relative position bias; keys are a short convolution over k_proj's outputs, then
    an RMS norm), per-layer head layouts (narrower sliding heads here), short convolutions after attention and MLP, and
    MoE MLPs with shared experts. Template: Inkling's TMLv0 messages (INKLING_TEMPLATE), as third-party reproductions of
    its chat_template.jinja write them; guessed: the image message as <|content_image|> + the placeholder with no
    closing token."""
    from transformers import (
        InklingConfig, InklingFeatureExtractor, InklingForConditionalGeneration, InklingImageProcessor, InklingProcessor,
    )

    tok = _inkling_tokenizer()
    ids = tok.convert_tokens_to_ids
    config = InklingConfig(
        text_config=dict(
            vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, layer_types=["hybrid_sliding", "hybrid"],
            mlp_layer_types=["dense", "sparse"], num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            swa_num_attention_heads=4, swa_num_key_value_heads=2, swa_head_dim=8, sliding_window_size=64, d_rel=4, rel_extent=64,
            moe_intermediate_size=32, n_routed_experts=2, num_experts_per_tok=1, n_shared_experts=1, max_position_embeddings=4096,
            pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(patch_size=8, temporal_patch_size=2, num_hidden_layers=4),
        audio_config=dict(n_mel_bins=16, mel_vocab_size=16),
        image_token_id=ids("<|unused_200054|>"), audio_token_id=ids("<|unused_200053|>"), image_bos_token_id=ids("<|content_image|>"),
        audio_bos_token_id=ids("<|content_audio_input|>"),
    )
    processor = InklingProcessor(
        feature_extractor=InklingFeatureExtractor(feature_size=16), image_processor=InklingImageProcessor(size={"height": 8, "width": 8}),
        tokenizer=tok, chat_template=INKLING_TEMPLATE,
    )
    return InklingForConditionalGeneration(config), processor
