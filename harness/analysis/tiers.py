"""The tiers of one triple as the record stores them (``TripleResult.extra["tiers"]``), and the verdict word.

``stats.tiers.all_tiers`` computes them; this module only names and flattens them, so the report can
show every tier without knowing the estimators. Keys are the tiers' names, as docs/statistics.md
and the report use them; every figure keeps its interval over units.
"""

from __future__ import annotations

from harness.results.figures import RatioInterval
from harness.stats.bootstrap import CAP
from harness.stats.by_benchmark import BY_BENCHMARK
from harness.stats.gap import GapResult
from harness.stats.kernel_mean import KernelMeanTier
from harness.stats.tiers import ASSERTED, UNDECIDED_NO_SPLIT, Tiers

MIXTURE_NAME = "mixture: mean of RBF kernels at σ_med × {0.25, 0.5, 1, 2, 4}"


def tiers_record(t: Tiers) -> dict:
    """JSON-ready dict of every tier (floats, names); see the dataclasses in harness.stats for the meaning."""
    out = {
        "asserted": ASSERTED,
        "verdict": t.verdict,
        "paper form": {"mmd2": t.paper.mmd2, "mmd2_low": t.paper.mmd2_low, "mmd2_high": t.paper.mmd2_high,
                       "halves": dict(t.paper.halves), "ratio": t.paper.ratio, "low": t.paper.ratio_low,
                       "high": t.paper.ratio_high},
        "kernel mean": {"cross": t.kernel.cross, "cross_low": t.kernel.cross_low, "cross_high": t.kernel.cross_high,
                        "point": t.kernel.point, "estimable": t.kernel.estimable, "low": t.kernel.low,
                        "binding": t.kernel.binding,
                        "splits": {b.name: {"effect": b.effect, "point": b.point, "low": b.low, "high": b.high,
                                            "measured": b.measured} for b in t.kernel.splits},
                        "kernel": MIXTURE_NAME, "p_value": t.gap.p_value,
                        # each RBF of the mixture alone: readings beside the verdict, never it
                        "per σ": [{"scale": r.scale, "sigma": r.sigma, "cross": r.kernel.cross, "p_value": r.p_value,
                                   "point": r.kernel.point, "estimable": r.kernel.estimable, "low": r.kernel.low,
                                   "binding": r.kernel.binding, "outcome": r.outcome} for r in t.per_sigma]},
        "level": t.kernel.level,
    }
    if t.by_benchmark is not None:  # a reading beside the verdict (docs/statistics.md "Amendment 4"), never it
        k = t.by_benchmark.kernel
        out["kernel mean"]["by-benchmark bounded"] = {
            "outcome": t.by_benchmark.outcome, "point": k.point, "estimable": k.estimable, "low": k.low, "binding": k.binding,
            "splits": {b.name: {"effect": b.effect, "point": b.point, "low": b.low, "high": b.high, "measured": b.measured}
                       for b in k.splits if BY_BENCHMARK in b.name}}
    if t.separability is not None:
        s = t.separability
        out["separability"] = {"cross": s.cross, "cross_low": s.cross_low, "cross_high": s.cross_high,
                               "splits": dict(s.splits), "delta": s.delta, "delta_low": s.delta_low}
    if t.support is not None:
        s = t.support
        out["out of support"] = {"image_outside": s.cross.test_share, "text_outside": s.cross.ref_share,
                                 "excess": s.cross.excess, "excess_low": s.cross.excess_low,
                                 "excess_high": s.cross.excess_high, "splits": dict(s.splits), "delta": s.delta,
                                 "delta_low": s.delta_low}
    return out


def kernel_figures(kernel: KernelMeanTier, gap: GapResult) -> dict:
    """The record's `ratio` and `ratio_interval` (dimensionless): the kernel-mean tier's ratio M = min over
    real splits of cross / effect (`estimable` False when the split that sets it has no effect bounded
    above 0: M is then set by noise and the interval, not M, is the figure), its lower bound L = min of
    the splits' lower bounds (the verdict's) and upper bound min of the splits' upper bounds
    (Bonferroni), at CAP where unbounded. Without a real split: the gap's point ratio to its
    by-position split (a figure only) and no interval."""
    if not kernel.splits:
        return {"ratio": gap.interval.ratio, "interval": None}
    high = min(b.high for b in kernel.splits)
    saturated = "high" if high >= CAP else ""
    return {"ratio": kernel.point, "interval": RatioInterval(
        low=kernel.low, high=high, level=kernel.level, n_boot=kernel.n_boot,
        method="kernel-mean tier: normal Fieller bounds of cross / effect per real split from the unbiased "
               "U-statistic variance over units; low = min of the splits' lower bounds, high = min of their "
               "(Bonferroni) upper bounds",
        floored_fraction=0.0, saturated=saturated, cap=CAP,
        note="; ".join(n for n in (
            "upper bound unbounded: every split's effect is indistinguishable from 0 at its upper end" if saturated else "",
            "" if kernel.estimable else f"ratio not estimable: {kernel_setter(kernel)}'s effect is not bounded above 0, "
                                        "so the ratio is set by noise; read the interval") if n),
    ).to_dict()}


def kernel_setter(kernel: KernelMeanTier) -> str:
    """The split whose ratio sets the tier's M ("" when none)."""
    defined = [b for b in kernel.splits if b.point == b.point]
    return min(defined, key=lambda b: b.point).name if defined else ""


def split_bounds(b) -> str:
    """One split's bounds of cross / effect as the message shows them: an end at the cap is no
    measurement ("saturated": the split's effect is indistinguishable from 0 there), so it is named,
    not printed as 1000."""
    if b.low >= CAP:
        return f"{b.name} saturated (effect {b.effect:.3g}, indistinguishable from 0: cross / effect unbounded)"
    high = "saturated" if b.high >= CAP else f"{b.high:.3g}"
    return f"{b.name} [{b.low:.3g}, {high}]"


def verdict_message(verdict, kernel: KernelMeanTier, gap: GapResult, intra: dict, *, threshold: float, alpha: float) -> str:
    """One line saying why a triple does not pass: the tier, its outcome and the figures behind it."""
    parts = [f"{verdict.tier} tier: {verdict.outcome}"]
    if kernel.splits:
        ratio = f"{kernel.point:.3g}" if kernel.estimable else f"{kernel.point:.3g} (not estimable)"
        parts.append(f"ratio {ratio} ≥ {kernel.low:.3g} (binding {kernel.binding or 'none'}; every real split's "
                     f"lower bound must be ≥ {threshold:g}): " + ", ".join(split_bounds(b) for b in kernel.splits))
    parts.append(f"p {gap.p_value:.3g} over {gap.units} units (need < {alpha:g}); MMD² {gap.mmd2:.4g}; intra "
                 + ", ".join(f"{k} {v:.3g}" for k, v in intra.items()))
    if verdict.outcome == UNDECIDED_NO_SPLIT and any(BY_BENCHMARK in name for name in intra):
        parts.append("no real sub-population within the benchmark: by-benchmark effects alone (a point check) cannot make a pass")
    if not verdict.beats_benchmarks:
        missed = [f"{name} {v:.3g}" for name, v in intra.items() if BY_BENCHMARK in name and kernel.cross < threshold * v]
        parts.append(f"MMD² {kernel.cross:.4g} under {threshold:g} × {', '.join(missed)} (by-benchmark effects, on the point)")
    return "; ".join(parts)
