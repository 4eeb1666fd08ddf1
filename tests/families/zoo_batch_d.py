"""Tiny checkpoints of more image-text-to-text families (see tests/families/zoo.py for the conventions).

Builders without @family are families the harness does not measure exactly (see each docstring); they are kept to
build the checkpoint a user would run, not collected by the conformance tests.
"""

from __future__ import annotations

from .kit import family, image_only_if_needed, small_text, template, tokenizer, video_processor
from .zoo_gemma import _gemma4_tokenizer, gemma4_processor

HCX = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|mime_start|>", "<|mime_end|>", "<|image_start|>", "<|image_end|>",
       "<|IMAGE_PAD|>", "<|video_start|>", "<|video_end|>", "<|VIDEO_PAD|>")
# each image as HyperCLOVA X's template writes it: a MIME header (its JSON is plain text), then the placeholder and a newline
HCX_IMAGE = ('<|mime_start|>{"id": "image_00", "type": "image/jpeg", "filename": "image.jpg"}<|mime_end|>'
             "<|image_start|><|IMAGE_PAD|><|image_end|>\\n")


@family("hyperclovax_vision_v2")
def hyperclovax_vision_v2():
    """HyperCLOVA X SEED Think 32B: a Qwen2.5-VL vision side (14 px patches, windowed attention, 2 × 2 merge) and a linear
    projector before a HyperCLOVA X decoder (Granite-style muP multipliers, 1D positions). ChatML roles as the checkpoint's
    template writes them (vLLM's reasoning parser reads "<|im_end|>\\n<|im_start|>assistant"); each image as a MIME header
    <|mime_start|>{"id": "image_00", ...}<|mime_end|>, then <|image_start|><|IMAGE_PAD|><|image_end|> (vLLM's HCXVisionV2
    placeholder) and a newline, before the text, as clients of the 32B checkpoint write it. Guessed: no BOS, no default
    system turn, no thinking switch, the header's fields (each would add special tokens only)."""
    from transformers import HyperCLOVAXVisionV2Config, HyperCLOVAXVisionV2ForConditionalGeneration, HyperCLOVAXVisionV2Processor
    from transformers import Qwen2VLImageProcessorPil

    chat = template("", "<|im_start|>{role}\\n", HCX_IMAGE, "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(HCX, None, "<|im_end|>", "<|endoftext|>", chat, image_token="<|IMAGE_PAD|>", video_token="<|VIDEO_PAD|>")
    config = HyperCLOVAXVisionV2Config(
        text_config={"model_type": "hyperclovax", **small_text(
            pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=tok.eos_token_id, embedding_multiplier=2.0,
            residual_multiplier=0.5, attention_multiplier=0.25, logits_scaling=0.5,
        )},
        vision_config=dict(
            model_type="qwen2_5_vl_vision", depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
            patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=56, fullatt_block_indexes=[1],
        ),
        image_token_id=tok.image_token_id, video_token_id=tok.video_token_id,
    )
    image_processor = Qwen2VLImageProcessorPil(patch_size=14, merge_size=2, temporal_patch_size=2, min_pixels=16 * 28 * 28, max_pixels=32 * 28 * 28)
    processor = image_only_if_needed(HyperCLOVAXVisionV2Processor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor("Qwen2VLVideoProcessor"),
    )
    return HyperCLOVAXVisionV2ForConditionalGeneration(config), processor


COMPASS = ("<PAD>", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>", "<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>", "<|CHATBOT_TOKEN|>",
           "<|VISION_START|>", "<|VISION_END|>", "<|IMAGE_PAD|>", "<|VIDEO_PAD|>")


@family("cohere_compass")
def cohere_compass():
    """Cohere Compass (North-Micro-Vision): a Qwen3-VL-style vision side (16 px patches merged 2 × 2, deepstack features
    added after the decoder's first layer) before a Cohere decoder (sliding-window and global layers, M-RoPE over
    interleaved T/H/W frequencies from get_rope_index). The image as <|VISION_START|><|IMAGE_PAD|><|VISION_END|> (the
    processor tests' placeholder). Guessed: Cohere's Command template (the template writes <BOS_TOKEN>, then
    <|START_OF_TURN_TOKEN|><|USER_TOKEN|> ... <|END_OF_TURN_TOKEN|>, <|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>) without the
    default system preamble that Command A's template writes (it would be special tokens)."""
    from transformers import (
        CohereCompassConfig, CohereCompassForConditionalGeneration, CohereCompassImageProcessorPil, CohereCompassProcessor,
    )

    chat = template(
        "{{ bos_token }}", "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>", "<|VISION_START|><|IMAGE_PAD|><|VISION_END|>",
        "<|END_OF_TURN_TOKEN|>", "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
    )
    tok = tokenizer(COMPASS, "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>", "<PAD>", chat)
    ids = {t: tok.convert_tokens_to_ids(t) for t in COMPASS}
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 2, 2]}
    config = CohereCompassConfig(
        text_config=small_text(
            sliding_window=64, layer_types=["sliding_attention", "full_attention"],
            rope_parameters={"sliding_attention": dict(rope), "full_attention": dict(rope, rope_theta=1e6)},
            pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=16, spatial_merge_size=2,
            temporal_patch_size=2, num_position_embeddings=16, deepstack_visual_indexes=[0],
        ),
        image_token_id=ids["<|IMAGE_PAD|>"], video_token_id=ids["<|VIDEO_PAD|>"], vision_start_token_id=ids["<|VISION_START|>"],
        vision_end_token_id=ids["<|VISION_END|>"],
    )
    image_processor = CohereCompassImageProcessorPil(patch_size=16, merge_size=2, min_pixels=16 * 32 * 32, max_pixels=32 * 32 * 32)
    processor = image_only_if_needed(CohereCompassProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat,
        video_processor=video_processor("CohereCompassVideoProcessor", patch_size=16),
    )
    return CohereCompassForConditionalGeneration(config), processor


DOTS = ("<|endoftext|>", "<|user|>", "<|endofuser|>", "<|assistant|>", "<|endofassistant|>", "<|img|>", "<|endofimg|>", "<|imgpad|>",
        "<|video_pad|>", "<|audio_comp_pad|>")


def dots3_note():
    """NOT REGISTERED: the harness does not measure it (its decoder's attention is multi-head latent attention: keys are
    expanded from a compressed latent by kv_b_proj and joined to one rotated key head shared by all heads, so no layer has
    a k_proj; refused when loaded, tests/families/refused.py). dots3-note-prev: a MoE vision side (14 px patches, 2 × 2
    merge), an audio tower, and a DeepSeek-style MLA decoder with a sigmoid output gate per head. Template guessed from
    dots.ocr / dots.vlm1: <|user|> ... <|endofuser|><|assistant|>, the image as <|img|><|imgpad|><|endofimg|>, no BOS."""
    from transformers import Dots3NoteConfig, Dots3NoteFeatureExtractor, Dots3NoteForConditionalGeneration, Dots3NoteProcessor
    from transformers import Qwen2VLImageProcessorPil

    chat = template("", "<|{role}|>", "<|img|><|imgpad|><|endofimg|>", "<|endofuser|>", "<|assistant|>")
    tok = tokenizer(DOTS, None, "<|endofassistant|>", "<|endoftext|>", chat)
    ids = {t: tok.convert_tokens_to_ids(t) for t in DOTS}
    config = Dots3NoteConfig(
        text_config=dict(
            vocab_size=320, hidden_size=64, intermediate_size=128, moe_intermediate_size=32, shared_experts_intermediate_size=32,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, n_routed_experts=2, num_experts_per_tok=1,
            kv_lora_rank=32, q_lora_rank=32, qk_rope_head_dim=8, qk_nope_head_dim=8, v_head_dim=16, head_dim=16,
            index_head_dim=16, index_n_heads=2, index_topk=8, use_sliding_window=False, use_dsa=False, max_position_embeddings=4096,
            pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, patch_size=14, spatial_merge_size=2,
            pyramid_num_routed=[-1], adapter_in_dim=32, adapter_out_dim=64, adapter_merge_size=2, moe_intermediate_size=32,
        ),
        audio_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, feature_size=16,
                          downsample_hidden_size=16, adapter_input_size=32, adapter_out_dim=64),
        image_token_id=ids["<|imgpad|>"], video_token_id=ids["<|video_pad|>"], audio_token_id=ids["<|audio_comp_pad|>"],
    )
    image_processor = Qwen2VLImageProcessorPil(patch_size=14, merge_size=2, temporal_patch_size=1, min_pixels=16 * 28 * 28, max_pixels=32 * 28 * 28)
    processor = image_only_if_needed(Dots3NoteProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, feature_extractor=Dots3NoteFeatureExtractor(feature_size=16),
        video_processor=video_processor("Qwen3VLVideoProcessor", patch_size=14, merge_size=2),
    )
    return Dots3NoteForConditionalGeneration(config), processor


NEMOTRON = ("<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<img>", "</img>", "<image>", "<video>",
            "<so_start>", "<so_end>", "<so_embedding>")


def nemotron_h_omni():
    """NOT REGISTERED: the harness does not measure it (its hybrid decoder's blocks hold their attention under `mixer`, not
    `self_attn`, where the harness reads keys; refused when loaded, tests/families/refused.py). Nemotron 3 Nano Omni: a RADIO
    vision side (16 px patches, pixel-shuffled 2 × 2) and an MLP projector before a NemotronH decoder (Mamba-2, attention
    and MLP blocks). Its image processor is torchvision-only. Template shaped like Nemotron 3 Nano's ChatML (no BOS;
    <|im_start|>user ... <|im_end|>, then <|im_start|>assistant with <think>); the image as <image>, which the processor
    expands to <img> + image tokens + </img>. Guessed: no default system turn, the thinking opener."""
    from transformers import (
        NemotronH_Omni_Reasoning_V3, NemotronH_Omni_Reasoning_V3_Config, NemotronH_Omni_Reasoning_V3ImageProcessor,
        NemotronH_Omni_Reasoning_V3Processor, ParakeetFeatureExtractor,
    )

    chat = template("", "<|im_start|>{role}\\n", "<image>", "<|im_end|>\\n", "<|im_start|>assistant\\n<think>\\n")
    tok = tokenizer(NEMOTRON, None, "<|im_end|>", "<unk>", chat, image_token="<image>", video_token="<video>")
    config = NemotronH_Omni_Reasoning_V3_Config(
        text_config=dict(
            vocab_size=320, hidden_size=64, layer_types=["linear_attention", "full_attention", "mlp", "full_attention"],
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, intermediate_size=128, max_position_embeddings=4096,
            use_mamba_kernels=False, ssm_state_size=16, mamba_num_heads=4, mamba_head_dim=16, n_groups=1, expand=1, chunk_size=16,
            pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, patch_size=16, image_size=64, max_img_size=128,
                           num_cls_tokens=1, num_registers=0, video_temporal_patch_size=2),
        vision_hidden_size=32, projector_hidden_size=64, downsample_ratio=0.5, image_token_id=tok.image_token_id,
        video_token_id=tok.video_token_id,
    )
    image_processor = NemotronH_Omni_Reasoning_V3ImageProcessor(patch_size=16, min_num_patches=16, max_num_patches=16, max_model_len=64)
    processor = image_only_if_needed(NemotronH_Omni_Reasoning_V3Processor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, feature_extractor=ParakeetFeatureExtractor(),
        video_processor=video_processor("NemotronH_Omni_Reasoning_V3VideoProcessor", patch_size=16),
    )
    return NemotronH_Omni_Reasoning_V3(config), processor


@family("diffusion_gemma")
def diffusion_gemma():
    """DiffusionGemma, a block-diffusion model: a Gemma 4 encoder (vision tower, image features written at <|image|>
    positions) computes the prompt's keys into a KV cache, and get_decoder() returns the diffusion decoder, whose layers
    (sharing the encoder's weights) refine a canvas of canvas_length tokens drawn at random, attending over the canvas
    and the prompt's cached keys. The harness reads the prompt's keys where they are computed, in the encoder's
    language model (harness.models.placement.language_model); before 2026-12-05 it took the decoder's layers, saw no
    position written there and refused the family as if vision reached it by cross-attention. Gemma 4's tokenizer,
    processor (Gemma4Processor) and template (BOS, <|turn>user, <|image|>, <turn|>, then <|turn>model and an empty
    thought channel)."""
    from transformers import DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion

    tok = _gemma4_tokenizer()
    ids = tok.convert_tokens_to_ids
    config = DiffusionGemmaConfig(
        text_config=small_text(
            sliding_window=64, layer_types=["sliding_attention", "full_attention"], global_head_dim=32, pad_token_id=0,
            eos_token_id=1, bos_token_id=2, use_bidirectional_attention="vision", num_experts=2, top_k_experts=1, moe_intermediate_size=32,
        ),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, head_dim=16,
            patch_size=4, pooling_kernel_size=2, position_embedding_size=64,
        ),
        image_token_id=ids("<|image|>"), boi_token_id=ids("<|image>"), eoi_token_id=ids("<image|>"), canvas_length=8,
    )
    return DiffusionGemmaForBlockDiffusion(config), gemma4_processor(tok)
