"""Tiny checkpoints of more image-text-to-text families (see tests/families/zoo.py for the conventions)."""

from __future__ import annotations

from .kit import family, image_only_if_needed, siglip, small_text, template, tokenizer, video_processor

HY = ("<｜hy_begin▁of▁sentence｜>", "<｜hy_place▁holder▁no▁2｜>", "<｜hy_▁pad▁｜>", "<｜hy_place▁holder▁no▁3｜>", "<｜hy_User｜>",
      "<｜hy_Assistant｜>", "<｜hy_place▁holder▁no▁100｜>", "<｜hy_place▁holder▁no▁101｜>", "<｜hy_place▁holder▁no▁102｜>")


@family("hunyuan_vl")
def hunyuan_vl():
    """HunyuanOCR: BOS and an empty system prompt, then the user's image and text, closed by <｜hy_User｜>. The processor
    expands the image token into the whole span the vision side writes: its begin and end embeddings, the merged
    patches and one row-end per row (64 px images, 16 px patches merged 2 × 2: 2 × (2 + 1) + 2 = 8 positions)."""
    from transformers import HunYuanVLConfig, HunYuanVLForConditionalGeneration, HunYuanVLImageProcessorPil, HunYuanVLProcessor

    chat = template("{{ bos_token }}<｜hy_place▁holder▁no▁3｜>", "", HY[6] + HY[8] + HY[7], "<｜hy_User｜>", "")
    tok = tokenizer(HY, HY[0], HY[1], HY[2], chat, image_start_token=HY[6], image_end_token=HY[7], image_token=HY[8])
    ids = {t: tok.convert_tokens_to_ids(t) for t in HY}
    config = HunYuanVLConfig(
        text_config=small_text(
            rope_parameters={"rope_type": "default", "rope_theta": 1e4, "mrope_section": [2, 2, 2, 2]},
            pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, patch_size=16,
                           spatial_merge_size=2, max_image_size=64, out_hidden_size=64),
        image_token_id=ids[HY[8]], im_start_id=ids[HY[6]], im_end_id=ids[HY[7]],
    )
    image_processor = HunYuanVLImageProcessorPil(min_pixels=64 * 64, max_pixels=64 * 64, patch_size=16, merge_size=2)
    processor = HunYuanVLProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat)
    return HunYuanVLForConditionalGeneration(config), processor


GLM_SPECIALS = (  # as tests/families/zoo.py's
    "[gMASK]", "<sop>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|begin_of_image|>", "<|end_of_image|>", "<|image|>", "<|video|>",
    "<|begin_of_video|>", "<|end_of_video|>",
)


GLM_ROPE = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [1, 1, 2], "partial_rotary_factor": 0.5}
GLM_VISION = dict(depth=1, hidden_size=32, num_heads=2, intermediate_size=64, out_hidden_size=64, patch_size=14, image_size=28,
                  spatial_merge_size=2)


def glm_chat_tokenizer():
    """GLM-4V's template ([gMASK]<sop>, <|user|>\\n, the image as <|begin_of_image|><|image|><|end_of_image|>, <|assistant|>\\n)
    and the tiny tokenizer holding its specials."""
    chat = template("[gMASK]<sop>", "<|{role}|>\\n", "<|begin_of_image|><|image|><|end_of_image|>", "", "<|assistant|>\\n")
    return chat, tokenizer(GLM_SPECIALS, None, "<|endoftext|>", "<|endoftext|>", chat)


def glm_token_ids(tok) -> dict:
    """A GLM-4V-style config's image and video token ids in `tok`'s vocabulary."""
    ids = {t: tok.convert_tokens_to_ids(t) for t in GLM_SPECIALS}
    return dict(
        image_token_id=ids["<|image|>"], video_token_id=ids["<|video|>"], image_start_token_id=ids["<|begin_of_image|>"],
        image_end_token_id=ids["<|end_of_image|>"], video_start_token_id=ids["<|begin_of_video|>"], video_end_token_id=ids["<|end_of_video|>"],
    )


@family("glm_ocr")
def glm_ocr():
    """GLM-OCR: GLM-4V's prompt and processor (its checkpoint ships Glm46VProcessor), a CogViT-style vision side whose
    merger downsamples by a convolution, and a small GLM decoder (M-RoPE, half the head rotated)."""
    from transformers import GlmOcrConfig, GlmOcrForConditionalGeneration, Glm46VImageProcessorPil, Glm46VProcessor

    chat, tok = glm_chat_tokenizer()
    config = GlmOcrConfig(text_config=small_text(rope_parameters=GLM_ROPE), vision_config=GLM_VISION, **glm_token_ids(tok))
    image_processor = Glm46VImageProcessorPil(size={"shortest_edge": 16 * 28 * 28, "longest_edge": 32 * 28 * 28}, patch_size=14, merge_size=2)
    processor = image_only_if_needed(Glm46VProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor("Glm46VVideoProcessor"),
    )
    return GlmOcrForConditionalGeneration(config), processor


ERNIE = ("<|begin_of_sentence|>", "<|end_of_sentence|>", "<unk>", "<|IMAGE_START|>", "<|IMAGE_END|>", "<|IMAGE_PLACEHOLDER|>",
         "<|VIDEO_START|>", "<|VIDEO_END|>", "<|VIDEO_PLACEHOLDER|>")


def _ernie_processor_class(cls: type) -> type:
    """The processor class, for images only where torchvision is missing. Its save_pretrained copies its video processor's
    font file when there is one; the image-only stand-in for the video processor gets an empty font path (no file)."""
    from types import SimpleNamespace

    from harness.models.processors import torchvision_available

    if torchvision_available():
        return cls
    base = image_only_if_needed(cls)
    stand_in = SimpleNamespace(**vars(base.video_processor), font="")
    return type(cls.__name__, (base,), {"video_processor": stand_in, "__module__": cls.__module__})


@family("ernie4_5_vl_moe")
def ernie4_5_vl_moe():
    """ERNIE-4.5-VL: the template writes <|begin_of_sentence|> itself (the tokenizer adds no BOS), "Picture 1:" before each
    image, and an empty thinking block after "Assistant: "; the decoder routes text and image tokens to experts of their own."""
    from transformers import (
        Ernie4_5_VLMoeConfig, Ernie4_5_VLMoeForConditionalGeneration, Ernie4_5_VLMoeImageProcessorPil, Ernie4_5_VLMoeProcessor,
    )

    chat = template(
        "<|begin_of_sentence|>", "User: ", "Picture 1:<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>", "",
        "\\nAssistant: <think>\\n\\n</think>\\n\\n",
    )
    tok = tokenizer(
        ERNIE, None, ERNIE[1], ERNIE[2], chat, image_start_token=ERNIE[3], image_end_token=ERNIE[4], image_token=ERNIE[5],
        video_start_token=ERNIE[6], video_end_token=ERNIE[7], video_token=ERNIE[8],
    )
    ids = {t: tok.convert_tokens_to_ids(t) for t in ERNIE}
    config = Ernie4_5_VLMoeConfig(
        text_config=small_text(
            rope_parameters={"rope_type": "default", "rope_theta": 5e5, "mrope_section": [3, 3, 2]},
            moe_intermediate_size=[32, 32], moe_k=1, moe_num_experts=2, moe_num_shared_experts=1,
            pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(depth=1, hidden_size=32, num_heads=2, intermediate_size=64, patch_size=14, spatial_merge_size=2),
        image_start_token_id=ids[ERNIE[3]], image_end_token_id=ids[ERNIE[4]], image_token_id=ids[ERNIE[5]],
        video_start_token_id=ids[ERNIE[6]], video_end_token_id=ids[ERNIE[7]], video_token_id=ids[ERNIE[8]],
    )
    image_processor = Ernie4_5_VLMoeImageProcessorPil(size={"shortest_edge": 56 * 56, "longest_edge": 64 * 64}, patch_size=14, merge_size=2)
    processor = _ernie_processor_class(Ernie4_5_VLMoeProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat,
        video_processor=video_processor("Ernie4_5_VLMoeVideoProcessor", draw_on_frames=False),  # no font to fetch offline
    )
    return Ernie4_5_VLMoeForConditionalGeneration(config), processor


@family("granite4_vision")
def granite4_vision():
    """Granite 4 Vision: LLaVA-NeXT tiles (32 px SigLIP tiles, 8 px patches), each tile's 4 × 4 patches brought to 2 × 2 by window
    Q-Formers, a row-end after each row. The image positions enter the decoder as zeros and the vision features are added to
    them before chosen decoder layers (deepstack: layer 0, and the four spatial groups at layers 1-4). The template is
    Granite 4.0's (no default system prompt; role markers, <|end_of_text|> after each turn), the images before the text."""
    from transformers import Granite4VisionConfig, Granite4VisionForConditionalGeneration, Granite4VisionProcessor, LlavaNextImageProcessorPil

    chat = template(
        "", "<|start_of_role|>{role}<|end_of_role|>", "<image>\\n", "<|end_of_text|>\\n", "<|start_of_role|>assistant<|end_of_role|>",
    )
    specials = ("<|end_of_text|>", "<|pad|>", "<|start_of_role|>", "<|end_of_role|>", "<image>")
    tok = tokenizer(specials, None, "<|end_of_text|>", "<|pad|>", chat)
    pinpoints = [[32, 64], [64, 32], [64, 64]]
    config = Granite4VisionConfig(
        vision_config={"model_type": "siglip_vision_model", **siglip(32, 8), "hidden_size": 64},
        text_config=small_text(num_hidden_layers=5, pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=tok.eos_token_id),
        qformer_config=dict(intermediate_size=64), image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="full", vision_feature_layer=-1, image_grid_pinpoints=pinpoints, downsample_rate="1/2",
        deepstack_layer_map=[[-1, 0]], spatial_vision_layer=-1, spatial_target_layers=[1, 2, 3, 4], projector_dropout=0.0,
    )
    image_processor = LlavaNextImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, image_grid_pinpoints=pinpoints)
    processor = Granite4VisionProcessor(
        image_processor=image_processor, tokenizer=tok, patch_size=8, vision_feature_select_strategy="full", chat_template=chat,
        downsample_rate="1/2",
    )
    return Granite4VisionForConditionalGeneration(config), processor


EXAONE = ("[|endofturn|]", "[|pad|]", "[|system|]", "[|user|]", "[|assistant|]", "<think>", "</think>", "<|vision_start|>",
          "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")


@family("exaone4_5")
def exaone4_5():
    """EXAONE 4.5: a Qwen2.5-VL-style vision side (2D RoPE, windowed attention, 2 × 2 merge) before an EXAONE 4.0 decoder
    (sliding-window and global layers, QK norms, 1D positions). EXAONE 4.0's template: [|user|] ... [|endofturn|], then
    [|assistant|] with an empty thinking block; the image as <|vision_start|><|image_pad|><|vision_end|>."""
    from transformers import Exaone4_5_Config, Exaone4_5_ForConditionalGeneration, Exaone4_5_Processor, Qwen2VLImageProcessorPil

    chat = template(
        "", "[|{role}|]", "<|vision_start|><|image_pad|><|vision_end|>", "[|endofturn|]\\n", "[|assistant|]<think>\\n\\n</think>\\n\\n",
    )
    tok = tokenizer(EXAONE, None, "[|endofturn|]", "[|pad|]", chat, image_token="<|image_pad|>", video_token="<|video_pad|>")
    config = Exaone4_5_Config(
        text_config={"model_type": "exaone4", **small_text(
            sliding_window=64, layer_types=["sliding_attention", "full_attention"], pad_token_id=tok.pad_token_id,
            bos_token_id=None, eos_token_id=tok.eos_token_id,
        )},
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=2, num_key_value_heads=1, out_hidden_size=64, patch_size=14,
            spatial_merge_size=2, temporal_patch_size=2, window_size=56, fullatt_block_indexes=[1],
        ),
        image_token_id=tok.image_token_id, video_token_id=tok.video_token_id,
    )
    image_processor = Qwen2VLImageProcessorPil(patch_size=14, merge_size=2, temporal_patch_size=2, min_pixels=16 * 28 * 28, max_pixels=32 * 28 * 28)
    processor = image_only_if_needed(Exaone4_5_Processor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor("Qwen2VLVideoProcessor"),
    )
    return Exaone4_5_ForConditionalGeneration(config), processor


LFM_SPECIALS = ("<|pad|>", "<|startoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
                "<|video_pad|>")


@family("lfm3_vl")
def lfm3_vl():
    """A hybrid decoder (LFM3: short convolutions, sliding-window and global attention layers; layer 0 a convolution) after a
    vision side of convolution and attention layers with 16 px patches merged 2 × 2 (Qwen2-VL's image processor). LFM's
    ChatML template with the BOS written by the template; the image as <|vision_start|><|image_pad|><|vision_end|>."""
    from transformers import Lfm3VlConfig, Lfm3VlForConditionalGeneration, Lfm3VlProcessor, Qwen2VLImageProcessorPil

    chat = template(
        "{{ bos_token }}", "<|im_start|>{role}\\n", "<|vision_start|><|image_pad|><|vision_end|>", "<|im_end|>\\n", "<|im_start|>assistant\\n",
    )
    tok = tokenizer(LFM_SPECIALS, "<|startoftext|>", "<|im_end|>", "<|pad|>", chat, image_token="<|image_pad|>", video_token="<|video_pad|>")
    ids = {t: tok.convert_tokens_to_ids(t) for t in LFM_SPECIALS}
    config = Lfm3VlConfig(
        text_config={"model_type": "lfm3", **small_text(
            num_hidden_layers=4, layer_types=["conv", "sliding_attention", "conv", "full_attention"], sliding_window=64,
            pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        )},
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2, num_key_value_heads=1, patch_size=16,
            spatial_merge_size=2, temporal_patch_size=2,
        ),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"], projector_hidden_size=64,
    )
    image_processor = Qwen2VLImageProcessorPil(patch_size=16, merge_size=2, temporal_patch_size=2, min_pixels=16 * 32 * 32, max_pixels=32 * 32 * 32)
    processor = image_only_if_needed(Lfm3VlProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, video_processor=video_processor("Qwen2VLVideoProcessor"),
    )
    return Lfm3VlForConditionalGeneration(config), processor
