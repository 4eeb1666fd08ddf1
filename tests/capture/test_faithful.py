"""Captured vectors are what the model computes: checked against recomputation outside the taps."""

from __future__ import annotations

import pytest
import torch

from harness.capture.keys import capture_keys
from harness.models.labels import IMAGE, PAD

LAYERS = [0, 2]


def _reference_inputs(loaded, samples):
    inputs, labels = loaded.adapter.encode(loaded, samples)
    with torch.inference_mode():
        out = loaded.model(**inputs, use_cache=False, output_hidden_states=True, output_attentions=True)
    return inputs, labels, out


@pytest.mark.parametrize("kind,proj", [("keys", "k_proj"), ("queries", "q_proj"), ("values", "v_proj")])
def test_projections_equal_the_projection_of_the_layer_input(twin, samples, kind, proj):
    """Pre-RoPE vectors == proj(input_layernorm(hidden state entering the layer)), the hidden state
    taken from output_hidden_states, i.e. computed without any tap."""
    bank = capture_keys(twin, samples, LAYERS, benchmark="t", batch_size=len(samples), kind=kind)
    _, labels, out = _reference_inputs(twin, samples)
    keep = labels != PAD
    for i in LAYERS:
        layer = twin.layers[i]
        with torch.inference_mode():
            expected = getattr(layer.self_attn, proj)(layer.input_layernorm(out.hidden_states[i]))[keep]
            wrong = getattr(layer.self_attn, proj)(layer.input_layernorm(out.hidden_states[i + 1]))[keep]
        assert torch.allclose(bank.layers[i].vectors, expected, atol=1e-5, rtol=0)
        assert not torch.allclose(bank.layers[i].vectors, wrong, atol=1e-3)  # the check can tell layers apart


def _probabilities(q: torch.Tensor, k: torch.Tensor, heads: int, kv_heads: int, scaling: float) -> torch.Tensor:
    """Causal softmax(q kᵀ · scaling) of one unpadded sequence; q [T, H*d], k [T, KV*d] → [H, T, T]."""
    t = q.shape[0]
    q = q.view(t, heads, -1).transpose(0, 1)  # [H, T, d]
    k = k.view(t, kv_heads, -1).transpose(0, 1).repeat_interleave(heads // kv_heads, dim=0)  # GQA: [H, T, d]
    scores = q @ k.transpose(1, 2) * scaling
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    return scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)


@pytest.mark.parametrize("key_kind,matches", [("rotated-keys", True), ("keys", False)])
def test_rotated_states_reproduce_eager_attention(eager_twin, samples, key_kind, matches):
    """Post-RoPE q and k give the model's own eager attention probabilities (padding and causal
    mask applied here); pre-RoPE keys do not, which shows the comparison can fail."""
    loaded = eager_twin
    queries = capture_keys(loaded, samples, LAYERS, benchmark="t", batch_size=len(samples), kind="rotated-queries")
    keys = capture_keys(loaded, samples, LAYERS, benchmark="t", batch_size=len(samples), kind=key_kind)
    _, labels, out = _reference_inputs(loaded, samples)
    config = loaded.model.config.get_text_config()
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    assert kv_heads < heads  # GQA: the attention function gets un-repeated KV heads
    for i in LAYERS:
        scaling = loaded.layers[i].self_attn.scaling
        for b in range(len(samples)):
            rows = queries.layers[i].sample == b
            mine = _probabilities(queries.layers[i].vectors[rows], keys.layers[i].vectors[rows], heads, kv_heads, scaling)
            real = (labels[b] != PAD).nonzero().squeeze(1)
            theirs = out.attentions[i][b][:, real][:, :, real]
            assert torch.allclose(mine, theirs, atol=1e-5, rtol=0) is matches


@pytest.mark.parametrize("kind", ["keys", "rotated-keys", "rotated-queries"])
def test_batched_equals_one_at_a_time(twin, samples, kind):
    batched = capture_keys(twin, samples, LAYERS, benchmark="t", batch_size=len(samples), kind=kind)
    single = capture_keys(twin, samples, LAYERS, benchmark="t", batch_size=1, kind=kind)
    for i in LAYERS:
        a, b = batched.layers[i], single.layers[i]
        assert torch.equal(a.modality, b.modality) and torch.equal(a.sample, b.sample) and torch.equal(a.position, b.position)
        assert torch.allclose(a.vectors, b.vectors, atol=1e-5, rtol=0)
    assert batched.kept == single.kept and sum(batched.dropped.values()) == 0


@pytest.mark.parametrize("kind", ["keys", "values", "rotated-keys", "rotated-queries"])
def test_early_exit_equals_full_forward(twin, samples, kind):
    early = capture_keys(twin, samples, LAYERS, benchmark="t", kind=kind)
    full = capture_keys(twin, samples, LAYERS, benchmark="t", kind=kind, early_exit=False)
    for i in LAYERS:
        assert torch.equal(early.layers[i].vectors, full.layers[i].vectors)


def _inserted_image_tokens(loaded, sample) -> int:
    """Image tokens the processor's own image processor implies for one sample, computed apart from the ids."""
    ip = loaded.processor.image_processor
    if hasattr(loaded.model.config, "image_grid_pinpoints"):  # LLaVA-NeXT: the features its vision path makes
        pixels = ip(images=list(sample.images), return_tensors="pt")
        with torch.no_grad():
            out = loaded.model.model.get_image_features(pixel_values=pixels["pixel_values"], image_sizes=pixels["image_sizes"])
        return sum(int(f.shape[0]) for f in out.pooler_output)  # one tensor per image
    if hasattr(ip, "merge_size"):  # Qwen-VL: one token per merge_size² patches of the resized grid
        grid = ip(images=list(sample.images), return_tensors="pt")["image_grid_thw"]
        return int(grid.prod(dim=1).sum()) // ip.merge_size**2
    side = loaded.processor.patch_size  # LLaVA: one token per patch of the cropped square, CLS dropped
    return len(sample.images) * (ip.crop_size["height"] // side) * (ip.crop_size["width"] // side)


def test_image_token_count_is_what_the_processor_inserted(twin, samples):
    bank = capture_keys(twin, samples, [0], benchmark="t", batch_size=len(samples))
    layer = bank.layers[0]
    for b, sample in enumerate(samples):
        n = int(((layer.sample == b) & (layer.modality == IMAGE)).sum())
        assert n == _inserted_image_tokens(twin, sample) > 0


def test_attention_interface_is_restored(twin, samples):
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    before = dict(ALL_ATTENTION_FUNCTIONS._local_mapping)
    capture_keys(twin, samples[:1], [1], benchmark="t", kind="rotated-keys")
    assert ALL_ATTENTION_FUNCTIONS._local_mapping == before
