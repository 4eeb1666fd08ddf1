"""The work of one layer's study, counted (harness.perf.passes), not timed: each prompt is encoded once,
and each condition is one pass over the prompts and one over their hinted forms (answers in words: one
more call per batch for the options, after the pass's KV cache); the keys are read on the pass without
intervention only, and the passes with an intervention at layer L start at L."""

from __future__ import annotations

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.intervention.continuation import option_groups, option_tails
from harness.intervention.fit import DEFAULT
from harness.intervention.passes import by_words
from harness.intervention.run import PairStudy, StudySettings
from harness.perf.passes import count_passes

from .conftest import load

LAYER = 1


@pytest.mark.parametrize("name, bench", [
    pytest.param("tiny-llava", "fixture", id="tiny-llava-fixture"),
    pytest.param("tiny-qwen2.5-vl", "world", id="tiny-qwen2.5-vl-world"),
])
def test_a_study_encodes_each_prompt_once_and_passes_once_per_condition(name, bench):
    loaded = load(name)
    samples = get_benchmark(bench)((), seed=0)[:12]
    settings = StudySettings(names=DEFAULT, n_boot=50, ratio_boot=20, permutations=50)
    with count_passes(loaded) as counted:
        study = PairStudy.start(loaded, samples, bench, settings)
        for intervention in DEFAULT:
            study.result(LAYER, intervention)
    batches = [b for enc in study.encoded for b in (*enc.held, *enc.asked)]
    assert counted.encodes == len(batches)  # the processor runs once per batch of the study, never again
    assert counted.encoded == len(samples) + sum(p is not None for p in study.probes) == 2 * len(samples)
    # answers in words: after each batch's pass, one call for its prompts' options (a tiny model's copies of
    # the cache fit in one), each option's tokens padded to the longest
    options = [[s.options if by_words(s) else [] for s in b.samples] for b in batches]
    groups = [[[t for i in g for t in option_tails(loaded, opts[i])] for g in option_groups(opts, 10**9)] for opts in options]
    tail_tokens = sum(len(g) * max(map(len, g)) for per in groups for g in per) * len(loaded.layers)
    assert bool(tail_tokens) == (bench == "world")
    conditions = 1 + len(DEFAULT)
    assert counted.calls == conditions * (len(batches) + sum(map(len, groups)))
    with count_passes(loaded) as one, torch.inference_mode():  # one plain pass over the same batches
        for b in batches:
            loaded.model(**b.inputs, use_cache=False)
    n = len(loaded.layers)  # the first LAYER layers run on the pass without intervention only
    assert counted.layer_tokens == one.layer_tokens + len(DEFAULT) * one.layer_tokens * (n - LAYER) // n + conditions * tail_tokens
