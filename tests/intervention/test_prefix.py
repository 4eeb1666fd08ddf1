"""A pass with an intervention at layer L that starts at L from the states the pass without one recorded
reads what the full pass reads: the layer's keys, attention and answers, to the bit; with the KV cache
of the layers before L filled in, it scores answers in words as the full pass does."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.capture.keys import Collector, TokenCaps, layer_banks
from harness.intervention.apply import LabelBook, intervene
from harness.intervention.continuation import cached_scores
from harness.intervention.fit import fit_interventions
from harness.intervention.passes import encode_batches, run_pass
from harness.intervention.prefix import Prefixes
from harness.intervention.run import PairStudy, StudySettings
from harness.perf.passes import count_passes

from .conftest import TWINS, load

LAYER = 2


@pytest.fixture(scope="module", params=TWINS)
def words_twin(request):
    """A sharpened twin and six `world` prompts (answered with words)."""
    return load(request.param, sharpen=True), get_benchmark("world")((), seed=0)[:6]


def _recorded(loaded, samples, name: str):
    """(batches of 3, their label book, the states the pass without intervention recorded, the map `name`
    fitted on that pass's keys)."""
    batches = encode_batches(loaded, samples, batch_size=3)
    book = LabelBook()
    for b in batches:
        book.add_encoded(b.inputs, b.labels, [s.id for s in b.samples])
    prefix = Prefixes(LAYER)
    before = Collector([LAYER], TokenCaps(), 0, prompts=len(samples))
    run_pass(loaded, batches, LAYER, keys=before, attention=True, answers=True, prefix=prefix)
    heads = loaded.model.config.get_text_config().num_key_value_heads
    return batches, book, prefix, fit_interventions(layer_banks(before.finish())[LAYER], LAYER, heads, [name])[name]


@pytest.mark.parametrize("name", ["moments", "text-mean"])
def test_resuming_at_the_layer_reads_what_the_full_pass_reads(sharp_twin, prompts, name):
    batches, book, prefix, iv = _recorded(sharp_twin, prompts, name)
    read = {}
    with intervene(sharp_twin, book, [iv]):
        for resume in (False, True):
            keys = Collector([LAYER], TokenCaps(), 0, prompts=len(prompts))
            with count_passes(sharp_twin) as counted:
                got = run_pass(sharp_twin, batches, LAYER, keys=keys, attention=True, answers=True,
                               prefix=prefix if resume else None, resume=resume)
            read[resume] = got, layer_banks(keys.finish())[LAYER], counted.layer_tokens
    (full, full_keys, full_work), (resumed, resumed_keys, resumed_work) = read[False], read[True]
    np.testing.assert_array_equal(resumed.figures, full.figures)
    np.testing.assert_array_equal(resumed.chosen, full.chosen)
    assert torch.equal(resumed_keys.vectors, full_keys.vectors)
    n = len(sharp_twin.layers)
    assert resumed_work * n == full_work * (n - LAYER)  # the first LAYER layers did not run


def test_resuming_a_pass_that_keeps_its_cache_scores_the_words_as_the_full_pass(words_twin):
    loaded, samples = words_twin
    batches, book, prefix, iv = _recorded(loaded, samples, "moments")
    assert len(prefix.caches) == len(batches)
    scores = {}
    with intervene(loaded, book, [iv]), torch.inference_mode():
        for resume in (False, True):
            scores[resume] = []
            for b in batches:
                inputs = dict(b.inputs)
                with prefix.resume(loaded, b) if resume else contextlib.nullcontext():
                    out = loaded.model(**inputs, use_cache=True)
                if resume:
                    prefix.fill(b, out.past_key_values)
                scores[resume] += cached_scores(loaded, inputs, out.logits[:, -1], out.past_key_values,
                                                [s.options for s in b.samples])
    for full, resumed in zip(scores[False], scores[True]):
        assert torch.equal(full, resumed)


def test_a_layer_asked_for_again_after_another_gives_the_same_record():
    """A study keeps one layer's recorded states; a layer asked for again after another is passed in
    full, and its record is the one a study of that layer alone writes."""
    loaded = load("tiny-llava")
    samples = get_benchmark("fixture")((), seed=0)[:12]
    settings = StudySettings(names=("mean", "moments"), n_boot=50, ratio_boot=20, permutations=50)
    mixed = PairStudy.start(loaded, samples, "fixture", settings)
    mixed.result(1, "mean"), mixed.result(2, "mean")
    assert list(mixed._prefixes) == [2]
    again = mixed.result(1, "moments")
    alone = PairStudy.start(loaded, samples, "fixture", settings).result(1, "moments")
    def text(record):  # nan figures compare equal as text
        return json.dumps(asdict(replace(record, seconds={})), sort_keys=True)

    assert text(again) == text(alone)


def test_only_transformers_plain_dynamic_layers_are_continued_or_refilled():
    """A family's own cache layer may keep more than its keys and values (Unlimited-OCR's reference sliding window
    keeps its prefill apart: refilling it from kept keys raised IndexError), so only transformers' dynamic layers,
    full and sliding, count as plain; anything else is passed and scored in full."""
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    from harness.intervention.prefix import kv_layers

    class OwnLayer(DynamicSlidingWindowLayer):
        pass

    k = torch.zeros(1, 2, 3, 4)
    full, sliding, own = DynamicLayer(), DynamicSlidingWindowLayer(sliding_window=8), OwnLayer(sliding_window=8)
    for layer in (full, sliding, own):
        layer.update(k, k)
    assert kv_layers([full, sliding]) and not kv_layers([full, own]) and kv_layers([])
