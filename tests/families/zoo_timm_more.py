"""Tiny checkpoints of the families whose vision tower is a timm model (TimmWrapper): FastVLM and PerceptionLM (see
tests/families/zoo.py for the conventions).

timm builds each tower from the config's `architecture` and `model_args` (pretrained=False, so nothing is downloaded);
the published architecture is kept and `model_args` shrink it. Both are registered as torchvision families: timm is
installed only beside torchvision (CI's torchvision venv), and PerceptionLM's image processor is torchvision-only.
"""

from __future__ import annotations

from .kit import family, small_text, tokenizer

FAST_VLM = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>")
# FastVLM's chat template as transformers' conversion script (convert_fastvlm_weights_to_hf.py) writes it for the
# KamilaMila/FastVLM-* checkpoints: a default system turn, then per message its images as <image> and each text after "\n".
FAST_VLM_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n'}}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\\n' + content['text'] }}{% endfor %}"
    "{{'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@family("fast_vlm", torchvision=True)
def fast_vlm():
    """FastVLM: a FastViT-MCi3 (`fastvit_mci3`) tower, its final 3 × 3 conv's map flattened into tokens, a two-layer
    projector and a Qwen2 decoder. The tower keeps the published architecture, inference_mode (reparameterised
    blocks), the stem without its scale branch and a repmixer stage before an attention stage; shrunk to two stages of
    one block (8 and 32 channels, one 32-wide attention head), total stride 8 (published: five stages, stride 64) and
    no conditional positional encoding (timm's RepConditionalPosEnc is a callable, which config.json cannot hold). The
    processor is the published one, LlavaProcessor with a CLIPImageProcessor (no normalisation, mean 0 and std 1) and
    patch_size the tower's stride: a 32-px image is 4 × 4 = 16 <image> tokens. Template: the published one verbatim
    (FAST_VLM_TEMPLATE); no BOS (Qwen2's tokenizer has none)."""
    from transformers import CLIPImageProcessorPil, FastVlmConfig, FastVlmForConditionalGeneration, LlavaProcessor

    tok = tokenizer(FAST_VLM, None, "<|endoftext|>", "<|endoftext|>", FAST_VLM_TEMPLATE, image_token="<image>")
    config = FastVlmConfig(
        vision_config=dict(
            model_type="timm_wrapper", architecture="fastvit_mci3", do_pooling=True, global_pool="avg", hidden_size=64,
            model_args=dict(
                inference_mode=True, layers=[1, 1], embed_dims=[8, 32], mlp_ratios=[2, 2], se_downsamples=[False, False],
                downsamples=[False, True], pos_embs=[None, None], token_mixers=["repmixer", "attention"], lkc_use_act=True,
                stem_use_scale_branch=False,
            ),
        ),
        text_config={"model_type": "qwen2", **small_text(pad_token_id=tok.pad_token_id, bos_token_id=None, eos_token_id=tok.eos_token_id)},
        image_token_id=tok.convert_tokens_to_ids("<image>"), image_seq_length=16,
    )
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, image_mean=[0.0, 0.0, 0.0], image_std=[1.0, 1.0, 1.0],
    )
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=8, chat_template=FAST_VLM_TEMPLATE)
    return FastVlmForConditionalGeneration(config), processor


PERCEPTION_LM = ("<|begin_of_text|>", "<|end_of_text|>", "<|image|>", "<|video|>", "<|start_header_id|>", "<|end_header_id|>",
                 "<|eot_id|>")
# PerceptionLM's chat template as transformers' conversion script (convert_perception_lm_weights_to_hf.py) writes it:
# BOS, a default system turn, Llama 3 headers, each message's images as <|image|> before its text (trimmed).
PERCEPTION_LM_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "    {%- set system_message = messages[0]['content']|trim %}\n"
    "    {%- set messages = messages[1:] %}\n"
    "{%- else %}"
    "    {%- set system_message = 'You are a helpful language and vision assistant. You are able to understand the visual "
    "content that the user provides, and assist the user with a variety of tasks using natural language.' %}"
    "{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}"
    "{{- system_message }}"
    "{{- '<|eot_id|>' }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<|image|>' }}"
    "{%- endfor %}"
    "{%- for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<|video|>' }}"
    "{%- endfor %}"
    "{%- for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{- content['text'] | trim }}"
    "{%- endfor %}"
    "{{'<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)


@family("perception_lm", torchvision=True)
def perception_lm():
    """PerceptionLM (Perception-LM-1B): a Perception Encoder ViT (timm `vit_pe_core_large_patch14_336`: RoPE attention,
    a class token the model drops, no attention pooling), a two-layer projector with 2 × 2 average pooling and a Llama
    decoder. The tower keeps the published architecture and its conversion's model_args (global_pool "", a post-norm,
    layer scale, ref_feat_shape = the patch grid) at one block of width 32 (2 heads) on 56-px tiles of 14-px patches
    (published: 448-px tiles, width 1024, 23 blocks). The processor is the published PerceptionLMProcessor (patch_size 14,
    pooling_ratio 2) with its torchvision-only image processor in the published "thumb+tile" mode (mean and std 0.5; at
    most 4 tiles here, published 36): a square image over 56 px is a thumbnail and 2 × 2 tiles, 5 × 4 = 20 <|image|>
    tokens. Template: the published one verbatim (PERCEPTION_LM_TEMPLATE): BOS written by the template, a default system
    turn, Llama 3 headers, the image before the text."""
    from transformers import (
        PerceptionLMConfig, PerceptionLMForConditionalGeneration, PerceptionLMImageProcessor, PerceptionLMProcessor,
        PerceptionLMVideoProcessor,
    )

    tok = tokenizer(PERCEPTION_LM, "<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>", PERCEPTION_LM_TEMPLATE,
                    image_token="<|image|>", video_token="<|video|>")
    ids = tok.convert_tokens_to_ids
    text = {k: v for k, v in small_text().items() if k != "head_dim"}  # Llama: head_dim = hidden / heads = 16
    config = PerceptionLMConfig(
        vision_config=dict(
            model_type="timm_wrapper", architecture="vit_pe_core_large_patch14_336",
            model_args=dict(embed_dim=32, depth=1, num_heads=2, img_size=[56, 56], global_pool="", use_post_transformer_norm=True,
                            init_values=0.1, ref_feat_shape=[4, 4]),
        ),
        text_config={"model_type": "llama", **text, "pad_token_id": tok.pad_token_id, "bos_token_id": tok.bos_token_id,
                     "eos_token_id": tok.eos_token_id},
        vision_use_cls_token=True, projector_pooling_ratio=2, image_token_id=ids("<|image|>"), video_token_id=ids("<|video|>"),
    )
    tiles = dict(vision_input_type="thumb+tile", tile_size=56, max_num_tiles=4, size={"height": 56, "width": 56},
                 image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    processor = PerceptionLMProcessor(
        video_processor=PerceptionLMVideoProcessor(size={"height": 56, "width": 56}), image_processor=PerceptionLMImageProcessor(**tiles),
        tokenizer=tok, patch_size=14, pooling_ratio=2, chat_template=PERCEPTION_LM_TEMPLATE,
    )
    return PerceptionLMForConditionalGeneration(config), processor
