"""The full-size configs load into the real config classes and give the published parameter counts."""

from __future__ import annotations

import pytest
import torch

from harness.errors import KeyspaceError
from harness.perf.configs import build_model, load_config, parameter_count
from harness.perf.flops import attention_flops, forward_flops, matmul_params
from harness.perf.gpu import bf16_peak

# Published sizes: llava-hf/llava-1.5-7b-hf 7.06 B, Qwen/Qwen2.5-VL-7B-Instruct 8.29 B.
EXPECTED_B = {"llava-1.5-7b": 7.063, "qwen2.5-vl-7b": 8.292}


@pytest.fixture(scope="module", params=list(EXPECTED_B))
def meta_model(request):
    name = request.param
    return name, build_model(name, load_config(name), device="meta", dtype=torch.bfloat16)


def test_parameter_count_matches_the_checkpoint(meta_model):
    name, model = meta_model
    assert parameter_count(model) / 1e9 == pytest.approx(EXPECTED_B[name], abs=0.002)
    assert all(p.device.type == "meta" for p in model.parameters())  # nothing was allocated


def test_llava_architecture_numbers():
    c = load_config("llava-1.5-7b")
    t, v = c.text_config, c.vision_config
    assert type(c).__name__ == "LlavaConfig" and type(t).__name__ == "LlamaConfig"
    assert (t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads) == (4096, 32, 32, 32)
    assert (t.intermediate_size, t.vocab_size, t.rms_norm_eps, t.max_position_embeddings) == (11008, 32064, 1e-5, 4096)
    assert (v.hidden_size, v.num_hidden_layers, v.num_attention_heads, v.intermediate_size) == (1024, 24, 16, 4096)
    assert (v.image_size, v.patch_size, c.vision_feature_layer, c.vision_feature_select_strategy) == (336, 14, -2, "default")
    assert (c.image_token_id, c.projector_hidden_act) == (32000, "gelu")


def test_qwen_architecture_numbers():
    c = load_config("qwen2.5-vl-7b")
    t, v = c.get_text_config(), c.vision_config
    assert type(c).__name__ == "Qwen2_5_VLConfig"
    assert (t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads) == (3584, 28, 28, 4)
    assert (t.intermediate_size, t.vocab_size) == (18944, 152064)
    assert t.rope_parameters["rope_theta"] == 1e6 and t.rope_parameters["mrope_section"] == [16, 24, 24]
    assert (v.depth, v.hidden_size, v.out_hidden_size, v.patch_size, v.spatial_merge_size, v.window_size) == (32, 1280, 3584, 14, 2, 112)
    assert v.fullatt_block_indexes == [7, 15, 23, 31]
    assert (c.image_token_id, c.video_token_id, c.vision_start_token_id) == (151655, 151656, 151652)


def test_cut_config_keeps_widths_and_a_full_attention_block():
    c = load_config("qwen2.5-vl-7b", layers=2, vision_layers=3)
    assert c.get_text_config().num_hidden_layers == 2 and c.get_text_config().hidden_size == 3584
    assert c.vision_config.depth == 3 and c.vision_config.fullatt_block_indexes == [2]
    with pytest.raises(KeyspaceError, match="--layers 40"):
        load_config("llava-1.5-7b", layers=40)
    with pytest.raises(KeyspaceError, match="no full-size config"):
        load_config("llava-13b")


def test_decoder_flops_follow_the_per_token_rule(meta_model):
    """2 × matmul weights × tokens + attention: one decoder layer of LLaVA is 2 × 202.4 M per token."""
    name, model = meta_model
    t = model.config.get_text_config()
    layer = matmul_params(model.model.language_model.layers[0])
    kv = t.num_key_value_heads * t.hidden_size // t.num_attention_heads
    assert layer == 2 * t.hidden_size * t.hidden_size + 2 * t.hidden_size * kv + 3 * t.hidden_size * t.intermediate_size
    one = forward_flops(model, "llava" if name.startswith("llava") else "qwen2.5-vl", batch=1, length=600,
                        image_px=336 if name.startswith("llava") else 448, layers_run=1, lm_head=False)
    two = forward_flops(model, "llava" if name.startswith("llava") else "qwen2.5-vl", batch=2, length=600,
                        image_px=336 if name.startswith("llava") else 448, layers_run=3, lm_head=True)
    assert one.decoder == pytest.approx(2 * layer * 600 + attention_flops(600, 600, t.hidden_size))
    assert two.decoder == pytest.approx(6 * one.decoder) and two.vision == pytest.approx(2 * one.vision)
    assert one.lm_head == 0 and two.lm_head == pytest.approx(2 * 2 * 600 * t.hidden_size * t.vocab_size)


def test_bf16_peaks():
    assert bf16_peak("NVIDIA H100 80GB HBM3")[0] == pytest.approx(989.4e12)
    assert bf16_peak("NVIDIA H100 PCIe")[0] == pytest.approx(756e12)
    assert bf16_peak("NVIDIA A100-SXM4-80GB")[0] == pytest.approx(312e12)
    assert bf16_peak("Some Future GPU") is None
