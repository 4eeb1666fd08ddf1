"""The kernel-mean tier: cross-modal between-prompt MMD² against EVERY real intra-modal split.

Question it answers: does the law of image keys differ from the law of text keys by more than
`threshold` times the most different real sub-populations of one modality (categories, languages,
benchmarks)? Population figure: r* = MMD²(image, text) / max_s MMD²(split s) = min_s r_s.

Why not the ratio to the largest estimated split (``bootstrap.ratio_interval``): each split's
between-prompt MMD² is unbiased, but with few units per level its spread is several times its value
(2.6-27× at ≤ 100 prompts), and the maximum over splits of such estimates is set by the noise: the
ratio then grows with the number of prompts, and its bootstrap bound, which takes the maximum
inside every replicate too, sits far below the truth.

Here each split s is tested on its own: with the unit bootstrap of (cross, effect_s) (one set of
replicates for all splits), the Fieller bound L_s of r_s = cross / effect_s (``bootstrap.fieller_bounds``).
The tier's lower bound is L = min_s L_s: "r_s ≥ t for every s" is an intersection of claims, whose
test at level α rejects when every split's own test does (an intersection-union test: no multiplicity
correction, P(L > r*) ≤ P(L_s* > r_s*) ≤ α for the strongest split s*). "r* < t" needs only SOME
split's upper bound under t, a union of claims: those bounds are Bonferroni-adjusted. The point is the same
construction at the median: M = min_s M_s with M_s the t at which the bootstrap median of
cross − t·effect_s crosses 0 (median-unbiased for r_s when that contrast is symmetric).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .between import Comparison
from .bootstrap import fieller_bounds, intra_effects, with_data_row


@dataclass(frozen=True)
class SplitBound:
    name: str  # e.g. "image/by-category"
    effect: float  # between-prompt MMD² between the split's levels (mean over pairs of levels), kernel units
    point: float  # median-unbiased cross / effect (the 50 % Fieller bound); ±bootstrap.CAP when unbounded
    low: float  # one-sided (1 + level)/2 lower bound of cross / effect
    high: float  # upper bound of cross / effect, one-sided 1 − (1 − level)/(2 · splits) (Bonferroni: "below t
    # for SOME split" is a union of claims); CAP: unbounded


@dataclass(frozen=True)
class KernelMeanTier:
    cross: float  # between-prompt MMD² image vs text, kernel units
    cross_low: float  # percentile bounds of cross over the unit bootstrap at `level`
    cross_high: float
    splits: tuple[SplitBound, ...]  # every real split, in the order given
    point: float  # min over splits of SplitBound.point (nan: no split); dimensionless
    low: float  # min over splits of SplitBound.low: the tier's lower bound on cross / strongest split
    binding: str  # the split with the lowest bound ("" when none)
    level: float  # two-sided level of each split's interval (its lower end is one-sided (1 + level)/2)
    n_boot: int
    units: int  # units resampled


def _median_bound(cross: np.ndarray, effect: np.ndarray) -> float:
    """The t where the bootstrap median of cross − t·effect crosses 0 (``fieller_bounds`` at level → 0)."""
    return fieller_bounds(cross, effect, 1e-9)[0]


def kernel_mean_tier(cross: Comparison, splits: dict[str, list[Comparison]], *, n_boot: int = 200, level: float = 0.90,
                     seed: int = 0) -> KernelMeanTier:
    """The tier from the cross-modal Comparison and each real split's Comparisons (a split with several
    levels: one Comparison per pair of levels, averaged as ``bootstrap.intra_effects`` does).
    Units are resampled with replacement, `n_boot` times (seeded). See the module doc."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an int >= 1, got {n_boot!r}")
    units = len(cross.has_a)
    m = with_data_row(units, int(n_boot), seed)  # [1 + B, U]
    c = cross.mmd2(m)  # [1 + B]
    effects = intra_effects(splits, m)  # name -> [1 + B]
    bounds = []
    union_level = 1.0 - (1.0 - level) / max(len(effects), 1)
    for name, e in effects.items():
        low = fieller_bounds(c[1:], e[1:], level)[0]
        high = fieller_bounds(c[1:], e[1:], union_level)[1]
        bounds.append(SplitBound(name, float(e[0]), float(_median_bound(c[1:], e[1:])), low, high))
    alpha = (1.0 - level) / 2.0
    finite = c[1:][np.isfinite(c[1:])]
    c_low, c_high = np.quantile(finite, [alpha, 1.0 - alpha]) if len(finite) else (np.nan, np.nan)
    defined = [b for b in bounds if np.isfinite(b.low)]
    binding = min(defined, key=lambda b: b.low) if defined else None
    return KernelMeanTier(
        cross=float(c[0]), cross_low=float(c_low), cross_high=float(c_high), splits=tuple(bounds),
        point=float(min(b.point for b in defined)) if defined else float("nan"),
        low=float(binding.low) if binding else float("nan"), binding=binding.name if binding else "",
        level=float(level), n_boot=int(n_boot), units=units,
    )


def holds(tier: KernelMeanTier, threshold: float) -> bool:
    """The tier's claim at `threshold`: every real split's lower bound reaches it (False without a split)."""
    return bool(tier.splits) and bool(np.isfinite(tier.low)) and tier.low >= threshold

