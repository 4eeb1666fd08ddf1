"""The one verdict: the kernel-mean tier decides (docs/statistics.md, pre-registered); each condition
alone can fail it, no pass without a real sub-population, and the by-benchmark check is part of it."""

import pytest

from harness.analysis.triple import AnalysisSettings, analyze_layer
from harness.analysis.verdict import UNDECIDED_BY_BENCHMARK, UNDECIDED_NO_SPLIT, UNDECIDED_NOT_SIGNIFICANT, UNDECIDED_UNBOUNDED, decide
from harness.run.controls import synthetic_bank, synthetic_strata
from harness.stats.kernel_mean import KernelMeanTier, SplitBound


def _tier(*bounds, cross=0.5):
    splits = tuple(SplitBound(f"split{i}", 0.01, (lo + hi) / 2, lo, hi) for i, (lo, hi) in enumerate(bounds))
    low = min((b.low for b in splits), default=float("nan"))
    return KernelMeanTier(cross=cross, cross_low=cross / 2, cross_high=cross * 2, splits=splits,
                          point=min((b.point for b in splits), default=float("nan")), estimable=True, low=low,
                          binding=min(splits, key=lambda b: b.low).name if splits else "", level=0.9, n_boot=200, units=40)


def test_every_split_bounded_above_the_threshold_holds():
    v = decide(_tier((2.0, 50.0), (1.5, 9.0)), p_value=0.001, threshold=1.0, alpha=0.01)
    assert v.passed and v.outcome == "holds" and v.tier == "kernel mean" and v.significant and v.beats_benchmarks


@pytest.mark.parametrize("tier,p,outcome", [
    (_tier((2.0, 50.0), (1.5, 9.0)), 0.01, UNDECIDED_NOT_SIGNIFICANT),  # p must be under alpha, not equal to it
    (_tier((2.0, 50.0), (0.999, 9.0)), 0.001, UNDECIDED_UNBOUNDED),  # ONE split's lower bound under the threshold
    (_tier((2.0, 50.0), (0.1, 0.9)), 0.001, "absent"),  # one split's upper bound under it
    (_tier(cross=9.0), 1e-6, UNDECIDED_NO_SPLIT),  # however large the gap: no real split, no pass
])
def test_each_condition_alone_fails_the_verdict(tier, p, outcome):
    v = decide(tier, p_value=p, threshold=1.0, alpha=0.01)
    assert not v.passed and v.outcome == outcome and v.undecided == outcome.startswith("undecided")
    assert decide(tier, p_value=p, threshold=1.0, alpha=0.01) == v  # a pure function of its inputs


def test_a_by_benchmark_baseline_over_mmd2_over_threshold_fails_it():
    tier = _tier((3.0, 50.0), cross=0.5)
    assert decide(tier, p_value=0.001, threshold=2.0, alpha=0.01, by_benchmark={"text/by-benchmark": 0.25}).passed
    v = decide(tier, p_value=0.001, threshold=2.0, alpha=0.01, by_benchmark={"image/by-benchmark": 0.1, "text/by-benchmark": 0.26})
    # a point miss is no upper bound under the threshold: undecided (a skip), never "absent" nor a pass
    assert not v.passed and not v.beats_benchmarks and v.significant and v.outcome == UNDECIDED_BY_BENCHMARK and v.undecided
    low = decide(_tier((0.1, 0.5), cross=0.5), p_value=0.001, threshold=2.0, alpha=0.01, by_benchmark={"text/by-benchmark": 0.26})
    assert low.outcome == "absent"  # a bounded split under the threshold still reads absent


def test_a_triple_without_a_real_split_is_undecided_and_with_one_holds():
    """The synthetic shift (1 sd on every axis) is far beyond any split; without labels the triple is
    still undecided (the by-position split is a figure only), with a split of no effect it holds."""
    bank, settings = synthetic_bank(seed=0), AnalysisSettings(threshold=1.0, alpha=0.01, tsne_cap=0, permutations=200, n_boot=100)
    bare = analyze_layer(bank, 0, settings)
    assert bare.status == "undecided" and not bare.passed and bare.tiers.verdict == UNDECIDED_NO_SPLIT
    assert UNDECIDED_NO_SPLIT in bare.message and "kernel mean" in bare.message
    split = analyze_layer(bank, 0, settings, strata=synthetic_strata(bank))
    assert split.status == "passed" and split.passed and split.tiers.verdict == "holds"
    assert set(split.tiers.tiers) >= {"paper form", "separability", "out of support", "kernel mean"}
    assert split.extra["ratio_interval"]["low"] == split.tiers.tiers["kernel mean"]["low"] >= 1.0


def test_the_message_names_a_saturated_split_instead_of_printing_the_cap():
    # A split whose effect is 0 (image keys of one image in two prompt languages, where the image comes
    # first) has both ends at the cap: the message must not read as a measured ratio of 1000.
    from harness.analysis.tiers import verdict_message
    from harness.stats.bootstrap import CAP
    from types import SimpleNamespace
    tier = _tier((0.7, 1.4))
    zero = SplitBound("image/by-language", 0.0, CAP, CAP, CAP, False)
    open_top = SplitBound("text/by-category", 1e-4, 5.0, 2.0, CAP, False)
    tier = KernelMeanTier(**{**tier.__dict__, "splits": tier.splits + (zero, open_top)})
    gap = SimpleNamespace(p_value=0.001, units=36, mmd2=0.06)
    v = decide(tier, p_value=0.001, threshold=1.0, alpha=0.01)
    msg = verdict_message(v, tier, gap, {}, threshold=1.0, alpha=0.01)
    assert "1e+03" not in msg and "1000" not in msg
    assert "image/by-language saturated (effect 0, indistinguishable from 0" in msg
    assert "text/by-category [2, saturated]" in msg and "split0 [0.7, 1.4]" in msg
