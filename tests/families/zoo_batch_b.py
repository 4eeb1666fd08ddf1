"""Tiny checkpoints of more image-text-to-text families, batch B (see tests/families/zoo.py for the conventions)."""

from __future__ import annotations

from .kit import (
    QWEN3_5_VISION, QWEN_SPECIALS, QWEN_TEMPLATE, VOCAB, family, image_only_if_needed, qwen3_5_text, qwen3_processor, qwen_vision_ids,
    small_text, template, tokenizer, video_processor,
)
from .zoo_more import GLM_ROPE, GLM_VISION, glm_chat_tokenizer, glm_token_ids

MISTRAL = ("<unk>", "<s>", "</s>", "<pad>", "[INST]", "[/INST]", "[IMG]", "[IMG_BREAK]", "[IMG_END]")


def mistral_large4():
    """Mistral Large 4: Mistral Small 3.1's Pixtral vision side and processor (64 px images, 8 px patches merged 2 × 2, one
    [IMG_BREAK] per row, [IMG_END] last) before a DeepSeek-style decoder with multi-head latent attention (MLA: keys
    decompressed from a shared latent by kv_a_proj_with_mqa / kv_b_proj, no k_proj), a sparse-attention indexer, NoPE
    every fourth layer and mixture-of-experts MLPs. The template is Mistral3's here (BOS, [INST] images and text
    [/INST]); guessed: no default system prompt. Refused when loaded (tests/families/refused.py; needs torchvision: PixtralProcessor
    imports it): multi-head latent attention, no k_proj whose output is the keys."""
    from transformers import MistralLarge4Config, MistralLarge4ForConditionalGeneration, PixtralImageProcessorPil, PixtralProcessor

    chat = template("{{ bos_token }}", "[INST]", "[IMG]", "[/INST]", "")
    tok = tokenizer(MISTRAL, "<s>", "</s>", "<pad>", chat)
    config = MistralLarge4Config(
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, head_dim=16, image_size=64, patch_size=8,
            hidden_act="silu",
        ),
        text_config=dict(
            hidden_size=64, intermediate_size=128, moe_intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=4, n_routed_experts=2, num_experts_per_tok=1, n_shared_experts=1, kv_lora_rank=32,
            qk_rope_head_dim=8, qk_nope_head_dim=8, v_head_dim=16, index_topk=4096, index_head_dim=16, index_n_heads=2,
            vocab_size=VOCAB, max_position_embeddings=1048576, first_k_dense_replace=1, no_rope_layer_interval=2,
            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        ),
        image_token_index=tok.convert_tokens_to_ids("[IMG]"), spatial_merge_size=2,
    )
    image_processor = PixtralImageProcessorPil(size={"longest_edge": 64}, patch_size=8)
    processor = PixtralProcessor(image_processor=image_processor, tokenizer=tok, patch_size=8, spatial_merge_size=2, chat_template=chat)
    return MistralLarge4ForConditionalGeneration(config), processor


@family("qwen4_exp")
def qwen4_exp():
    """Qwen4-Exp: Qwen3.5-MoE's vision side and processor (Qwen3VLProcessor) before a hybrid decoder: gated delta-rule
    linear-attention layers between gated full-attention layers whose attention a QSA token indexer makes sparse
    (layer types linear_attention / indexed_attention, the first layer linear), 4 hyper-connection residual streams, and
    per-layer hashed n-gram embeddings (PLE) read from the token ids on a linear layer. Qwen3.5's ChatML template as
    tests/families/zoo.py's qwen3_5 (no BOS, the image as <|vision_start|><|image_pad|><|vision_end|>); guessed: the
    published template's thinking block left out, as for qwen3_5 here."""
    from transformers import Qwen4ExpConfig, Qwen4ExpForConditionalGeneration

    tok = tokenizer(QWEN_SPECIALS, None, "<|im_end|>", "<|endoftext|>", QWEN_TEMPLATE)
    text = qwen3_5_text(
        "indexed_attention", moe_intermediate_size=32, shared_expert_intermediate_size=32, num_experts=2, num_experts_per_tok=1,
        hc_count=2, hc_lowrank=16, ple_layer_ids=[1], ple_embed_dim=32, ngram_size=3, heads_per_ngram=2, ngram_vocab_size_base=1000,
        split_ngram_parts=1, indexer_n_heads=2, indexer_kv_heads=1, indexer_head_dim=16, indexer_budget=64, indexer_compress_ratio=4,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    text.pop("intermediate_size")
    config = Qwen4ExpConfig(
        text_config=text, vision_config=QWEN3_5_VISION, **qwen_vision_ids(tok),
    )
    return Qwen4ExpForConditionalGeneration(config), qwen3_processor(tok)


STEP = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<|BOT|>", "<|EOT|>", "<im_patch>", "<im_start>", "<im_end>", "<patch_start>",
        "<patch_end>", "<patch_newline>", "<think>", "</think>")


@family("step3p7", torchvision=True)
def step3p7():
    """Step-3.7-Flash: a global 64 px view of each image plus 64 px local crops of it when it is larger (8 px patches, two
    stride-2 convolutions: 4 image tokens per view), written <patch_start>..<patch_end> per crop, <patch_newline> after each
    row of crops but the last, then <im_start>..<im_end> for the global view, before a Step decoder (sliding-window and full
    attention layers with their own head counts, RoPE and partial rotation; QK norms and a per-head output gate; dense then
    mixture-of-experts MLPs). Its image processor exists only for torchvision. The template is shaped from Step3-VL's
    published prompt (<｜begin▁of▁sentence｜>, <|BOT|>user\\n ... <|EOT|>, <|BOT|>assistant\\n<think>\\n, the image as
    <im_patch>); guessed: no default system prompt, and that Step-3.7 keeps Step3's turn markers. Its sliding-window
    layers have 96 query heads to the full layers' 64 in the real checkpoint (2 and 4 here, per_layer_config): each
    layer's query heads are its own (harness.models.taps.query_heads)."""
    from transformers import Step3p7Config, Step3p7ForConditionalGeneration, Step3p7ImageProcessor, Step3p7Processor

    chat = template("{{ bos_token }}", "<|BOT|>{role}\\n", "<im_patch>", "<|EOT|>", "<|BOT|>assistant\\n<think>\\n")
    tok = tokenizer(STEP + ("<pad>",), STEP[0], STEP[3], "<pad>", chat)
    text = small_text(
        layer_types=["full_attention", "sliding_attention"], sliding_window=64, num_sliding_attention_heads=2,
        mlp_layer_types=["dense", "sparse"], moe_intermediate_size=32, n_routed_experts=2, num_experts_per_tok=1, share_expert_dim=32,
        rope_theta=[5e6, 1e4], partial_rotary_factors=[0.5, 1.0], swiglu_limits=[None, 7.0], swiglu_limits_shared=[None, 16.0],
        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )
    config = Step3p7Config(
        vision_config=dict(hidden_size=32, mlp_ratio=2.0, num_hidden_layers=1, num_attention_heads=2, image_size=64, patch_size=8,
                           max_position_embeddings=64),
        text_config=text, image_token_id=tok.convert_tokens_to_ids("<im_patch>"),
    )
    image_processor = Step3p7ImageProcessor(size={"height": 64, "width": 64}, patch_size=64)
    image_processor.vision_patch_size = 8
    processor = Step3p7Processor(image_processor=image_processor, tokenizer=tok, chat_template=chat)
    return Step3p7ForConditionalGeneration(config), processor


MINIMAX = ("]~!b[", "]~b]", "[e~[", "<pad>", "]<]image[>[", "]<]video[>[", "]<]start of image[>[", "]<]end of image[>[", "<think>", "</think>")


@family("minimax_m3_vl", torchvision=True)
def minimax_m3_vl():
    """MiniMax-M3 VL: a Qwen2-VL-style vision side (14 px patches, 3D RoPE) whose projector merges 2 × 2 patches into one
    image token, wrapped in ]<]start of image[>[ .. ]<]end of image[>[, before a MiniMax decoder (QK norms, partial RoPE,
    dense then mixture-of-experts MLPs). Its image processor exists only for torchvision. The template is shaped from
    MiniMax-M2's (]~!b[ written by the template, a system turn, ]~b]user\\n ... [e~[\\n, ]~b]ai\\n<think>\\n); guessed: the
    default system prompt's wording, and the image placeholder ]<]image[>[ before the text. Both decoder layers are full
    attention: the checkpoint's sparse layers (layer type minimax_m3_sparse: a lightning indexer picks key blocks) keep
    self_attn.k_proj, and their captured keys equal a k_proj hook's (checked by hand), but test_conformance.py counts only
    layer types ending in "attention" as layers with keys."""
    from transformers import (
        MiniMaxM3SparseForConditionalGeneration, MiniMaxM3VLConfig, MiniMaxM3VLImageProcessor, MiniMaxM3VLProcessor,
    )

    chat = template(
        "]~!b[]~b]system\nYou are a helpful assistant.[e~[\n", "]~b]{role}\\n", "]<]image[>[", "[e~[\\n", "]~b]ai\\n<think>\\n",
    )
    tok = tokenizer(MINIMAX, None, "[e~[", "<pad>", chat)
    ids = {t: tok.convert_tokens_to_ids(t) for t in MINIMAX}
    config = MiniMaxM3VLConfig(
        text_config=small_text(
            intermediate_size=32, dense_intermediate_size=128, shared_intermediate_size=32, num_local_experts=2, num_experts_per_tok=1,
            rotary_dim=8, mlp_layer_types=["dense", "sparse"], index_n_heads=2, index_head_dim=16, index_block_size=16,
            index_topk_blocks=2, pad_token_id=tok.pad_token_id, bos_token_id=ids["]~!b["], eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, patch_size=14,
                           temporal_patch_size=2, spatial_merge_size=2, image_size=56),
        image_token_index=ids["]<]image[>["], video_token_index=ids["]<]video[>["], projector_hidden_size=64,
    )
    image_processor = MiniMaxM3VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2, min_pixels=16 * 28 * 28,
                                                max_pixels=32 * 28 * 28)
    processor = MiniMaxM3VLProcessor(
        image_processor=image_processor, tokenizer=tok, chat_template=chat,
        video_processor=video_processor("MiniMaxM3VLVideoProcessor", patch_size=14, merge_size=2),
    )
    return MiniMaxM3SparseForConditionalGeneration(config), processor


@family("glmga")
def glmga():
    """glmga: a config of its own over GLM-4V's text and vision configs, run by Glm46VForConditionalGeneration (transformers
    maps no model class of its own), with image and video processors of its own (GlmgaImageProcessor: GLM-4.6V's with a
    patch expansion factor, 1 by default). transformers maps no processor to it: Glm46VProcessor is used here, with GLM-4V's
    template as tests/families/zoo.py's glm4v ([gMASK]<sop>, <|user|>\\n, the image as
    <|begin_of_image|><|image|><|end_of_image|>, <|assistant|>\\n); guessed: the processor class and the template."""
    from transformers import Glm46VForConditionalGeneration, Glm46VProcessor, GlmgaConfig, GlmgaImageProcessorPil

    chat, tok = glm_chat_tokenizer()
    text = small_text(rope_parameters=GLM_ROPE, head_dim=None)
    config = GlmgaConfig(text_config={k: v for k, v in text.items() if v is not None}, vision_config=GLM_VISION, **glm_token_ids(tok))
    image_processor = GlmgaImageProcessorPil(size={"shortest_edge": 16 * 28 * 28, "longest_edge": 32 * 28 * 28}, patch_size=14, merge_size=2)
    processor = image_only_if_needed(Glm46VProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor("GlmgaVideoProcessor"),
    )
    return Glm46VForConditionalGeneration(config), processor
