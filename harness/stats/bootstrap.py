"""Ratio cross-modal / strongest intra-modal effect, with a prompt-level (unit-level) bootstrap interval.

Every effect is a between-prompt MMD² (``between.Comparison``): the cross-modal one compares image
with text tokens; each intra-modal one compares two real sub-populations of one modality (by
language, by category, ...), a split with more than two levels giving the mean over its pairs of
levels. Ratio = cross / max(intra).

One estimator for the point and the interval: the point is the ratio on the data (every unit once),
and each replicate evaluates the same two statistics (cross, strongest intra) on unit multiplicities
drawn with replacement (units, not tokens: tokens of one prompt are dependent). Pairs between
copies of one unit are left out as pairs within it are, so a replicate is the data's own statistic on
the drawn units. Nothing is re-split at random, so the point is the statistic the replicates scatter
around.

Interval (Fieller's construction, with the bootstrap in place of a normal law): a ratio's
percentile interval breaks when the denominator's replicates reach 0 (an intra-modal effect whose
population value is ≈ 0), so the interval inverts a test of the contrast instead. With q(s) the (1 − level)/2
quantile of cross* − s · intra* over the replicates and s on the grid (±10^(k/100), |s| ≤ CAP, and 0),
the lower bound is the largest t ≥ 0 with q(s) ≥ 0 for every grid s in [0, t] (when q(0) < 0, the
cross-modal effect is not bounded above 0, and the bound is the largest negative s with q(s) ≥ 0);
the upper bound mirrors it with the upper quantile. "ratio ≥ t" is thus claimed at
one-sided (1 + level)/2 confidence exactly when the contrast's bound clears 0. Thresholds 1 and 10
are grid points; other values are resolved to one grid step (2.3 %).

Saturation: a bound at ±CAP means the data cannot bound the ratio there (the strongest intra-modal
effect is indistinguishable from 0, or the cross-modal one is); ``saturated`` names such ends (and
a point whose denominator is ≤ 0), and ``floored_fraction`` is the share of replicates whose
strongest intra-modal effect is ≤ 0, so a report says why instead of showing 1000 as a measurement.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .between import Comparison

CAP = 1000.0  # the largest |ratio| the interval resolves
GRID = np.r_[-np.logspace(3, -3, 601), 0.0, np.logspace(-3, 3, 601)]  # candidate bounds, ascending


@dataclass(frozen=True)
class RatioInterval:
    ratio: float  # cross-modal MMD²_bp / strongest intra-modal MMD²_bp on the data; dimensionless
    low: float  # lower percentile bound of the bootstrap ratio at ``level``
    high: float  # upper percentile bound of the bootstrap ratio at ``level``
    n_boot: int  # bootstrap replicates drawn (those with a finite ratio make the interval)
    level: float  # two-sided coverage of [low, high], e.g. 0.90
    method: str  # how the interval was made
    cross_mmd2: float = float("nan")  # the cross-modal between-prompt MMD², kernel units
    cross_low: float = float("nan")  # lower percentile bound of the cross-modal MMD² at ``level``
    cross_high: float = float("nan")  # upper percentile bound of the cross-modal MMD² at ``level``
    intra_mmd2: float = float("nan")  # the strongest intra-modal MMD² (the denominator before flooring)
    strongest: str = ""  # name of the strongest intra-modal effect on the data
    floored_fraction: float = float("nan")  # share of bootstrap replicates whose strongest intra-modal effect is ≤ 0
    saturated: str = ""  # "", or which of "point", "low", "high" sit at ±CAP (comma-separated)
    units: int = 0  # units (prompts, or prompts sharing an image) resampled


def unit_multiplicities(n_units: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[n_boot, n_units] counts of each unit in a resample of n_units units with replacement."""
    draws = rng.integers(0, n_units, (n_boot, n_units))
    return np.stack([np.bincount(d, minlength=n_units) for d in draws]).astype(np.float64)


def with_data_row(n_units: int, n_boot: int, seed: int) -> np.ndarray:
    """[1 + n_boot, n_units]: every unit once (the data), then `n_boot` seeded unit resamples."""
    return np.vstack([np.ones((1, n_units)), unit_multiplicities(n_units, int(n_boot), np.random.default_rng(seed))])


def intra_effects(intra: dict[str, list[Comparison]], m: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """name -> [R]: each split's mean over its pairs of levels (nan where no pair is defined)."""
    out = {}
    with warnings.catch_warnings():  # a pair of levels undefined in a replicate stays out of the mean
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, pairs in intra.items():
            out[name] = np.nanmean(np.stack([c.mmd2(m) for c in pairs]), axis=0)
    return out


def _strongest(effects: dict[str, np.ndarray], n: int) -> np.ndarray:
    stack = np.stack(list(effects.values())) if effects else np.full((1, n), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(stack, axis=0)  # nan when every split is undefined


def fieller_bounds(cross: np.ndarray, intra: np.ndarray, level: float) -> tuple[float, float]:
    """(low, high) of cross/intra from replicates [R] of both (see the module doc); ±CAP when unbounded."""
    ok = np.isfinite(cross) & np.isfinite(intra)
    if not ok.any():
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    contrast = cross[ok][None, :] - GRID[:, None] * intra[ok][None, :]  # [T, R]
    q_low, q_high = np.quantile(contrast, [alpha, 1.0 - alpha], axis=1)  # [T] each
    return walk_bounds(q_low, q_high)


def walk_bounds(q_low: np.ndarray, q_high: np.ndarray) -> tuple[float, float]:
    """(low, high) of a ratio from the lower and upper bounds [T] of the contrast cross − t·intra at each
    GRID value t (Fieller's inversion; see the module doc); ±CAP when unbounded."""
    zero = len(GRID) // 2  # GRID[zero] == 0
    if q_low[zero] >= 0:  # cross − 0·intra holds: walk up while the bound keeps holding
        fails = np.flatnonzero(q_low[zero:] < 0)
        low = GRID[-1] if not len(fails) else GRID[zero + fails[0] - 1]
    else:  # the cross-modal effect itself is not bounded above 0: walk down to the first t that holds
        holds = np.flatnonzero(q_low[:zero] >= 0)
        low = GRID[holds[-1]] if len(holds) else GRID[0]
    if q_high[zero] >= 0:  # ratio ≥ 0 still plausible: walk up to the first t that is ruled out
        out = np.flatnonzero(q_high[zero:] < 0)
        high = GRID[zero + out[0]] if len(out) else GRID[-1]
    else:  # even ratio 0 is ruled out from above: walk down while it stays ruled out
        plausible = np.flatnonzero(q_high[:zero] >= 0)
        high = GRID[plausible[-1] + 1] if len(plausible) else GRID[0]
    return float(low), float(high)


def ratio_interval(
    cross: Comparison, intra: dict[str, list[Comparison]], *, n_boot: int = 200, level: float = 0.90, seed: int = 0,
) -> tuple[RatioInterval, dict[str, float]]:
    """(interval, intra-modal effects on the data) for cross / max(intra), resampling units."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an int >= 1, got {n_boot!r}")
    n_units = len(cross.has_a)
    m = with_data_row(n_units, n_boot, seed)
    c = cross.mmd2(m)  # [1 + n_boot]: the data, then the replicates
    effects = intra_effects(intra, m)
    strongest = _strongest(effects, len(c))
    low, high = fieller_bounds(c[1:], strongest[1:], level)
    alpha = (1.0 - level) / 2.0
    finite_c = c[1:][np.isfinite(c[1:])]
    c_low, c_high = np.quantile(finite_c, [alpha, 1.0 - alpha]) if len(finite_c) else (np.nan, np.nan)
    i0 = strongest[0]
    ratio = float(np.clip(c[0] / i0, -CAP, CAP)) if i0 > 0 else float(np.copysign(CAP, c[0]) if np.isfinite(i0) else np.nan)
    at_cap = [name for name, v in (("point", ratio), ("low", low), ("high", high)) if abs(v) >= CAP]
    point = {name: float(v[0]) for name, v in effects.items()}
    defined = {k: v for k, v in point.items() if np.isfinite(v)}
    return RatioInterval(
        ratio=ratio, low=low, high=high, n_boot=int(n_boot), level=float(level),
        method="bootstrap over prompts (units) of cross − t·intra, inverted (Fieller); between-prompt MMD² from one kernel matrix",
        cross_mmd2=float(c[0]), cross_low=float(c_low), cross_high=float(c_high), intra_mmd2=float(i0),
        strongest=max(defined, key=defined.get) if defined else "",
        floored_fraction=float(np.mean(~(strongest[1:] > 0))), saturated=",".join(at_cap), units=n_units,
    ), point
