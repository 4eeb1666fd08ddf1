"""Tiny checkpoints of NVIDIA's Cosmos 3 reasoners (see tests/families/zoo.py for the conventions).

Cosmos3-Edge (`cosmos3_edge`) has a model and processor of its own; Cosmos3-Nano's reasoner (`cosmos3_omni`) is Qwen3-VL's
architecture under its own config and model type, with no processor class of its own (its auto mappings name Qwen-VL's
image and video processors and Qwen2's tokenizer), so its checkpoint is built with Qwen3-VL's processor.
"""

from __future__ import annotations

from .kit import (
    QWEN3_5_VISION,
    QWEN_SPECIALS,
    QWEN_TEMPLATE,
    family,
    image_only_if_needed,
    qwen3_processor,
    qwen_vision_ids,
    small_text,
    template,
    tokenizer,
    video_processor,
)

EDGE = ("<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|vision_start|>", "<|vision_end|>",
        "<|image_pad|>", "<|video_pad|>")


@family("cosmos3_edge")
def cosmos3_edge():
    """Cosmos3-Edge's reasoner: a packed SigLIP2 vision tower (16 px patches, a learned position grid resized per image)
    whose 2 × 2 patch groups a projector merges into one token each, before a dense Llama-style decoder (ReLU² MLP, M-RoPE
    over interleaved T/H/W frequencies from get_rope_index). Taken from the published checkpoint: its tokenizer's specials
    (bos <s>, eos and pad <|im_end|>, unk <unk>) and its template's shape, which is Nemotron 3's (ChatML roles, a system turn
    written even when empty, no BOS, the generation prompt <|im_start|>assistant then <think> and a newline, thinking on by
    default). The image placeholder <|vision_start|><|image_pad|><|vision_end|> is the one the processor's own docstring
    gives for video (<|vision_start|><|video_pad|><|vision_end|>) with the image pad, placed where the image sits in the
    message. Guessed: that the image has no newline after it, and that the tokenizer adds no BOS of its own."""
    from transformers import (
        Cosmos3EdgeConfig,
        Cosmos3EdgeForConditionalGeneration,
        Cosmos3EdgeImageProcessorPil,
        Cosmos3EdgeProcessor,
    )

    chat = ("{{ '<|im_start|>system\\n<|im_end|>\\n' }}"
            + template("", "<|im_start|>{role}\\n", "<|vision_start|><|image_pad|><|vision_end|>", "<|im_end|>\\n",
                       "<|im_start|>assistant\\n<think>\\n"))
    tok = tokenizer(EDGE, None, "<|im_end|>", "<|im_end|>", chat, image_token="<|image_pad|>", video_token="<|video_pad|>",
                    vision_start_token="<|vision_start|>", vision_end_token="<|vision_end|>")
    tok.bos_token, tok.unk_token = "<s>", "<unk>"  # named by the tokenizer, written by neither it nor the template
    # The processor has no default of its own for mm_token_type_ids (which the model's M-RoPE index needs with images):
    # the checkpoint's tokenizer config asks for them, as transformers' processor tests read it.
    tok.init_kwargs["return_mm_token_type_ids"] = True
    config = Cosmos3EdgeConfig(
        text_config=small_text(
            rope_parameters={"rope_type": "default", "rope_theta": 1e8, "mrope_section": [2, 3, 3]},
            pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, patch_size=16,
                           num_patches=16, spatial_merge_size=2),
        projector_hidden_size=64, **qwen_vision_ids(tok),
    )
    image_processor = Cosmos3EdgeImageProcessorPil(size={"shortest_edge": 16 * 32 * 32, "longest_edge": 32 * 32 * 32})
    processor = image_only_if_needed(Cosmos3EdgeProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=chat,
        video_processor=video_processor("Cosmos3EdgeVideoProcessor"),
    )
    return Cosmos3EdgeForConditionalGeneration(config), processor


@family("cosmos3_omni")
def cosmos3_omni():
    """Cosmos3-Nano's reasoner (the understanding tower of the omni model; its generation, sound and action towers are
    dropped when it loads): Qwen3-VL's vision side (16 px patches merged 2 × 2, deepstack features added after the decoder's
    first layer) and decoder (M-RoPE over interleaved T/H/W frequencies). transformers gives it no processor class, so it is
    built with Qwen3VLProcessor, the processor of the Qwen3-VL checkpoints it derives from, and Qwen's specials. Guessed:
    the published template, taken as Qwen3-VL's (ChatML roles, no BOS, no default system turn, the image as
    <|vision_start|><|image_pad|><|vision_end|> where it sits in the message, the generation prompt <|im_start|>assistant
    and a newline)."""
    from transformers import Cosmos3OmniConfig, Cosmos3OmniForConditionalGeneration

    tok = tokenizer(QWEN_SPECIALS, None, "<|im_end|>", "<|endoftext|>", QWEN_TEMPLATE)
    config = Cosmos3OmniConfig(
        text_config=small_text(
            rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3], "mrope_interleaved": True},
            pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(QWEN3_5_VISION, deepstack_visual_indexes=[0]),
        **qwen_vision_ids(tok),
    )
    return Cosmos3OmniForConditionalGeneration(config), qwen3_processor(tok)
