"""Tiny checkpoints of every image-text-to-text family this suite covers, built offline.

Each builder returns (model, processor) from the family's real transformers classes at tiny size
(random weights) with a tokenizer in which one byte is one token, so the benchmark text of a
prompt is exactly len(text.encode()) tokens. Chat templates follow each family's published
template in what matters here (BOS written by the template or not, role markers, where the image
placeholder goes); PaliGemma has none, as published.
"""

from __future__ import annotations

from harness.models.tiny import build_tiny
from harness.models.tiny_tokenizer import build_tokenizer

from .kit import (  # noqa: F401 (re-exported: the tests and refused.py import them from here)
    BUILDERS, NEEDS_TORCHVISION, QWEN3_5_VISION, QWEN_SPECIALS, QWEN_TEMPLATE, VOCAB, family, image_only_if_needed, qwen3_processor,
    qwen3_5_text, qwen_vision_ids, siglip, small_text, template, tokenizer, video_processor,
)

for _name, _tiny in (("llava", "llava"), ("llava_next", "llava-next"), ("qwen2_vl", "qwen2-vl"), ("qwen2_5_vl", "qwen2.5-vl")):
    family(_name)(lambda _tiny=_tiny: build_tiny(_tiny, seed=0))




def _qwen3_vl(config_class, model_class, **text):
    tok = tokenizer(QWEN_SPECIALS, None, "<|im_end|>", "<|endoftext|>", QWEN_TEMPLATE)
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    config = config_class(
        text_config=small_text(
            rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3], "mrope_interleaved": True}, **text,
        ),
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=4, out_hidden_size=64, patch_size=16,
            spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=16, deepstack_visual_indexes=[1],
        ),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    return model_class(config), qwen3_processor(tok)


@family("qwen3_vl")
def qwen3_vl():
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    return _qwen3_vl(Qwen3VLConfig, Qwen3VLForConditionalGeneration)


@family("qwen3_vl_moe")
def qwen3_vl_moe():
    from transformers import Qwen3VLMoeConfig, Qwen3VLMoeForConditionalGeneration

    return _qwen3_vl(Qwen3VLMoeConfig, Qwen3VLMoeForConditionalGeneration, moe_intermediate_size=32, num_experts=2, num_experts_per_tok=1)


@family("llava_onevision")
def llava_onevision():
    from transformers import (
        LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, LlavaOnevisionImageProcessorPil, LlavaOnevisionProcessor,
    )

    chat = template("", "<|im_start|>{role} ", "<image>\\n", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(QWEN_SPECIALS + ("<image>", "<video>"), None, "<|im_end|>", "<|endoftext|>", chat)
    pinpoints = [[32, 32], [32, 64], [64, 32], [64, 64]]
    config = LlavaOnevisionConfig(
        vision_config={"model_type": "siglip_vision_model", **siglip()}, text_config={"model_type": "qwen2", **small_text()},
        image_token_id=tok.convert_tokens_to_ids("<image>"), video_token_id=tok.convert_tokens_to_ids("<video>"),
        image_grid_pinpoints=pinpoints, vision_feature_select_strategy="full", vision_feature_layer=-1,
    )
    image_processor = LlavaOnevisionImageProcessorPil(size={"height": 32, "width": 32}, image_grid_pinpoints=pinpoints)
    processor = image_only_if_needed(LlavaOnevisionProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, num_image_tokens=16,
        vision_feature_select_strategy="full", video_processor=video_processor("LlavaOnevisionVideoProcessor"),
    )
    return LlavaOnevisionForConditionalGeneration(config), processor


GEMMA_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>", "<image_soft_token>")


@family("gemma3")
def gemma3():
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessorPil, Gemma3Processor

    chat = template("{{ bos_token }}", "<start_of_turn>{role}\\n", "<start_of_image>", "<end_of_turn>\\n", "<start_of_turn>model\\n")
    tok = tokenizer(
        GEMMA_SPECIALS, "<bos>", "<eos>", "<pad>", chat,
        image_token="<image_soft_token>", boi_token="<start_of_image>", eoi_token="<end_of_image>",
    )
    config = Gemma3Config(
        text_config=small_text(sliding_window=64, query_pre_attn_scalar=16),
        vision_config=siglip(32, 4), mm_tokens_per_image=16,
        boi_token_index=tok.boi_token_id, eoi_token_index=tok.eoi_token_id, image_token_index=tok.image_token_id,
    )
    image_processor = Gemma3ImageProcessorPil(size={"height": 32, "width": 32})
    processor = Gemma3Processor(image_processor=image_processor, tokenizer=tok, chat_template=chat, image_seq_length=16)
    return Gemma3ForConditionalGeneration(config), processor


@family("paligemma")
def paligemma():
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor, SiglipImageProcessorPil

    tok = tokenizer(GEMMA_SPECIALS[:4] + ("<image>",), "<bos>", "<eos>", "<pad>", None, image_token="<image>")
    config = PaliGemmaConfig(
        text_config={"model_type": "gemma", **small_text()}, vision_config=siglip(), image_token_index=tok.image_token_id,
        vocab_size=VOCAB, projection_dim=64, hidden_size=64,
    )
    image_processor = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    image_processor.image_seq_length = 16
    processor = PaliGemmaProcessor(image_processor=image_processor, tokenizer=tok)
    return PaliGemmaForConditionalGeneration(config), processor


IDEFICS_SPECIALS = (
    "<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<end_of_utterance>", "<image>", "<fake_token_around_image>",
    "<global-img>", *(f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)),
)


def _idefics(model_class, config_class, processor_class, image_processor_class, *, bos: bool, video: str | None):
    start = "{{ bos_token }}" if bos else ""
    chat = template(start, "<|im_start|>{role}:", "<image>", "<end_of_utterance>\\n", "Assistant:")
    tok = tokenizer(IDEFICS_SPECIALS, "<|begin_of_text|>" if bos else None, "<end_of_utterance>", "<|end_of_text|>", chat)
    config = config_class(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
        text_config={"model_type": "llama", **small_text()}, image_token_id=tok.convert_tokens_to_ids("<image>"), scale_factor=2,
    )
    image_processor = image_processor_class(size={"longest_edge": 64}, max_image_size={"longest_edge": 32})
    extra = {"video_processor": video_processor(video)} if video else {}
    processor_class = image_only_if_needed(processor_class) if video else processor_class
    processor = processor_class(image_processor=image_processor, tokenizer=tok, image_seq_len=4, chat_template=chat, **extra)
    return model_class(config), processor


@family("idefics3")
def idefics3():
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessorPil, Idefics3Processor

    return _idefics(Idefics3ForConditionalGeneration, Idefics3Config, Idefics3Processor, Idefics3ImageProcessorPil, bos=True, video=None)


@family("smolvlm")
def smolvlm():
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMImageProcessorPil, SmolVLMProcessor

    return _idefics(
        SmolVLMForConditionalGeneration, SmolVLMConfig, SmolVLMProcessor, SmolVLMImageProcessorPil, bos=False, video="SmolVLMVideoProcessor"
    )


@family("mistral3", torchvision=True)
def mistral3():
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration, PixtralImageProcessorPil, PixtralProcessor

    specials = ("<unk>", "<s>", "</s>", "<pad>", "[INST]", "[/INST]", "[IMG]", "[IMG_BREAK]", "[IMG_END]")
    chat = template("{{ bos_token }}", "[INST]", "[IMG]", "[/INST]", "")
    tok = tokenizer(specials, "<s>", "</s>", "<pad>", chat)
    config = Mistral3Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, head_dim=16, image_size=64, patch_size=8),
        text_config={"model_type": "mistral", **small_text(sliding_window=None)}, image_token_index=tok.convert_tokens_to_ids("[IMG]"),
        spatial_merge_size=2,
    )
    image_processor = PixtralImageProcessorPil(size={"longest_edge": 64}, patch_size=8)
    processor = PixtralProcessor(image_processor=image_processor, tokenizer=tok, patch_size=8, spatial_merge_size=2, chat_template=chat)
    return Mistral3ForConditionalGeneration(config), processor


@family("llama4", torchvision=True)
def llama4():
    from transformers import Llama4Config, Llama4ForConditionalGeneration, Llama4ImageProcessor, Llama4Processor

    specials = (
        "<|begin_of_text|>", "<|end_of_text|>", "<|eot|>", "<|header_start|>", "<|header_end|>", "<|finetune_right_pad|>",
        "<|image_start|>", "<|image_end|>", "<|image|>", "<|patch|>", "<|tile_x_separator|>", "<|tile_y_separator|>",
    )
    chat = template("{{ bos_token }}", "<|header_start|>{role}<|header_end|>\\n\\n", "<|image|>", "<|eot|>", "<|header_start|>assistant<|header_end|>\\n\\n")
    tok = tokenizer(specials, "<|begin_of_text|>", "<|eot|>", "<|finetune_right_pad|>", chat)
    config = Llama4Config(
        vision_config=dict(
            # pixel shuffle (ratio 0.5) turns 32 channels into 128: the adapter's input is intermediate_size
            hidden_size=32, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8,
            vision_output_dim=64, projector_input_dim=64, projector_output_dim=64, pixel_shuffle_ratio=0.5,
        ),
        text_config=small_text(intermediate_size_mlp=128, num_local_experts=2, num_experts_per_tok=1, interleave_moe_layer_step=1),
        boi_token_index=tok.convert_tokens_to_ids("<|image_start|>"), eoi_token_index=tok.convert_tokens_to_ids("<|image_end|>"),
        image_token_index=tok.convert_tokens_to_ids("<|patch|>"),
    )
    image_processor = Llama4ImageProcessor(size={"height": 32, "width": 32}, max_patches=4)
    processor = Llama4Processor(image_processor=image_processor, tokenizer=tok, patch_size=8, chat_template=chat)
    return Llama4ForConditionalGeneration(config), processor


@family("vipllava")
def vipllava():
    from transformers import CLIPImageProcessorPil, LlavaProcessor, VipLlavaConfig, VipLlavaForConditionalGeneration

    from harness.models.tiny import LLAVA_TOKENS, TINY_CLIP_TOKENS, _tiny_clip

    chat = template("", "{role}: ", "<image>\\n", "\\n", "ASSISTANT:")
    tok = build_tokenizer(LLAVA_TOKENS, chat)
    config = VipLlavaConfig(
        vision_config=_tiny_clip(), text_config={"model_type": "llama", **small_text()},
        image_token_index=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=[-2, -1], image_seq_length=64,
    )
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    tokens = {**TINY_CLIP_TOKENS, "vision_feature_select_strategy": "default"}
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat, **tokens)
    return VipLlavaForConditionalGeneration(config), processor


@family("idefics2")
def idefics2():
    from transformers import Idefics2Config, Idefics2ForConditionalGeneration, Idefics2ImageProcessorPil, Idefics2Processor

    chat = template("{{ bos_token }}", "{role}:", "<image>", "<end_of_utterance>\\n", "Assistant:")
    tok = tokenizer(IDEFICS_SPECIALS, "<|begin_of_text|>", "<end_of_utterance>", "<|end_of_text|>", chat)
    config = Idefics2Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
        perceiver_config=dict(hidden_size=64, resampler_n_latents=8, resampler_depth=1, resampler_n_heads=2, resampler_head_dim=16, num_key_value_heads=1),
        text_config={"model_type": "mistral", **small_text(sliding_window=None)}, image_token_id=tok.convert_tokens_to_ids("<image>"),
    )
    image_processor = Idefics2ImageProcessorPil(size={"shortest_edge": 32, "longest_edge": 32}, do_image_splitting=False)
    processor = Idefics2Processor(image_processor=image_processor, tokenizer=tok, image_seq_len=8, chat_template=chat)
    return Idefics2ForConditionalGeneration(config), processor


@family("aya_vision")
def aya_vision():
    from transformers import AyaVisionConfig, AyaVisionForConditionalGeneration, AyaVisionProcessor, GotOcr2ImageProcessorPil

    specials = (
        "<PAD>", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>", "<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>", "<|CHATBOT_TOKEN|>",
        "<image>", "<|START_OF_IMG|>", "<|END_OF_IMG|>", "<|IMG_PATCH|>", "<|IMG_LINE_BREAK|>",
    )
    chat = template(
        "{{ bos_token }}", "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>", "<image>", "<|END_OF_TURN_TOKEN|>",
        "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
    )
    tok = tokenizer(specials, "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>", "<PAD>", chat)
    config = AyaVisionConfig(
        vision_config={"model_type": "siglip_vision_model", **siglip(32, 8)},
        text_config={"model_type": "cohere2", **small_text(sliding_window=64, eos_token_id=tok.eos_token_id)}, downsample_factor=2,
        image_token_index=tok.convert_tokens_to_ids("<|IMG_PATCH|>"),
    )
    image_processor = GotOcr2ImageProcessorPil(size={"height": 32, "width": 32}, crop_to_patches=True, min_patches=1, max_patches=2)
    processor = AyaVisionProcessor(
        image_processor=image_processor, tokenizer=tok, patch_size=8, img_size=32, downsample_factor=2, chat_template=chat,
    )
    return AyaVisionForConditionalGeneration(config), processor


@family("internvl")
def internvl():
    from transformers import GotOcr2ImageProcessorPil, InternVLConfig, InternVLForConditionalGeneration, InternVLProcessor

    chat = template("", "<|im_start|>{role}\\n", "<IMG_CONTEXT>\\n", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(
        QWEN_SPECIALS + ("<img>", "</img>", "<IMG_CONTEXT>", "<video>"), None, "<|im_end|>", "<|endoftext|>", chat,
        start_image_token="<img>", end_image_token="</img>", context_image_token="<IMG_CONTEXT>", video_token="<video>",
    )
    config = InternVLConfig(
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=[32, 32], patch_size=[8, 8],
        ),
        text_config={"model_type": "qwen2", **small_text()}, image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=4, downsample_ratio=0.5,
    )
    image_processor = GotOcr2ImageProcessorPil(size={"height": 32, "width": 32}, crop_to_patches=True, min_patches=1, max_patches=2)
    processor = image_only_if_needed(InternVLProcessor)(
        image_processor=image_processor, tokenizer=tok, image_seq_length=4, chat_template=chat,
        video_processor=video_processor("InternVLVideoProcessor"),
    )
    return InternVLForConditionalGeneration(config), processor


GLM_SPECIALS = (
    "[gMASK]", "<sop>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|begin_of_image|>", "<|end_of_image|>", "<|image|>", "<|video|>",
    "<|begin_of_video|>", "<|end_of_video|>",
)


def _glm4v(config_class, model_class, processor_class, image_processor_class, video: str, **text):
    chat = template("[gMASK]<sop>", "<|{role}|>\\n", "<|begin_of_image|><|image|><|end_of_image|>", "", "<|assistant|>\\n")
    tok = tokenizer(GLM_SPECIALS, None, "<|endoftext|>", "<|endoftext|>", chat)
    ids = {t: tok.convert_tokens_to_ids(t) for t in GLM_SPECIALS}
    config = config_class(
        text_config=dict(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=VOCAB,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [1, 1, 2], "partial_rotary_factor": 0.5},
            **text,
        ),
        vision_config=dict(depth=1, hidden_size=32, num_heads=2, intermediate_size=64, out_hidden_size=64, patch_size=14, image_size=28, spatial_merge_size=2),
        image_token_id=ids["<|image|>"], video_token_id=ids["<|video|>"], image_start_token_id=ids["<|begin_of_image|>"],
        image_end_token_id=ids["<|end_of_image|>"], video_start_token_id=ids["<|begin_of_video|>"], video_end_token_id=ids["<|end_of_video|>"],
    )
    image_processor = image_processor_class(size={"shortest_edge": 16 * 28 * 28, "longest_edge": 32 * 28 * 28}, patch_size=14, merge_size=2)
    processor = image_only_if_needed(processor_class)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor(video),
    )
    return model_class(config), processor


@family("glm4v")
def glm4v():
    from transformers import Glm4vConfig, Glm4vForConditionalGeneration, Glm4vImageProcessorPil, Glm4vProcessor

    return _glm4v(Glm4vConfig, Glm4vForConditionalGeneration, Glm4vProcessor, Glm4vImageProcessorPil, "Glm4vVideoProcessor")


@family("glm4v_moe")
def glm4v_moe():
    """GLM-4.5V: GLM-4V's vision side, a mixture-of-experts decoder (its first layer dense)."""
    from transformers import Glm4vImageProcessorPil, Glm4vMoeConfig, Glm4vMoeForConditionalGeneration, Glm4vProcessor

    return _glm4v(
        Glm4vMoeConfig, Glm4vMoeForConditionalGeneration, Glm4vProcessor, Glm4vImageProcessorPil, "Glm4vVideoProcessor",
        moe_intermediate_size=32, n_routed_experts=2, num_experts_per_tok=1, n_shared_experts=1, first_k_dense_replace=1,
    )


@family("glm46v")
def glm46v():
    from transformers import Glm46VConfig, Glm46VForConditionalGeneration, Glm46VImageProcessorPil, Glm46VProcessor

    return _glm4v(Glm46VConfig, Glm46VForConditionalGeneration, Glm46VProcessor, Glm46VImageProcessorPil, "Glm46VVideoProcessor")


def _qwen3_5(config_class, model_class, **text):
    tok = tokenizer(QWEN_SPECIALS, None, "<|im_end|>", "<|endoftext|>", QWEN_TEMPLATE)
    text = qwen3_5_text(**text)
    config = config_class(
        text_config={k: v for k, v in text.items() if v is not None},  # None: a field this text config does not have
        vision_config=QWEN3_5_VISION, **qwen_vision_ids(tok),
    )
    return model_class(config), qwen3_processor(tok)


@family("qwen3_5")
def qwen3_5():
    """A hybrid decoder: linear-attention layers (gated delta rule) between full-attention ones, the first layer linear."""
    from transformers import Qwen3_5Config, Qwen3_5ForConditionalGeneration

    return _qwen3_5(Qwen3_5Config, Qwen3_5ForConditionalGeneration)


@family("qwen3_5_moe")
def qwen3_5_moe():
    """Qwen3.5's hybrid decoder with mixture-of-experts MLPs."""
    from transformers import Qwen3_5MoeConfig, Qwen3_5MoeForConditionalGeneration

    return _qwen3_5(
        Qwen3_5MoeConfig, Qwen3_5MoeForConditionalGeneration, intermediate_size=None, moe_intermediate_size=32,
        shared_expert_intermediate_size=32, num_experts=2, num_experts_per_tok=1,
    )


@family("lfm2_vl", torchvision=True)
def lfm2_vl():
    """A hybrid decoder: short-convolution layers between attention ones, the first layer a convolution."""
    from transformers import Lfm2VlConfig, Lfm2VlForConditionalGeneration, Lfm2VlImageProcessor, Lfm2VlProcessor

    specials = (
        "<|pad|>", "<|startoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<|image_start|>", "<|image_end|>",
        "<|img_thumbnail|>", *(f"<|img_row_{i}_col_{j}|>" for i in range(1, 3) for j in range(1, 3)),
    )
    chat = template("{{ bos_token }}", "<|im_start|>{role}\\n", "<image>", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(specials, "<|startoftext|>", "<|im_end|>", "<|pad|>", chat)
    text = {k: v for k, v in small_text(num_hidden_layers=4).items() if k != "head_dim"}
    config = Lfm2VlConfig(
        vision_config={"model_type": "siglip2_vision_model", **{k: v for k, v in siglip().items() if k != "image_size"}, "num_patches": 16},
        text_config={"model_type": "lfm2", **text, "layer_types": ["conv", "full_attention", "conv", "full_attention"],
                     "block_multiple_of": 16, "pad_token_id": tok.pad_token_id, "bos_token_id": tok.bos_token_id,
                     "eos_token_id": tok.eos_token_id},
        image_token_id=tok.convert_tokens_to_ids("<image>"), projector_hidden_size=64, downsample_factor=2,
    )
    image_processor = Lfm2VlImageProcessor(
        encoder_patch_size=8, tile_size=32, downsample_factor=2, min_image_tokens=4, max_image_tokens=16, do_image_splitting=False,
        max_num_patches=16,
    )
    processor = Lfm2VlProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat)
    return Lfm2VlForConditionalGeneration(config), processor


# families whose builders live in rooms of their own (each imports only .kit)
from . import (  # noqa: E402,F401
    zoo_assorted, zoo_batch_b, zoo_batch_c, zoo_batch_d, zoo_cosmos, zoo_gemma, zoo_glm5_inkling,
    zoo_minicpm_molmo, zoo_more, zoo_muse, zoo_ocr_docling, zoo_omni, zoo_timm_gemma3n, zoo_timm_more,
)
