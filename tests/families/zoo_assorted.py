"""Tiny checkpoints of DeepSeek-VL (and its hybrid), Ovis2, Janus, Aria, PaddleOCR-VL, Cohere2-Vision, LightOnOCR,
the video LLaVAs (LLaVA-NeXT-Video, Video-LLaVA) and Emu3 (see tests/families/zoo.py for the conventions)."""

from __future__ import annotations

from .kit import QWEN_SPECIALS, QWEN_TEMPLATE, VOCAB, family, image_only_if_needed, siglip, small_text, template, tokenizer, video_processor


DEEPSEEK_SPECIALS = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>", "<image_placeholder>")
DEEPSEEK_TEMPLATE = template("{{ bos_token }}", "{role}: ", "<image_placeholder>", "\\n\\n", "Assistant:")


def _deepseek_tokenizer():
    s = DEEPSEEK_SPECIALS
    return tokenizer(s, s[0], s[1], s[2], DEEPSEEK_TEMPLATE, image_token="<image_placeholder>")


@family("deepseek_vl")
def deepseek_vl():
    from transformers import DeepseekVLConfig, DeepseekVLForConditionalGeneration, DeepseekVLImageProcessorPil, DeepseekVLProcessor

    tok = _deepseek_tokenizer()
    config = DeepseekVLConfig(
        vision_config={"model_type": "siglip_vision_model", **siglip(32, 8)}, text_config={"model_type": "llama", **small_text()},
        image_token_id=tok.convert_tokens_to_ids("<image_placeholder>"),
    )
    image_processor = DeepseekVLImageProcessorPil(size={"height": 32, "width": 32})
    processor = DeepseekVLProcessor(image_processor=image_processor, tokenizer=tok, chat_template=DEEPSEEK_TEMPLATE, num_image_tokens=16)
    return DeepseekVLForConditionalGeneration(config), processor


@family("deepseek_vl_hybrid")
def deepseek_vl_hybrid():
    """DeepSeek-VL with a second, high-resolution SAM encoder (64 px) whose features join the SigLIP ones per image token."""
    from transformers import (
        DeepseekVLHybridConfig, DeepseekVLHybridForConditionalGeneration, DeepseekVLHybridImageProcessorPil, DeepseekVLHybridProcessor,
    )

    tok = _deepseek_tokenizer()
    config = DeepseekVLHybridConfig(
        vision_config={"model_type": "siglip_vision_model", **siglip(32, 8)},
        high_res_vision_config=dict(
            model_type="sam_vision_model", hidden_size=32, output_channels=16, num_hidden_layers=2, num_attention_heads=2,
            image_size=64, patch_size=8, global_attn_indexes=[1], window_size=4, mlp_dim=64,
        ),
        text_config={"model_type": "llama", **small_text()}, image_token_id=tok.convert_tokens_to_ids("<image_placeholder>"),
    )
    image_processor = DeepseekVLHybridImageProcessorPil(size={"height": 32, "width": 32}, high_res_size={"height": 64, "width": 64})
    processor = DeepseekVLHybridProcessor(image_processor=image_processor, tokenizer=tok, chat_template=DEEPSEEK_TEMPLATE, num_image_tokens=16)
    return DeepseekVLHybridForConditionalGeneration(config), processor


@family("ovis2")
def ovis2():
    """Vision-embedded markers: the vision side writes the embeddings of <IMG_START>, <IMG_GRID>, <IMG_END>
    (its visual indicator tokens) as well as of the <IMG_ATOM> image tokens."""
    from transformers import Ovis2Config, Ovis2ForConditionalGeneration, Ovis2ImageProcessorPil, Ovis2Processor

    marks = ("<IMG_ATOM>", "<IMG_START>", "<IMG_GRID>", "<IMG_COL>", "<IMG_ROW>", "<IMG_END>")
    chat = template("", "<|im_start|>{role}\\n", "<image>\\n", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>") + marks, None, "<|im_end|>", "<|endoftext|>", chat)
    config = Ovis2Config(
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8,
            vocab_size=64, num_visual_indicator_tokens=5,
        ),
        text_config={"model_type": "qwen2", **small_text()}, image_token_id=tok.convert_tokens_to_ids(marks[0]),
        visual_indicator_token_ids=tok.convert_tokens_to_ids(list(marks[1:])), vocab_size=VOCAB, hidden_size=64,
    )
    image_processor = Ovis2ImageProcessorPil(size={"height": 32, "width": 32}, crop_to_patches=False)
    processor = Ovis2Processor(image_processor=image_processor, tokenizer=tok, chat_template=chat, image_seq_length=16)
    return Ovis2ForConditionalGeneration(config), processor


@family("janus")
def janus():
    from transformers import JanusConfig, JanusForConditionalGeneration, JanusImageProcessorPil, JanusProcessor

    specials = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>", "<image_placeholder>", "<begin_of_image>", "<end_of_image>")
    chat = template("{{ bos_token }}", "<|User|>: ", "<image_placeholder>\\n", "\\n\\n", "<|Assistant|>:")
    tok = tokenizer(
        specials, specials[0], specials[1], specials[2], chat,
        image_token="<image_placeholder>", boi_token="<begin_of_image>", eoi_token="<end_of_image>",
    )
    config = JanusConfig(
        text_config={"model_type": "llama", **small_text()},
        vision_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8, projection_dim=64,
                           depth=1, num_image_tokens=16),
        vq_config=dict(embed_dim=8, num_embeddings=32, latent_channels=32, base_channels=32, channel_multiplier=[1, 1], num_res_blocks=1,
                       projection_dim=64, image_token_embed_dim=64, num_hidden_layers=1),
        image_token_id=tok.convert_tokens_to_ids("<image_placeholder>"),
    )
    image_processor = JanusImageProcessorPil(size={"height": 32, "width": 32})
    processor = JanusProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat, num_image_tokens=16)
    return JanusForConditionalGeneration(config), processor


@family("aria")
def aria():
    """Images are 980 px (the processor's default of the two sizes it takes); a 140 px patch keeps the vision side at 49
    patches, which the projector's cross-attention turns into 16 queries."""
    from transformers import AriaConfig, AriaForConditionalGeneration, AriaImageProcessorPil, AriaProcessor

    specials = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<fim_prefix>", "<|img|>", "<fim_suffix>")
    chat = template("", "<|im_start|>{role}\\n", "<fim_prefix><|img|><fim_suffix>", "<|im_end|>\\n", "<|im_start|>assistant\\n")
    tok = tokenizer(specials, None, "<|im_end|>", "<|endoftext|>", chat, image_token="<|img|>")
    config = AriaConfig(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=980, patch_size=140),
        text_config=small_text(moe_num_experts=2, moe_topk=1, moe_num_shared_experts=1),
        projector_patch_to_query_dict={49: 16}, image_token_index=tok.convert_tokens_to_ids("<|img|>"),
    )
    image_processor = AriaImageProcessorPil(max_image_size=980, min_image_size=490)
    processor = AriaProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat, size_conversion={980: 16})
    return AriaForConditionalGeneration(config), processor


@family("paddleocr_vl")
def paddleocr_vl():
    from transformers import PaddleOCRVLConfig, PaddleOCRVLForConditionalGeneration, PaddleOCRVLImageProcessorPil, PaddleOCRVLProcessor

    specials = ("<|begin_of_sentence|>", "<|end_of_sentence|>", "<unk>", "<|IMAGE_START|>", "<|IMAGE_PLACEHOLDER|>", "<|IMAGE_END|>", "<|video_pad|>")
    chat = template("{{ bos_token }}", "User: ", "<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>", "\\n", "Assistant: ")
    tok = tokenizer(specials, specials[0], specials[1], specials[2], chat, image_token="<|IMAGE_PLACEHOLDER|>")
    ids = {t: tok.convert_tokens_to_ids(t) for t in specials}
    config = PaddleOCRVLConfig(
        text_config=small_text(rope_parameters={"rope_type": "default", "rope_theta": 5e5, "mrope_section": [2, 3, 3]},
                               pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, patch_size=14, spatial_merge_size=2),
        image_token_id=ids["<|IMAGE_PLACEHOLDER|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|IMAGE_START|>"], vision_end_token_id=ids["<|IMAGE_END|>"],
    )
    image_processor = PaddleOCRVLImageProcessorPil(min_pixels=16 * 28 * 28, max_pixels=32 * 28 * 28, patch_size=14, merge_size=2)
    processor = PaddleOCRVLProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat)
    return PaddleOCRVLForConditionalGeneration(config), processor


COHERE_SPECIALS = (
    "<PAD>", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>", "<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>", "<|CHATBOT_TOKEN|>",
    "<|START_OF_IMG|>", "<|END_OF_IMG|>", "<|IMG_PATCH|>", "<|IMG_LINE_BREAK|>",
)
COHERE_TEMPLATE = template(
    "{{ bos_token }}", "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>", "<|IMG_PATCH|>", "<|END_OF_TURN_TOKEN|>",
    "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
)


@family("cohere2_vision", torchvision=True)
def cohere2_vision():
    """Tiles of 32 px, 8 px vision patches, pixel shuffle by 2: 4 image tokens per tile (the image processor's
    `patch_size` is that side, 2), each tile closed by <|IMG_LINE_BREAK|>."""
    from transformers import Cohere2VisionConfig, Cohere2VisionForConditionalGeneration, Cohere2VisionImageProcessor, Cohere2VisionProcessor

    tok = tokenizer(
        COHERE_SPECIALS, "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>", "<PAD>", COHERE_TEMPLATE,
        image_token="<|IMG_PATCH|>", boi_token="<|START_OF_IMG|>", eoi_token="<|END_OF_IMG|>", img_line_break_token="<|IMG_LINE_BREAK|>",
    )
    config = Cohere2VisionConfig(
        vision_config={"model_type": "siglip_vision_model", **siglip(32, 8)},
        text_config={"model_type": "cohere2", **small_text(sliding_window=64, eos_token_id=tok.eos_token_id)},
        downsample_factor=2, alignment_intermediate_size=128, image_token_id=tok.convert_tokens_to_ids("<|IMG_PATCH|>"),
    )
    image_processor = Cohere2VisionImageProcessor(size={"height": 32, "width": 32}, patch_size=2, crop_to_patches=True, max_patches=2)
    processor = Cohere2VisionProcessor(image_processor=image_processor, tokenizer=tok, chat_template=COHERE_TEMPLATE)
    return Cohere2VisionForConditionalGeneration(config), processor


@family("lighton_ocr")
def lighton_ocr():
    """Pixtral's vision side without row breaks: 64 px images, 8 px patches merged by 2, so 16 image tokens."""
    from transformers import LightOnOcrConfig, LightOnOcrForConditionalGeneration, LightOnOcrProcessor, PixtralImageProcessorPil

    specials = QWEN_SPECIALS + ("<|vision_pad|>",)
    tok = tokenizer(
        specials, None, "<|im_end|>", "<|endoftext|>", QWEN_TEMPLATE,
        image_token="<|image_pad|>", image_break_token="<|vision_pad|>", image_end_token="<|vision_end|>",
    )
    config = LightOnOcrConfig(
        vision_config={"model_type": "pixtral", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "head_dim": 16, "image_size": 64, "patch_size": 8},
        text_config={"model_type": "qwen3", **small_text()}, image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
        spatial_merge_size=2,
    )
    image_processor = PixtralImageProcessorPil(size={"longest_edge": 64}, patch_size=16)
    processor = LightOnOcrProcessor(image_processor=image_processor, tokenizer=tok, patch_size=8, spatial_merge_size=2, chat_template=QWEN_TEMPLATE)
    return LightOnOcrForConditionalGeneration(config), processor


@family("llava_next_video")
def llava_next_video():
    """LLaVA-NeXT's image path (any-resolution tiles of the tiny CLIP) in LLaVA-NeXT-Video; the video path is unused. The
    processor hands its video processor on first, positionally; without torchvision it is built without one
    (harness.models.processors.image_only passes the other parts by name)."""
    from transformers import LlavaNextImageProcessorPil, LlavaNextVideoConfig, LlavaNextVideoForConditionalGeneration, LlavaNextVideoProcessor

    from harness.models.tiny import LLAVA_TOKENS, TINY_CLIP_TOKENS, _tiny_clip

    chat = template("{{ bos_token }}", "USER: ", "<image>\\n", " ", "ASSISTANT:")
    specials = LLAVA_TOKENS.specials + ("<video>",)
    tok = tokenizer(specials, "<s>", "</s>", "<pad>", chat, unk_token="<unk>")
    pinpoints = [[32, 64], [64, 32], [64, 64]]
    config = LlavaNextVideoConfig(
        vision_config=_tiny_clip(), text_config={"model_type": "llama", **small_text()},
        image_token_id=tok.convert_tokens_to_ids("<image>"), video_token_id=tok.convert_tokens_to_ids("<video>"),
        vision_feature_layer=-2, vision_feature_select_strategy="default", image_grid_pinpoints=pinpoints,
    )
    image_processor = LlavaNextImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, image_grid_pinpoints=pinpoints)
    processor = image_only_if_needed(LlavaNextVideoProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor("LlavaNextVideoVideoProcessor"),
        **TINY_CLIP_TOKENS,
    )
    return LlavaNextVideoForConditionalGeneration(config), processor


@family("video_llava")
def video_llava():
    """Images through the tiny CLIP; like LLaVA-NeXT-Video, built without its video processor where torchvision is missing."""
    from transformers import VideoLlavaConfig, VideoLlavaForConditionalGeneration, VideoLlavaImageProcessor, VideoLlavaProcessor

    from harness.models.tiny import LLAVA_TOKENS, TINY_CLIP_TOKENS, _tiny_clip

    chat = template("{{ bos_token }}", "USER: ", "<image>\\n", " ", "ASSISTANT:")
    tok = tokenizer(LLAVA_TOKENS.specials + ("<video>",), "<s>", "</s>", "<pad>", chat, unk_token="<unk>")
    config = VideoLlavaConfig(
        vision_config=_tiny_clip(), text_config={"model_type": "llama", **small_text()},
        image_token_index=tok.convert_tokens_to_ids("<image>"), video_token_index=tok.convert_tokens_to_ids("<video>"),
        vision_feature_layer=-2, vision_feature_select_strategy="default", image_seq_length=64,
    )
    image_processor = VideoLlavaImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = image_only_if_needed(VideoLlavaProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor("VideoLlavaVideoProcessor"),
        **TINY_CLIP_TOKENS,
    )
    return VideoLlavaForConditionalGeneration(config), processor


@family("emu3")
def emu3():
    """Early fusion: a VQ-VAE (spatial factor 8) turns a 32 px image into 4 x 4 codes, written as the embeddings of
    code tokens with a row-end token (<|extra_200|>) after each row: 20 positions, all of them the image token's
    placeholders, so all written by the vision side and labelled image by the one rule."""
    from transformers import Emu3Config, Emu3ForConditionalGeneration, Emu3ImageProcessor, Emu3Processor

    codes = tuple(f"<|visual token {i:06d}|>" for i in range(16))
    specials = (
        "<|endoftext|>", "<|extra_203|>", "<|extra_204|>", "<image>", "<|image start|>", "<|image end|>", "<|image token|>",
        "<|extra_201|>", "<|extra_200|>",
    ) + codes
    chat = template("", "USER: ", "<image>", " ", "ASSISTANT:")
    tok = tokenizer(
        specials, None, "<|extra_204|>", "<|endoftext|>", chat, image_token="<image>", boi_token="<|image start|>",
        eoi_token="<|image end|>", image_wrapper_token="<|image token|>", eof_token="<|extra_201|>",
    )
    tok.bos_token = "<|extra_203|>"  # written by the processor before each prompt, not by the (GPT-style) tokenizer
    config = Emu3Config(
        text_config=small_text(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        vq_config=dict(
            codebook_size=16, embed_dim=4, latent_channels=4, base_channels=32, channel_multiplier=[1, 1, 1, 1], num_res_blocks=1,
            attn_resolutions=[], hidden_size=32, temporal_downsample_factor=2,
        ),
        vocabulary_map={t: tok.convert_tokens_to_ids(t) for t in ("<image>", "<|extra_200|>") + codes},
    )
    image_processor = Emu3ImageProcessor(min_pixels=32 * 32, max_pixels=32 * 32, spatial_factor=8)
    processor = Emu3Processor(image_processor=image_processor, tokenizer=tok, chat_template=chat)
    return Emu3ForConditionalGeneration(config), processor
