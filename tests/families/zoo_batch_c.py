"""Tiny checkpoints of more image-text-to-text families (see tests/families/zoo.py for the conventions).

Registered: qianfan_ocr, minicpm_ocr, unlimited_ocr. Built but not registered here (each docstring says why): kimi_k25
(refused: tests/families/refused.py) and deepseek_ocr2 (untested: as converted it has no chat template)."""

from __future__ import annotations

from .kit import QWEN_SPECIALS, family, small_text, template, tokenizer, video_processor

QIANFAN_SPECIALS = QWEN_SPECIALS + ("<img>", "</img>", "<IMG_CONTEXT>", "<image>")


@family("qianfan_ocr")
def qianfan_ocr():
    """Qianfan-OCR: InternVL's layout (a ViT whose 8 px patches are pixel-shuffled by 0.5 before an MLP, 32 px tiles plus a
    thumbnail, each as <img><IMG_CONTEXT> x 4</img>) before a Qwen3 decoder. The template is ChatML (no BOS, the Qwen
    tokenizer adds none) with the placeholder "<image>\\n" before the text, which the processor expands (the name
    image_placeholder_token says the template writes it); guessed: no default system prompt."""
    from transformers import GotOcr2ImageProcessorPil, QianfanOCRConfig, QianfanOCRForConditionalGeneration, QianfanOCRProcessor

    chat = template("", "<|im_start|>{role}\\n", "<image>\\n", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(
        QIANFAN_SPECIALS, None, "<|im_end|>", "<|endoftext|>", chat,
        start_image_token="<img>", end_image_token="</img>", context_image_token="<IMG_CONTEXT>",
    )
    config = QianfanOCRConfig(
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=[32, 32], patch_size=[8, 8],
        ),
        text_config={"model_type": "qwen3", **small_text(pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=tok.eos_token_id)},
        image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"), image_seq_length=4, downsample_ratio=0.5,
    )
    image_processor = GotOcr2ImageProcessorPil(size={"height": 32, "width": 32}, crop_to_patches=True, min_patches=1, max_patches=2)
    processor = QianfanOCRProcessor(image_processor=image_processor, tokenizer=tok, image_seq_length=4, chat_template=chat)
    return QianfanOCRForConditionalGeneration(config), processor


MINICPM_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|image_pad|>", "<|video_pad|>", "<image>", "</image>", "<slice>", "</slice>",
    "<image_id>", "</image_id>",
)


@family("minicpm_ocr", torchvision=True)
def minicpm_ocr():
    """MiniCPM-OCR: MiniCPM-V 4.6's processor layout (the image item is one <|image_pad|>, expanded into
    <image_id>N</image_id><image>(<|image_pad|> x n)</image> and one <slice>...</slice> per crop, rows split by "\\n") and
    ChatML template (shaped as tests/families/zoo_minicpm_molmo.py's; guessed: no system prompt, no thinking block), before
    Qwen3.5's hybrid decoder (layers 1 and 3 of 4 attend). "4x" downsampling (the default): the window merger is skipped,
    8 px patches merged 2 × 2 by the MLP merger. Its image processor exists only for torchvision, and the processor reads
    its video processor's settings."""
    from transformers import MiniCPMOcrConfig, MiniCPMOcrForConditionalGeneration, MiniCPMOcrImageProcessor, MiniCPMOcrProcessor

    chat = template("", "<|im_start|>{role}\\n", "<|image_pad|>\\n", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(
        MINICPM_SPECIALS, None, "<|im_end|>", "<|endoftext|>", chat,
        image_token="<|image_pad|>", video_token="<|video_pad|>", image_start_token="<image>", image_end_token="</image>",
        slice_start_token="<slice>", slice_end_token="</slice>", image_id_start_token="<image_id>", image_id_end_token="</image_id>",
    )
    text = small_text(
        model_type="qwen3_5_text", num_hidden_layers=4,
        layer_types=["linear_attention", "full_attention", "linear_attention", "full_attention"],
        linear_key_head_dim=16, linear_value_head_dim=16, linear_num_key_heads=2, linear_num_value_heads=4,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 1, 1], "mrope_interleaved": True,
                         "partial_rotary_factor": 0.5},
        pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=tok.eos_token_id,
    )
    config = MiniCPMOcrConfig(
        text_config=text,
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=64, patch_size=8),
        insert_layer_id=0, image_token_id=tok.image_token_id, video_token_id=tok.video_token_id,
    )
    image_processor = MiniCPMOcrImageProcessor(patch_size=8, scale_resolution=64, max_slice_nums=2)
    processor = MiniCPMOcrProcessor(
        image_processor=image_processor, tokenizer=tok, chat_template=chat,
        video_processor=video_processor("MiniCPMOcrVideoProcessor", patch_size=8, scale_resolution=64, max_slice_nums=2),
    )
    return MiniCPMOcrForConditionalGeneration(config), processor


KIMI = ("[BOS]", "[EOS]", "[PAD]", "<|im_user|>", "<|im_assistant|>", "<|im_system|>", "<|im_middle|>", "<|im_end|>",
        "<|media_begin|>", "<|media_content|>", "<|media_end|>", "<|media_pad|>", "<|kimi_k25_video_placeholder|>", "<think>", "</think>")


def kimi_k25():
    """Kimi K2.5 (moonshotai/Kimi-K2.6): a MoonViT-style vision side (14 px patches merged 2 × 2) before a DeepSeek-V3 decoder
    whose attention is multi-head latent attention: keys come from kv_a_proj_with_mqa and kv_b_proj (a compressed latent
    plus a shared rotary part), with no k_proj. Kimi's template: the default system prompt, <|im_user|>user<|im_middle|>,
    the image as <|media_begin|>image<|media_content|><|media_pad|><|media_end|> before the text, <|im_end|>, then
    <|im_assistant|>assistant<|im_middle|>; guessed: no thinking block in the generation prompt, no BOS.

    Refused when loaded (tests/families/refused.py): labels and ids match the oracle, but its self-attention is multi-head
    latent attention, with no k_proj whose output is the keys (before 2026-12-05 the line said "no self-attention layer")."""
    from transformers import Kimi_K25Config, Kimi_K25ForConditionalGeneration, Kimi_K25ImageProcessor, Kimi_K25Processor

    chat = template(
        "<|im_system|>system<|im_middle|>You are Kimi, an AI assistant created by Moonshot AI.<|im_end|>",
        "<|im_{role}|>{role}<|im_middle|>", "<|media_begin|>image<|media_content|><|media_pad|><|media_end|>", "<|im_end|>",
        "<|im_assistant|>assistant<|im_middle|>",
    )
    tok = tokenizer(KIMI, None, "[EOS]", "[PAD]", chat, image_token="<|media_pad|>", video_token="<|kimi_k25_video_placeholder|>")
    ids = {t: tok.convert_tokens_to_ids(t) for t in KIMI}
    text = {k: v for k, v in small_text(num_key_value_heads=4).items() if k != "head_dim"}  # MLA: as many KV heads as heads
    config = Kimi_K25Config(
        text_config=dict(
            model_type="deepseek_v3", **text, kv_lora_rank=16, q_lora_rank=32, qk_rope_head_dim=8, qk_nope_head_dim=8,
            v_head_dim=16, n_routed_experts=2, num_experts_per_tok=1, moe_intermediate_size=32, n_shared_experts=1,
            first_k_dense_replace=1, n_group=1, topk_group=1, pad_token_id=tok.pad_token_id, bos_token_id=None,
            eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(patch_size=14, pos_emb_height=8, pos_emb_width=8, num_attention_heads=2, num_hidden_layers=1, hidden_size=32,
                           intermediate_size=64),
        projection_hidden_size=32, image_token_id=ids["<|media_pad|>"], video_token_id=ids["<|kimi_k25_video_placeholder|>"],
        vision_start_token_id=ids["<|media_begin|>"], vision_end_token_id=ids["<|media_end|>"],
    )
    image_processor = Kimi_K25ImageProcessor(patch_size=14, merge_size=2, max_patches=64)
    processor = Kimi_K25Processor(
        image_processor=image_processor, tokenizer=tok, chat_template=chat,
        video_processor=video_processor("Kimi_K25VideoProcessor", patch_size=14, merge_size=2),
    )
    return Kimi_K25ForConditionalGeneration(config), processor


DEEPSEEK = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>", "<image>", "<|grounding|>", "<|ref|>", "<|/ref|>", "<|det|>",
            "<|/det|>")


# DeepSeek-OCR's SAM ViT-B at tiny size: 2 px patches of a 128 px view (a 64 × 64 grid, as 16 px patches of the real 1024 px
# view), windowed attention with one global layer, then the neck and two stride-2 convolutions (a 16 × 16 grid)
DEEPSEEK_SAM = dict(hidden_size=32, output_channels=16, num_hidden_layers=2, num_attention_heads=2, image_size=128, patch_size=2,
                    window_size=8, global_attn_indexes=[1], mlp_dim=64, downsample_channels=[16, 32])


def _deepseek_ocr2(chat_template: str | None):
    """DeepSeek-OCR-2: SAM ViT-B (windowed attention, one global layer) whose neck and two stride-2 convolutions turn the
    page into a 16 × 16 grid (128 px global view, 2 px patches: the real 1024 px view with 16 px patches, scaled down;
    a 12 × 12 grid for the 96 px tiles of pages wider than 96 px), a Qwen2-style encoder that reads it together with as
    many learned queries (bidirectional over the grid, causal over the queries) and keeps the queries, and a DeepSeek-V2
    decoder with standard k_proj attention (first layer dense, then MoE). The processor expands each <image> into
    global (+ tiles) + 1 image tokens, the last one the view separator's learned embedding. As converted for transformers
    (deepseek-community/DeepSeek-OCR-2) the processor has no chat template: the model card calls
    processor(images=image, text="<image>\\nFree OCR."), BOS added by the tokenizer."""
    from transformers import DeepseekOcr2Config, DeepseekOcr2ForConditionalGeneration, DeepseekOcr2ImageProcessorPil, DeepseekOcr2Processor

    tok = tokenizer(DEEPSEEK, DEEPSEEK[0], DEEPSEEK[1], DEEPSEEK[2], chat_template, image_token="<image>")
    text = {k: v for k, v in small_text().items() if k != "head_dim"}
    config = DeepseekOcr2Config(
        vision_config=dict(
            sam_config=DEEPSEEK_SAM,
            encoder_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                vocab_size=1, max_position_embeddings=512),
        ),
        text_config=dict(**text, n_routed_experts=2, num_experts_per_tok=1, moe_intermediate_size=32, n_shared_experts=1,
                         mlp_layer_types=["dense", "sparse"], pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
    )
    image_processor = DeepseekOcr2ImageProcessorPil(size={"height": 128, "width": 128}, tile_size=96)
    processor = DeepseekOcr2Processor(image_processor=image_processor, tokenizer=tok, chat_template=chat_template, patch_size=2)
    return DeepseekOcr2ForConditionalGeneration(config), processor


def deepseek_ocr2():
    """As published (no chat template). Refused (tests/families/refused.py): the harness falls back to the plain prompt
    format, which writes no <image>, and the processor rejects the prompts (the harness's line says so and how to fix
    it: save the checkpoint with a chat template, as deepseek_ocr2_with_template does)."""
    return _deepseek_ocr2(None)


def deepseek_ocr2_with_template():
    """Not the published checkpoint: the card's prompt written as a chat template (BOS, then <image>\\n, then the text)."""
    return _deepseek_ocr2(template("{{ bos_token }}", "", "<image>\\n", "", ""))


@family("unlimited_ocr", torchvision=True)
def unlimited_ocr():
    """Unlimited-OCR: DeepSeek-OCR's vision stack (SAM ViT-B, whose neck and two stride-2 convolutions make a 16 × 16 grid
    from the 128 px global view with 2 px patches, an 8 × 8 grid from each 64 px tile; a CLIP-style encoder taking that grid
    as its patch embeddings; both concatenated and projected), each grid row closed by the learned image_newline and the
    views by the view separator, all written at <image> positions; then a DeepSeek-V2 decoder with standard k_proj attention
    and reference sliding-window layers. The template is the card's prompt "<image>document parsing.": BOS, the image
    placeholder, then the text, no role markers; guessed: the BOS written by the template and nothing after the text
    (the transformers example calls processor.apply_chat_template, so the converted checkpoint ships one). Its image processor
    exists only for torchvision. Its processor returns num_local_patches and patches_grid as Python lists (the harness
    once cast every batch value as a tensor there: an AttributeError traceback before 2026-12-05)."""
    from transformers import UnlimitedOcrConfig, UnlimitedOcrForConditionalGeneration, UnlimitedOcrImageProcessor, UnlimitedOcrProcessor

    chat = template("{{ bos_token }}", "", "<image>", "", "")
    tok = tokenizer(DEEPSEEK, DEEPSEEK[0], DEEPSEEK[1], DEEPSEEK[2], chat, image_token="<image>")
    text = {k: v for k, v in small_text().items() if k != "head_dim"}
    config = UnlimitedOcrConfig(
        vision_config=dict(
            sam_config=DEEPSEEK_SAM,
            encoder_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=2),
        ),
        text_config=dict(**text, n_routed_experts=2, num_experts_per_tok=1, moe_intermediate_size=32, n_shared_experts=1,
                         mlp_layer_types=["dense", "sparse"], sliding_window=64, pad_token_id=tok.pad_token_id,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
    )
    image_processor = UnlimitedOcrImageProcessor(size={"height": 128, "width": 128}, tile_size=64, max_patches=4, maximum_pad_value=64)
    processor = UnlimitedOcrProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat, patch_size=2)
    return UnlimitedOcrForConditionalGeneration(config), processor
