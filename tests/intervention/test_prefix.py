"""A pass with an intervention at layer L that starts at L from the states the pass without one recorded
reads what the full pass reads: the layer's keys, attention and answers, to the bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.capture.keys import Collector, TokenCaps
from harness.intervention.apply import LabelBook, intervene
from harness.intervention.fit import fit_interventions
from harness.intervention.passes import encode_batches, run_pass
from harness.intervention.prefix import Prefixes
from harness.perf.passes import count_passes

LAYER = 2


@pytest.mark.parametrize("name", ["moments", "text-mean"])
def test_resuming_at_the_layer_reads_what_the_full_pass_reads(sharp_twin, prompts, name):
    batches = encode_batches(sharp_twin, prompts, batch_size=3)
    book = LabelBook()
    for b in batches:
        book.add_encoded(b.inputs, b.labels, [s.id for s in b.samples])
    prefix = Prefixes(LAYER)
    before = Collector([LAYER], TokenCaps(), 0)
    run_pass(sharp_twin, batches, LAYER, keys=before, attention=True, answers=True, prefix=prefix)
    heads = sharp_twin.model.config.get_text_config().num_key_value_heads
    iv = fit_interventions(before.finish()[0][LAYER], LAYER, heads, [name])[name]
    read = {}
    with intervene(sharp_twin, book, [iv]):
        for resume in (False, True):
            keys = Collector([LAYER], TokenCaps(), 0)
            with count_passes(sharp_twin) as counted:
                got = run_pass(sharp_twin, batches, LAYER, keys=keys, attention=True, answers=True,
                               prefix=prefix if resume else None, resume=resume)
            read[resume] = got, keys.finish()[0][LAYER], counted.layer_tokens
    (full, full_keys, full_work), (resumed, resumed_keys, resumed_work) = read[False], read[True]
    np.testing.assert_array_equal(resumed.figures, full.figures)
    np.testing.assert_array_equal(resumed.chosen, full.chosen)
    assert torch.equal(resumed_keys.vectors, full_keys.vectors)
    n = len(sharp_twin.layers)
    assert resumed_work * n == full_work * (n - LAYER)  # the first LAYER layers did not run
