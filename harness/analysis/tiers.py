"""The tiers of one triple as the record stores them (``TripleResult.extra["tiers"]``), and the verdict word.

``stats.tiers.all_tiers`` computes them; this module only names and flattens them, so the report can
show every tier without knowing the estimators. Keys are the tiers' names, as docs/statistics.md
and the report use them; every figure keeps its interval over units.
"""

from __future__ import annotations

from harness.stats.tiers import Tiers

ASSERTED = "kernel mean"  # the tier the verdict is decided by (docs/statistics.md, pre-registered)
ORDER = ("paper form", "separability", "out of support", "kernel mean")


def tiers_record(t: Tiers) -> dict:
    """JSON-ready dict of every tier (floats, names); see the dataclasses in harness.stats for the meaning."""
    out = {
        "asserted": ASSERTED,
        "verdict": t.verdict,
        "paper form": {"mmd2": t.paper.mmd2, "mmd2_low": t.paper.mmd2_low, "mmd2_high": t.paper.mmd2_high,
                       "halves": dict(t.paper.halves), "ratio": t.paper.ratio, "low": t.paper.ratio_low,
                       "high": t.paper.ratio_high},
        "kernel mean": {"cross": t.kernel.cross, "cross_low": t.kernel.cross_low, "cross_high": t.kernel.cross_high,
                        "point": t.kernel.point, "low": t.kernel.low, "binding": t.kernel.binding,
                        "splits": {b.name: {"effect": b.effect, "point": b.point, "low": b.low, "high": b.high}
                                   for b in t.kernel.splits},
                        "kernel": "mean of RBF kernels at σ_med × {0.25, 0.5, 1, 2, 4}", "p_value": t.gap.p_value},
        "level": t.kernel.level,
    }
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


def tier_claim(name: str, tier: dict) -> bool | None:
    """Whether a tier's own claim is met on its figures (None: no figure). Paper form: its ratio's
    lower bound > 1 (shown, never evidence); separability and out of support: cross exceeds every
    real split (lower bound of the difference > 0); kernel mean: the verdict holds."""
    if not tier:
        return None
    if name == "paper form":
        return tier["low"] > 1.0
    if name in ("separability", "out of support"):
        return bool(tier["splits"]) and tier["delta_low"] > 0.0
    return None
