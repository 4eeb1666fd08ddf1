"""A tiny checkpoint of Gemma 3n, whose vision tower is a timm model (see tests/families/zoo.py for the conventions).

Gemma 3n's vision tower is transformers' `TimmWrapperModel` around timm's MobileNetV5 encoder
(`Gemma3nVisionConfig.architecture = "mobilenetv5_300m_enc"`, built by `timm.create_model(architecture,
pretrained=False, num_classes=0, **model_args)`), so this module needs timm (and timm needs torchvision): it
runs in the torchvision venv only.
"""

from __future__ import annotations

from .kit import family, small_text, tokenizer

# Gemma 3n's specials in its id layout (google/gemma-3n-E4B-it): the text vocabulary ends at the vision embedder's
# offset (262144), where `<end_of_image>` and `<image_soft_token>` are its first two ids (262144, 262145); the audio
# embedder's range follows (`<end_of_audio>` 262272, `<audio_soft_token>` 262273). `<start_of_image>` (255999) and
# `<start_of_audio>` (256000) are ordinary text ids. Here each embedder's range holds just those two ids.
GEMMA3N_SPECIALS = (
    "<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<start_of_audio>",
    "<end_of_image>", "<image_soft_token>", "<end_of_audio>", "<audio_soft_token>",
)
# The published template (google/gemma-3n-*-it) for user turns without a system turn: BOS, `<start_of_turn>user\n`,
# each image as `<image_soft_token>` (audio as `<audio_soft_token>`), the text trimmed, `<end_of_turn>\n`; the
# generation prompt `<start_of_turn>model\n`. The processor expands each `<image_soft_token>` into
# "\n\n<start_of_image>" + image_seq_length × `<image_soft_token>` + "<end_of_image>\n\n".
GEMMA3N_TEMPLATE = (
    "{{ bos_token }}{%- for message in messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\\n' }}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'audio' -%}{{ '<audio_soft_token>' }}"
    "{%- elif item['type'] == 'image' -%}{{ '<image_soft_token>' }}"
    "{%- elif item['type'] == 'text' -%}{{ item['text'] | trim }}{%- endif -%}"
    "{%- endfor -%}{{ '<end_of_turn>\\n' }}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}"
)
# MobileNetV5 at tiny size, one block of each kind the 300M encoder stacks (timm block strings: er = edge residual,
# uir = universal inverted residual, mqa = multi-query attention, v2 = keys/values at stride 2), in its four stages
# (strides 4, 8, 16, 32 after the stride-2 stem); a stage cannot end in an attention block (timm reads a stage's
# width from its last block's pointwise convolution), so each attention block is followed by an FFN-like uir, as in
# the 300M encoder. The multi-scale fusion adapter joins the last two stages and pools
# them to MSFA_RESOLUTION²: the soft tokens per image. Its output width (2048) is fixed in timm's MobileNetV5Encoder.
MOBILENETV5_STAGES = (
    ("er_r1_k3_s2_e4_c8",),
    ("uir_r1_a3_k5_s2_e6_c8",),
    ("uir_r1_a5_k5_s2_e6_c16", "mqa_r1_k3_h2_v2_s1_d8_c16", "uir_r1_a0_k0_s1_e2_c16"),
    ("uir_r1_a5_k5_s2_e6_c16", "mqa_r1_k3_h2_s1_d8_c16", "uir_r1_a0_k0_s1_e2_c16"),
)
IMAGE_SIZE, MSFA_RESOLUTION, MSFA_WIDTH = 64, 4, 2048


def _mobilenetv5_args() -> dict:
    """timm's keyword arguments for the tiny encoder (`Gemma3nVisionConfig.model_args`): the decoded block arguments
    (plain JSON, so they survive save_pretrained) replace the 300M encoder's, which timm takes from its kwargs."""
    from timm.models._efficientnet_builder import decode_arch_def

    return dict(block_args=decode_arch_def([list(stage) for stage in MOBILENETV5_STAGES]), stem_size=8,
                msfa_output_resolution=MSFA_RESOLUTION)


@family("gemma3n")
def gemma3n():
    """Gemma 3n (E2B/E4B shape): a MobileNetV5 vision tower (timm), a USM-style conformer audio tower (unused here),
    and a decoder with per-layer input embeddings, AltUp (4 streams), LAuReL, activation sparsity in its first layers
    and KV sharing (the last 2 of its 4 layers read the keys of the last earlier layer of their type). As published:
    the template (BOS, turns, `<image_soft_token>` per image, text trimmed), the processor's expansion, the id layout
    (the end-of-image marker and the image token are the vision embedder's ids, embedded by its own table; the
    start-of-image marker is a text id). Guessed: the image processor's 64-px size (published: 768) with timm's mean 0
    / std 1, the stage widths and depths (one block per kind), 16 soft tokens per image (published: 256)."""
    from transformers import (
        Gemma3nAudioFeatureExtractor, Gemma3nConfig, Gemma3nForConditionalGeneration, Gemma3nProcessor, SiglipImageProcessorPil,
    )

    tok = tokenizer(
        GEMMA3N_SPECIALS, "<bos>", "<eos>", "<pad>", GEMMA3N_TEMPLATE,
        image_token="<image_soft_token>", boi_token="<start_of_image>", eoi_token="<end_of_image>",
        audio_token="<audio_soft_token>", boa_token="<start_of_audio>", eoa_token="<end_of_audio>",
    )
    ids = tok.convert_tokens_to_ids
    vision_offset, audio_offset = ids("<end_of_image>"), ids("<end_of_audio>")
    tokens = MSFA_RESOLUTION**2
    text = small_text(
        num_hidden_layers=4, layer_types=["sliding_attention", "full_attention"] * 2, num_kv_shared_layers=2, sliding_window=64,
        vocab_size=audio_offset + 2, vocab_size_per_layer_input=vision_offset, hidden_size_per_layer_input=8, laurel_rank=8,
        activation_sparsity_pattern=[0.95, 0.95, 0.0, 0.0],
        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )
    config = Gemma3nConfig(
        text_config=text,
        vision_config=dict(architecture="mobilenetv5_300m_enc", model_args=_mobilenetv5_args(), hidden_size=MSFA_WIDTH,
                           vocab_size=audio_offset - vision_offset, vocab_offset=vision_offset),
        audio_config=dict(
            input_feat_size=16, hidden_size=16, conf_num_attention_heads=2, conf_num_hidden_layers=1, sscp_conv_channel_size=(8, 8),
            conf_conv_kernel_size=3, conf_attention_chunk_size=4, conf_attention_context_left=5, vocab_size=2, vocab_offset=audio_offset,
        ),
        vision_soft_tokens_per_image=tokens, audio_soft_tokens_per_image=4,
        boi_token_id=ids("<start_of_image>"), eoi_token_id=vision_offset, image_token_id=ids("<image_soft_token>"),
        boa_token_id=ids("<start_of_audio>"), eoa_token_id=audio_offset, audio_token_id=ids("<audio_soft_token>"),
    )
    image_processor = SiglipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, image_mean=[0.0] * 3, image_std=[1.0] * 3)
    processor = Gemma3nProcessor(
        feature_extractor=Gemma3nAudioFeatureExtractor(feature_size=16), image_processor=image_processor, tokenizer=tok,
        chat_template=GEMMA3N_TEMPLATE, image_seq_length=tokens, audio_seq_length=4,
    )
    model = Gemma3nForConditionalGeneration(config)
    # timm builds its blocks from these dicts in place (adds layer classes, pops block_type): give the config fresh ones,
    # so that it saves as JSON and builds the same tower when loaded
    model.config.vision_config.model_args = _mobilenetv5_args()
    return model, processor
