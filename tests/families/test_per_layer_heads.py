"""Decoders whose layers differ in head size and KV heads (Gemma 4: global layers with heads twice as wide
and, in the larger checkpoints, fewer KV heads whose keys are also the values): every layer's keys are
read, and cut into heads, by that layer's own layout, never by one value for the whole model."""

from __future__ import annotations

import pytest
import torch

from harness.analysis.selection import sample_strata
from harness.analysis.triple import AnalysisSettings, analyze_layer
from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.errors import KeyspaceError
from harness.models.taps import heads_of, layer_layout

from .kit import loaded_checkpoint
from .zoo_gemma import gemma4, gemma4_per_layer_kv


@pytest.fixture(scope="module")
def samples():
    return get_benchmark("fixture")((), seed=0)[:12]


@pytest.fixture(scope="module", params=["gemma4", "gemma4_per_layer_kv"])
def loaded(request, tmp_path_factory):
    build = {"gemma4": gemma4, "gemma4_per_layer_kv": gemma4_per_layer_kv}[request.param]
    return loaded_checkpoint(*build(), tmp_path_factory.mktemp(request.param))


def test_each_layer_has_its_own_layout(loaded):
    config = loaded.model.config.get_text_config()
    layouts = [layer_layout(loaded.adapter, layer, "keys", config) for layer in loaded.layers]
    sizes = [loaded.adapter.attention(layer).head_dim for layer in loaded.layers]
    assert [d for _, d in layouts] == sizes == [16, 32]  # the sliding layer's, then the global layer's wider heads
    for (heads, size), layer in zip(layouts, loaded.layers):
        assert heads * size == loaded.adapter.projection(layer, "k").out_features
    assert layer_layout(loaded.adapter, loaded.layers[1], "queries", config) == (config.num_attention_heads, 32)
    assert heads_of("keys", config) == min(h for h, _ in layouts)  # the heads every layer has (--ks-heads)


def test_heads_are_cut_by_each_layers_own_size(loaded, samples):
    bank = capture_keys(loaded, samples, [0, 1], benchmark="fixture")
    width = {i: bank.layers[i].vectors.shape[1] for i in (0, 1)}
    assert bank.layout(0)[1] == 16 and bank.layout(1)[1] == 32
    assert all(bank.layout(i)[0] * bank.layout(i)[1] == width[i] for i in (0, 1))
    view = bank.head(0)
    assert torch.equal(view.layers[0].vectors, bank.layers[0].vectors[:, :16])
    assert torch.equal(view.layers[1].vectors, bank.layers[1].vectors[:, :32])  # not the first 16 columns
    assert view.layout(1) == (1, 32)
    if bank.layout(1)[0] == 1:  # one KV head on the global layer: head 1 exists on the sliding layer only
        with pytest.raises(KeyspaceError, match="head 1 is outside 0..0 for captured keys at layer 1"):
            bank.head(1)
    else:
        assert torch.equal(bank.head(1).layers[1].vectors, bank.layers[1].vectors[:, 32:64])


def test_the_per_head_figures_use_the_layers_heads(loaded, samples):
    bank = capture_keys(loaded, samples, [1], benchmark="fixture")
    settings = AnalysisSettings(threshold=1.0, alpha=0.01, permutations=20, n_boot=20, tsne_cap=0)
    record = analyze_layer(bank, 1, settings, strata=sample_strata(samples))
    figures = record.extra["tiers"]["per head"]
    assert figures["heads"] == bank.layout(1)[0]
    assert len(figures["by_head"]) == (figures["heads"] if figures["heads"] > 1 else 0)


@pytest.mark.skipif(not __import__("harness.models.processors", fromlist=["x"]).torchvision_available(),
                    reason="step3p7: its image processor needs torchvision, which is not installed here")
def test_query_heads_are_each_layers_own(samples, tmp_path):
    """Step 3.7 gives its sliding layers other query heads than its full ones (a per-layer config, where reading
    num_attention_heads on the whole config is an error): the mechanism figures read each layer's own."""
    from harness.capture.mechanism import attention_states, mechanism_metrics
    from harness.models.taps import query_heads

    from .zoo import BUILDERS

    loaded = loaded_checkpoint(*BUILDERS["step3p7"](), tmp_path)
    config = loaded.model.config.get_text_config()
    heads = [query_heads(loaded.adapter.attention(layer), config) for layer in loaded.layers]
    assert heads == [4, 2]  # full attention, then sliding
    _, states = next(attention_states(loaded, samples[:2], [0, 1], batch_size=2))
    assert [states[i].query.shape[0] for i in (0, 1)] == heads
    assert states[0].query.shape[2] == states[0].key.shape[2] and states[1].query.shape[2] == states[1].key.shape[2]
    figures = mechanism_metrics(loaded, samples[:2], [0, 1], batch_size=2)
    assert set(figures) == {0, 1}
