"""The kernel-mean tier: cross-modal between-prompt MMD² against EVERY real intra-modal split.

Question it answers: does the law of image keys differ from the law of text keys by more than
`threshold` times the most different real sub-populations of one modality (categories, languages,
benchmarks)? Population figure: r* = MMD²(image, text) / max_s MMD²(split s) = min_s r_s.

Why not the ratio to the largest estimated split (``bootstrap.ratio_interval``): each split's
between-prompt MMD² is unbiased, but with few units per level its spread is several times its value
(2.6-27× at ≤ 100 prompts), and the maximum over splits of such estimates is set by the noise: the
ratio then grows with the number of prompts, and its bootstrap bound, which takes the maximum
inside every replicate too, sits far below the truth.

Here each split s is tested on its own (docs/statistics.md "Amendment 1"): the contrast
D_s(t) = cross − t·effect_s has the unbiased U-statistic variance V_s(t) over units (``ustat``: both
statistics linearised into pair kernels over the same units), and the normal Fieller bound L_s is the
largest t with D_s(t') ≥ z·√V_s(t') on the whole grid [0, t] (``bootstrap.walk_bounds``), z the
one-sided (1 + level)/2 quantile. The tier's lower bound is L = min_s L_s: "r_s ≥ t for every s" is an
intersection of claims, whose test at level α rejects when every split's own test does (an
intersection-union test: no multiplicity correction, P(L > r*) ≤ P(L_s* > r_s*) ≤ α for the strongest
split s*, attained when one split dominates, conservative when several are equal). "r* < t" needs
only SOME split's upper bound under t, a union of claims: those bounds are Bonferroni-adjusted. The
point is the same construction at z = 0: M_s = cross / effect_s on the data (grid-resolved), M = min_s
M_s; M is "estimable" only where the split that sets it has an effect bounded above 0 at `level`
(else M is set by noise: at few units the plug-in maximum of noisy split effects drifts with S).

Why not the bootstrap's spread: resampling units adds the degenerate term of a U-statistic about
twice more (its variance ×3), which dominates a split effect that is small beside its noise; the
bounds were valid but far from the truth (non-coverage 0 of 234 runs at nominal 5 %). The bootstrap
replicates still give the cross-modal MMD²'s percentile interval, and two older readings of L_s for
the simulation study (``readings``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from . import ustat
from .between import Comparison
from .bootstrap import CAP, GRID, fieller_bounds, intra_effects, walk_bounds, with_data_row


@dataclass(frozen=True)
class SplitBound:
    name: str  # e.g. "image/by-category"
    effect: float  # between-prompt MMD² between the split's levels (mean over pairs of levels), kernel units
    point: float  # cross / effect on the data (grid-resolved; ±bootstrap.CAP when effect ≤ 0)
    low: float  # one-sided (1 + level)/2 lower bound of cross / effect
    high: float  # upper bound of cross / effect, one-sided 1 − (1 − level)/(2 · splits) (Bonferroni: "below t
    # for SOME split" is a union of claims); CAP: unbounded
    measured: bool = True  # the effect's own lower bound at `level` is above 0 (else its ratio is set by noise)


@dataclass(frozen=True)
class KernelMeanTier:
    cross: float  # between-prompt MMD² image vs text, kernel units
    cross_low: float  # percentile bounds of cross over the unit bootstrap at `level`
    cross_high: float
    splits: tuple[SplitBound, ...]  # every real split, in the order given
    point: float  # min over splits of SplitBound.point (nan: no split); dimensionless
    estimable: bool  # the split that sets `point` is measured (SplitBound.measured); else `point` is noise
    low: float  # min over splits of SplitBound.low: the tier's lower bound on cross / strongest split
    binding: str  # the split with the lowest bound ("" when none)
    level: float  # two-sided level of each split's interval (its lower end is one-sided (1 + level)/2)
    n_boot: int
    units: int  # units resampled


def _contrast_sd(v: np.ndarray) -> np.ndarray:
    """[T] sd of cross − t·effect at every GRID t from v = [[V_cc, V_ce, V_ee], [Z_cc, Z_ce, Z_ee]]: the
    unbiased variance, floored at its second-order part 2ζ₂'(t)/(n(n − 1)) (never negative, and a
    variance is never below it), both quadratic in t."""
    quad = v[:, :1] - 2.0 * GRID * v[:, 1:2] + GRID**2 * v[:, 2:3]  # [2, T]
    return np.sqrt(np.maximum(np.maximum(quad[0], quad[1]), 0.0))


def _normal_bounds(c: float, e: float, sd: np.ndarray, z: float) -> tuple[float, float]:
    """(low, high) of c/e from the contrast c − t·e ± z·sd(t) over the GRID (``bootstrap.walk_bounds``)."""
    d = c - GRID * e
    return walk_bounds(d - z * sd, d + z * sd)


def _variances(a_c: np.ndarray, a_e: np.ndarray) -> np.ndarray:
    """[[V_cc, V_ce, V_ee], [Z_cc, Z_ce, Z_ee]]: unbiased (co)variances of the two statistics and the
    second-order parts Z = 2ζ₂'/(n(n − 1)) (``ustat``)."""
    n = a_c.shape[0]
    pairs = ((a_c, a_c), (a_c, a_e), (a_e, a_e))
    return np.array([[ustat.covariance(a, b) for a, b in pairs],
                     [2.0 * ustat.degenerate(a, b) / (n * (n - 1.0)) for a, b in pairs]])


def kernel_mean_tier(cross: Comparison, splits: dict[str, list[Comparison]], *, n_boot: int = 200, level: float = 0.90,
                     seed: int = 0, foreign: dict | None = None) -> KernelMeanTier:
    """The tier from the cross-modal Comparison and each real split's Comparisons (a split with several
    levels: one Comparison per pair of levels, averaged as ``bootstrap.intra_effects`` does).
    Bounds from the unbiased variance; the cross-modal MMD²'s interval from `n_boot` unit resamples
    (seeded). `foreign`: splits over other units than `cross`'s (``by_benchmark.BenchmarkSplits.splits``:
    name -> (the cross-modal Comparison over those units, [the split's Comparisons]), or None where the
    split cannot be formed: then it is unbounded and no claim holds); bounded as every split, after them.
    See the module doc."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an int >= 1, got {n_boot!r}")
    units = len(cross.has_a)
    m = with_data_row(units, int(n_boot), seed)  # [1 + B, U]
    c = cross.mmd2(m)  # [1 + B]
    effects = intra_effects(splits, m)  # name -> [1 + B]
    a_c = ustat.pair_kernel(cross)
    z_low = float(scipy.stats.norm.ppf((1.0 + level) / 2.0))
    foreign = foreign or {}
    z_high = float(scipy.stats.norm.ppf(1.0 - (1.0 - level) / (2.0 * max(len(effects) + len(foreign), 1))))  # Bonferroni
    # (name, effect on the data, the cross-modal pair kernel over the split's units, the split's Comparisons)
    work = [(name, float(e[0]), a_c, splits[name]) for name, e in effects.items()]
    for name, held in foreign.items():
        over, comparisons = held if held is not None else (None, None)
        work.append((name, float(intra_effects({name: comparisons})[name][0]) if held else float("nan"),
                     ustat.pair_kernel(over) if held else None, comparisons))
    bounds = []
    for name, e, a_cross, comparisons in work:
        a_e = ustat.split_kernel(comparisons) if comparisons else None
        if a_e is None or not (np.isfinite(e) and np.isfinite(a_e).all() and np.isfinite(c[0]) and np.isfinite(a_cross).all()):
            bounds.append(SplitBound(name, e, float("nan"), float("nan"), float("nan"), False))
            continue
        v = _variances(a_cross, a_e)
        sd = _contrast_sd(v)
        low = _normal_bounds(c[0], e, sd, z_low)[0]
        high = _normal_bounds(c[0], e, sd, z_high)[1]
        point = _normal_bounds(c[0], e, sd, 0.0)[0]
        measured = bool(e - z_low * np.sqrt(max(v[0, 2], v[1, 2], 0.0)) > 0)
        bounds.append(SplitBound(name, e, point, low, high, measured))
    alpha = (1.0 - level) / 2.0
    finite = c[1:][np.isfinite(c[1:])]
    c_low, c_high = np.quantile(finite, [alpha, 1.0 - alpha]) if len(finite) else (np.nan, np.nan)
    defined = [b for b in bounds if np.isfinite(b.low)]
    binding = min(defined, key=lambda b: b.low) if defined else None
    setter = min(defined, key=lambda b: b.point) if defined else None
    return KernelMeanTier(
        cross=float(c[0]), cross_low=float(c_low), cross_high=float(c_high), splits=tuple(bounds),
        point=float(setter.point) if setter else float("nan"), estimable=bool(setter and setter.measured),
        low=float(binding.low) if binding else float("nan"), binding=binding.name if binding else "",
        level=float(level), n_boot=int(n_boot), units=units,
    )


def readings(cross: Comparison, splits: dict[str, list[Comparison]], *, n_boot: int = 200, level: float = 0.90,
             seed: int = 0) -> dict[str, float]:
    """The tier's lower bound L by two older constructions, for the simulation study only (reported
    beside L, never a verdict): "bootstrap": Fieller on the unit bootstrap's percentiles (the bound
    before amendment 1); "rescaled": the same replicates, each contrast's deviations from its
    bootstrap mean rescaled to the unbiased variance (the bootstrap's shape, the right spread)."""
    m = with_data_row(len(cross.has_a), int(n_boot), seed)
    c = cross.mmd2(m)
    effects = intra_effects(splits, m)
    a_c = ustat.pair_kernel(cross)
    alpha = (1.0 - level) / 2.0
    boot, rescaled = [], []
    for name, e in effects.items():
        ok = np.isfinite(c[1:]) & np.isfinite(e[1:])
        a_e = ustat.split_kernel(splits[name])
        if not ok.any() or not np.isfinite(a_e).all() or not np.isfinite(e[0]):
            continue
        boot.append(fieller_bounds(c[1:], e[1:], level)[0])
        want = _contrast_sd(_variances(a_c, a_e))[:, None]
        contrast = c[1:][ok][None, :] - GRID[:, None] * e[1:][ok][None, :]  # [T, R]
        dev = contrast - contrast.mean(1, keepdims=True)
        scale = np.divide(want, dev.std(1, keepdims=True), out=np.zeros_like(want), where=dev.std(1, keepdims=True) > 0)
        d = (c[0] - GRID * e[0])[:, None] + dev * scale
        q_low, q_high = np.quantile(d, [alpha, 1.0 - alpha], axis=1)
        rescaled.append(walk_bounds(q_low, q_high)[0])
    return {"bootstrap": float(min(boot)) if boot else float("nan"),
            "rescaled": float(min(rescaled)) if rescaled else float("nan")}


HALVINGS = 10  # seeded halvings the cross-fitted point averages over (docs/statistics.md, amendment 2)


def crossfit_point(cross: Comparison, splits: dict[str, list[Comparison]], *, halvings: int = HALVINGS, seed: int = 0) -> float:
    """M_cf = cross / e_cf (docs/statistics.md "Amendment 2 to the kernel-mean tier"): e_cf is the mean over
    `halvings` seeded halvings of the units of ½(effect of the split chosen on half A, read on half B + the
    same with the halves swapped), a split chosen where its effect on that half is largest; each held-out
    term is a U-statistic on the other half's units, so it carries no selection. CAP where e_cf ≤ 0, 0
    where cross ≤ 0 (a decreasing function of e_cf: its median is cross / median(e_cf)); nan without a
    split defined on both halves of any halving."""
    units = len(cross.has_a)
    c = float(cross.mmd2()[0])
    if not splits or not np.isfinite(c):
        return float("nan")
    rng = np.random.default_rng([int(seed), 2])
    rows = []
    for _ in range(int(halvings)):
        a = np.zeros(units)
        a[rng.permutation(units)[: units // 2]] = 1.0
        rows += [a, 1.0 - a]
    m = np.stack(rows)  # [2H, U]: half A, half B of each halving
    effects = intra_effects(splits, m)  # name -> [2H]
    names = list(effects)
    e = np.stack([effects[n] for n in names])  # [splits, 2H]
    held = []
    for h in range(int(halvings)):
        terms = []
        for chose, read in ((2 * h, 2 * h + 1), (2 * h + 1, 2 * h)):
            ok = np.isfinite(e[:, chose]) & np.isfinite(e[:, read])
            if ok.any():
                s = np.flatnonzero(ok)[np.argmax(e[ok, chose])]
                terms.append(e[s, read])
        if terms:
            held.append(float(np.mean(terms)))
    if not held:
        return float("nan")
    e_cf = float(np.mean(held))
    if c <= 0:
        return 0.0
    return float(CAP) if e_cf <= 0 else float(min(c / e_cf, CAP))


def holds(tier: KernelMeanTier, threshold: float) -> bool:
    """The tier's claim at `threshold`: every real split's lower bound reaches it (False without a split, or
    where a split could not be bounded)."""
    return (bool(tier.splits) and all(np.isfinite(b.low) for b in tier.splits) and bool(np.isfinite(tier.low))
            and tier.low >= threshold)
