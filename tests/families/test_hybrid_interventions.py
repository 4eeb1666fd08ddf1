"""The intervention study on hybrid decoders (linear-attention or convolution layers beside self-attention:
Qwen3.5, LFM3-VL), whose cache holds states that are not keys and values: answers in words are chosen by
full passes once per option, and a layer's study runs through (its cached passes are not resumed from
kept entries)."""

from __future__ import annotations

import pytest

from harness.benchmarks import get_benchmark
from harness.intervention.continuation import full_scores
from harness.intervention.fit import DEFAULT
from harness.intervention.passes import encode_batches, run_pass
from harness.intervention.run import PairStudy, StudySettings

from .kit import loaded_checkpoint
from .zoo import BUILDERS


@pytest.fixture(scope="module", params=["qwen3_5", "lfm3_vl"])
def hybrid(request, tmp_path_factory):
    loaded = loaded_checkpoint(*BUILDERS[request.param](), tmp_path_factory.mktemp(request.param))
    assert loaded.attention_layers is not None  # a hybrid: some layers have no keys
    return loaded


@pytest.fixture(scope="module")
def words():
    everything = get_benchmark("world")((), seed=0)
    return [s for s in everything if s.language == "en"][:3] + [s for s in everything if s.language == "zh"][:2]


def test_answers_in_words_are_the_full_passes_choices(hybrid, words):
    """A linear-attention state runs on over a right-padded row's padding, so the prompt's cache cannot be
    continued as a KV cache can (scored that way, the options' log-probabilities moved by up to 0.04 nats
    here): each option is scored in a full pass instead."""
    batches = encode_batches(hybrid, words, batch_size=len(words))
    assert not bool(batches[0].inputs["attention_mask"].all())  # padded
    chosen = run_pass(hybrid, batches, hybrid.attention_layers[0], answers=True).chosen
    full = [full_scores(hybrid, s) for s in words]
    assert chosen.tolist() == [int(f.argmax()) for f in full]
    assert max(float(f.max() - f.min()) for f in full) > 0.0


def test_a_layers_study_runs_through(hybrid):
    samples = get_benchmark("world")((), seed=0)[:16]
    layer = hybrid.attention_layers[-1]
    study = PairStudy.start(hybrid, samples, "world", StudySettings(names=DEFAULT, n_boot=50, ratio_boot=20, permutations=50))
    records = [study.result(layer, name) for name in DEFAULT]
    assert [r.intervention for r in records] == list(DEFAULT) and all(r.layer == layer for r in records)
