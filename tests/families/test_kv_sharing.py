"""Decoders whose last layers read an earlier layer's keys instead of computing their own (Gemma 4 E2B/E4B,
Gemma 3n: `num_kv_shared_layers`): the run is planned over the layers that compute keys, and a sharing layer
asked for by index is a one-line error naming the layer whose keys it reads."""

from __future__ import annotations

import pytest

from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.errors import KeyspaceError
from harness.models.layers import attention_layers_of, default_words, kv_reuse_of, resolve_layers

from .kit import loaded_checkpoint
from .zoo_gemma import gemma4, gemma4_kv_shared


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return loaded_checkpoint(*gemma4_kv_shared(), tmp_path_factory.mktemp("gemma4_kv_shared"))


def test_the_pairs_are_transformers_own():
    """Each sharing layer reads the layer transformers stores for its type (Gemma4TextConfig.kv_sharing_modes)."""
    config = gemma4_kv_shared()[0].config.get_text_config()
    reuse = kv_reuse_of(config)
    assert reuse == {2: 0, 3: 1}
    modes = config.kv_sharing_modes
    for layer, source in reuse.items():
        assert modes[layer] == "reuse" and modes[source] == "store" and config.layer_types[layer] == config.layer_types[source]
    assert attention_layers_of(config) == [0, 1]
    assert kv_reuse_of(gemma4()[0].config.get_text_config()) == {}  # no sharing: every layer computes its keys


def test_the_plan_resolves_over_the_layers_with_keys():
    config = gemma4_kv_shared()[0].config.get_text_config()
    attention, reuse = attention_layers_of(config), kv_reuse_of(config)
    words = default_words(("first", "mid", "last"), 4, attention)
    assert resolve_layers(words, 4, model="m", attention=attention, reuse=reuse) == [0, 1]
    assert resolve_layers(["last"], 4, model="m", attention=attention, reuse=reuse) == [1]  # not layer 3
    with pytest.raises(KeyspaceError, match=r"^--ks-layers: layer 3 of m computes no keys of its own, it reads layer 1's") as info:
        resolve_layers(["3"], 4, model="m", attention=attention, reuse=reuse)
    assert "\n" not in str(info.value)


def test_the_loaded_model_agrees_and_refuses_a_sharing_layer(loaded):
    assert loaded.attention_layers == [0, 1] and loaded.kv_reuse == {2: 0, 3: 1}
    samples = get_benchmark("fixture")((), seed=0)[:4]
    with pytest.raises(KeyspaceError, match=r"^capture: layer 2 of .* reads layer 0's .*measure layer 0, whose keys they are$"):
        capture_keys(loaded, samples, [2], benchmark="fixture")
    bank = capture_keys(loaded, samples, [0, 1], benchmark="fixture")
    assert set(bank.layers) == {0, 1}



def test_the_intervention_study_past_a_shared_layer_runs_its_passes_in_full(loaded):
    """Layer 2 reads the keys layer 0 computed within the pass: a pass resumed at layer 1 would skip layer 0 and
    leave layer 2 without them (transformers' KeyError 'sliding_attention' on Gemma 3n), so such passes run in full."""
    from harness.intervention.prefix import Prefixes
    from harness.intervention.run import PairStudy, StudySettings

    prefix = Prefixes(1)
    with prefix.record(loaded, "batch"):
        pass
    assert prefix.shares_across and not prefix.resumable("batch", cached=False)
    samples = get_benchmark("world")((), seed=0)[:16]
    names = ("mean", "random", "text-mean")  # `moments` is an error here: 16 prompts' image keys span 64 of 512 dimensions
    study = PairStudy.start(loaded, samples, "world", StudySettings(names=names, n_boot=50, ratio_boot=20, permutations=50))
    records = [study.result(1, name) for name in names]
    assert [r.intervention for r in records] == list(names) and all(r.status in ("passed", "failed") for r in records)
