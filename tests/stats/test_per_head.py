"""Per-head figures (harness.stats.per_head) against a known answer: a gap carried by one head only."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats import population as P
from harness.stats.gap import Side
from harness.stats.per_head import head_slices, per_head, per_head_record

KW = dict(threshold=1.0, alpha=0.01, permutations=200, n_boot=50, level=0.90, seed=0)


def _two_heads(shift: float, seed: int = 0) -> tuple[Side, Side]:
    """Head 0: image keys shifted by `shift` pooled sds off the text keys; head 1: the same population
    with no shift (image and text keys of one law, prompts clustered). Same units and labels on both."""
    a = P.sample(P.population(d=16, layout="shared-offset", shift=shift, category_sd=0.5), prompts=60, cap=600, seed=seed)
    b = P.sample(P.population(d=16, layout="shared-offset", shift=0.0, category_sd=0.5), prompts=60, cap=600, seed=seed)
    (ia, ta), (ib, tb) = a.sides(), b.sides()
    assert np.array_equal(ia.units, ib.units) and np.array_equal(ta.units, tb.units)
    return (Side(np.concatenate([ia.x, ib.x], axis=1), ia.units, ia.strata),
            Side(np.concatenate([ta.x, tb.x], axis=1), ta.units, ta.strata))


def test_a_gap_in_one_head_shows_in_that_head_only():
    image, text = _two_heads(shift=3.0)
    h0, h1 = per_head(image, text, 2, **KW)
    assert h0.verdict == "holds" and h0.ratio_low >= 1.0 and h0.mmd2_low > 0 and h0.p_value < 0.01
    assert h1.verdict != "holds" and h1.p_value > 0.01 and h1.mmd2_low < 0 < h1.mmd2_high
    assert h0.paper_ratio > h1.paper_ratio
    # the held-out tiers, by the pooled estimators on each head's slice: separable and outside the text
    # keys' support beyond every real split in head 0, at chance in head 1
    assert h0.splits == h1.splits > 0
    assert h0.auc > 0.9 and h0.auc_delta_low > 0 and h0.outside_delta_low > 0 and h0.image_outside > h0.text_outside
    assert abs(h1.auc - 0.5) < 0.1 and not h1.auc_delta_low > 0 and not h1.outside_delta_low > 0
    rec = per_head_record([h0, h1], 2, "keys", 8)
    assert rec["holds_at"] == rec["separable_at"] == rec["outside_at"] == [0]


def test_control_no_gap_in_either_head():
    image, text = _two_heads(shift=0.0)
    heads = per_head(image, text, 2, **KW)
    assert all(h.verdict != "holds" for h in heads)
    rec = per_head_record(heads, 2, "keys", 8)
    assert rec["holds_at"] == rec["separable_at"] == rec["outside_at"] == []


def test_head_slices_and_the_record_say_why_heads_were_not_computed():
    assert head_slices(8, 2) == [slice(0, 4), slice(4, 8)]
    with pytest.raises(ValueError, match="equal heads"):
        head_slices(9, 2)
    rec = per_head_record([], 32, "keys", 8)
    assert rec["by_head"] == [] and "32 heads of keys > --ks-per-head 8" in rec["note"]
    assert "one head" in per_head_record([], 1, "keys", 8)["note"]
    assert "per-head figures off" in per_head_record([], 2, "keys", 0)["note"]


def test_heads_without_a_real_split_record_no_bound_range():
    image, text = _two_heads(shift=3.0)
    image, text = image.only(()), text.only(())  # no labels: no real split, no bound
    rec = per_head_record(per_head(image, text, 2, **KW), 2, "keys", 8)
    assert rec["ratio_low_range"] is None and all(h["verdict"].startswith("undecided: no real") for h in rec["by_head"])
