"""Out of support: the share of held-out keys of one side that lie outside the support of another side's keys.

Question it answers (the claim's own, asymmetric form): do image keys lie where text keys never
are? Support of a reference side R, at level q: a key x is outside when its distance to the k-th
nearest R key of OTHER units exceeds τ, the q-quantile of the same score over held-out R keys
(a conformal bound calibrated on R). Everything is held out by unit:

1. units are dealt into `folds` seeded folds; a key's score is its distance to the k-th nearest R key
   in the other folds (so never a key of its own prompt);
2. the folds are split in two halves by parity; τ is fitted on the R keys of one half and the
   shares are read on the keys of the other half, then the halves swap;
3. a share weights units, not tokens: each unit weighs 1, split evenly over its keys of the side
   (as the between-prompt MMD² weights a unit's mean embedding).

``test_share``: share of the test side outside R's support; ``ref_share``: the same for held-out R
keys (≈ 1 − q by construction: the conformal check); ``excess`` = test_share − ref_share, 0 when the
two sides share a law (held-out keys of either side are then exchangeable for the score), up to
1 − (1 − q) = q. Intervals: percentile over a unit bootstrap in which τ is refitted on every replicate
(the calibration's own noise is in the interval); the folds and scores stay as drawn.

Dependence on the number of prompts: the k-NN radius shrinks as the reference grows, for calibration
and test keys alike; the excess of a fixed shift rises towards its population value as S grows (a
learning curve, not an unbiased estimate): docs/statistics.md gives it by simulation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ._validate import check_seed
from .bootstrap import with_data_row


@dataclass(frozen=True)
class SupportShare:
    test_share: float  # unit-weighted share of held-out test keys outside the reference's support, in [0, 1]
    ref_share: float  # the same for held-out reference keys (≈ 1 − q)
    excess: float  # test_share − ref_share; 0 on equal laws
    excess_low: float  # percentile bounds of excess over the unit bootstrap at `level`
    excess_high: float


@dataclass(frozen=True)
class SupportSetup:
    """What every comparison of one triple shares: distances, units, folds and the bootstrap draws."""

    dist: np.ndarray  # [N, N] pooled Euclidean distances between keys
    unit: np.ndarray  # [N] unit index 0..U-1 of each key
    fold: np.ndarray  # [U] fold of each unit
    m: np.ndarray  # [1 + B, U] unit multiplicities: the data, then the bootstrap replicates
    k: int  # neighbour order
    q: float  # support level (τ = q-quantile of held-out reference scores)


def setup(sq_dists, unit, *, k: int = 5, q: float = 0.95, folds: int = 5, n_boot: int = 200, seed: int = 0) -> SupportSetup:
    """sq_dists [N, N] pooled squared distances (numpy or torch; the gap's own product of the keys, in their
    dtype, where ``tiers.all_tiers`` shares it), unit [N] unit id of each key."""
    seed = check_seed(seed)
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q!r}")
    if folds < 2 or k < 1:
        raise ValueError(f"need folds >= 2 and k >= 1, got {folds}, {k}")
    d2 = sq_dists.detach().cpu().double().numpy() if isinstance(sq_dists, torch.Tensor) else np.asarray(sq_dists, float)
    names, code = np.unique(np.asarray(unit), return_inverse=True)
    if d2.shape != (len(code), len(code)):
        raise ValueError(f"sq_dists must be [N, N] for the N = {len(code)} keys, got {d2.shape}")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(names), np.int64)
    fold[rng.permutation(len(names))] = np.arange(len(names)) % folds
    dist = np.maximum(d2, 0.0)  # a new array (the caller's distances stay as they are), then rooted in place
    return SupportSetup(np.sqrt(dist, out=dist), code.ravel(), fold, with_data_row(len(names), int(n_boot), seed), k, q)


def _scores(s: SupportSetup, rows: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """[len(rows)] distance of each row to its k-th nearest ref key in another fold (inf: too few)."""
    d = s.dist[np.ix_(rows, ref)]  # [n, r]
    d[s.fold[s.unit[rows]][:, None] == s.fold[s.unit[ref]][None, :]] = np.inf
    if d.shape[1] < s.k:
        return np.full(len(rows), np.inf)
    return np.partition(d, s.k - 1, axis=1)[:, s.k - 1]


def _unit_weights(s: SupportSetup, rows: np.ndarray) -> np.ndarray:
    """[len(rows)] 1 / (keys of the row's unit among `rows`)."""
    counts = np.bincount(s.unit[rows], minlength=len(s.fold))
    return 1.0 / counts[s.unit[rows]]


def _quantiles(score: np.ndarray, weight: np.ndarray, m: np.ndarray, units: np.ndarray, q: float) -> np.ndarray:
    """[R] weighted q-quantile of `score` under weights weight·m[:, unit] for each replicate row of m."""
    order = np.argsort(score)
    w = weight[order][None, :] * m[:, units[order]]  # [R, n]
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1:]
    at = (cum < q * total).sum(axis=1)  # first index whose cumulative weight reaches q
    at = np.minimum(at, len(order) - 1)
    out = score[order][at]
    return np.where(total[:, 0] > 0, out, np.nan)


@dataclass(frozen=True)
class _Reference:
    """What a share needs of its reference keys alone: each half's τ replicates, and the reference's own
    outside-share sums read on the other half (the same whatever keys are tested against it)."""

    taus: tuple | None  # per half h: [R] τ fitted on half h; None when a half holds no reference unit
    sums: np.ndarray  # [2, R] reference keys outside, reference units held (both halves read)


def _reference(s: SupportSetup, ref: np.ndarray) -> _Reference:
    s_ref, w_ref = _scores(s, ref, ref), _unit_weights(s, ref)
    half_ref = s.fold[s.unit[ref]] % 2
    sums = np.zeros((2, len(s.m)))
    taus = []
    for h in (0, 1):
        cal = half_ref == h
        if not cal.any():
            return _Reference(None, sums)
        taus.append(_quantiles(s_ref[cal], w_ref[cal], s.m, s.unit[ref[cal]], s.q))  # [R] fitted on half h
        _add_outside(s, sums, taus[-1], s_ref, w_ref, ref, half_ref == 1 - h)
    return _Reference(tuple(taus), sums)


def _add_outside(s: SupportSetup, sums: np.ndarray, tau: np.ndarray, sc: np.ndarray, w: np.ndarray, rows: np.ndarray,
                 read: np.ndarray) -> None:
    """Add to sums [2, R] the keys `rows[read]` outside τ (unit-weighted) and the units they hold, per replicate."""
    outside = sc[read][None, :] > tau[:, None]  # [R, n]
    units = s.unit[rows[read]]
    spread = np.zeros((len(units), len(s.fold)))  # [n, U] each key's weight in its unit's share
    spread[np.arange(len(units)), units] = w[read]
    per_unit = outside @ spread  # [R, U] share of each unit's keys outside
    held = (np.bincount(units, minlength=len(s.fold)) > 0).astype(float)
    sums[0] += (s.m * per_unit).sum(1)
    sums[1] += s.m @ held


def share_replicates(s: SupportSetup, ref: np.ndarray, test: np.ndarray, *,
                     references: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(test_share [1 + B], ref_share [1 + B]) for reference keys `ref` and test keys `test` (index
    arrays into the pooled keys); nan where a half holds no reference or test unit. `references`: a dict
    kept across calls on one setup, so a reference set met again (a level of a split against each
    other level) reuses its scores, τ and own share instead of computing them again."""
    ref, test = np.asarray(ref), np.asarray(test)
    key = (ref.dtype.str, ref.tobytes())
    r = references.get(key) if references is not None else None
    if r is None:
        r = _reference(s, ref)
        if references is not None:
            references[key] = r
    if r.taus is None:
        return np.full(len(s.m), np.nan), np.full(len(s.m), np.nan)
    s_test, w_test = _scores(s, test, ref), _unit_weights(s, test)
    half_test = s.fold[s.unit[test]] % 2
    sums = np.zeros((2, len(s.m)))  # test outside, test units
    for h in (0, 1):
        _add_outside(s, sums, r.taus[h], s_test, w_test, test, half_test == 1 - h)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums[0] / sums[1], r.sums[0] / r.sums[1]


def summarize(test: np.ndarray, ref: np.ndarray, level: float) -> SupportShare:
    """SupportShare from replicates [1 + B] of the two shares (data first)."""
    excess = test - ref
    alpha = (1.0 - level) / 2.0
    finite = excess[1:][np.isfinite(excess[1:])]
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha]) if len(finite) else (np.nan, np.nan)
    return SupportShare(float(test[0]), float(ref[0]), float(excess[0]), float(lo), float(hi))


@dataclass(frozen=True)
class SupportTier:
    cross: SupportShare  # image keys (test) outside the support of text keys (reference)
    splits: dict  # real split name -> excess on the data (mean over ordered pairs of levels: level b outside level a)
    delta: float  # cross excess − largest split excess on the data
    delta_low: float  # min over splits of the lower percentile bound of (cross excess − split excess)
    level: float


def support_tier(s: SupportSetup, image: np.ndarray, text: np.ndarray, splits: dict[str, list[tuple[np.ndarray, np.ndarray]]],
                 *, level: float = 0.90) -> SupportTier:
    """The out-of-support tier: `image`, `text` index arrays of the pooled keys; `splits`: name ->
    [(level-a keys, level-b keys)] per pair of levels (each pair read in both directions). Every
    comparison uses the same folds and bootstrap draws, so the differences are paired; the bound of
    "cross exceeds every split" is the smallest per-split bound (an intersection of claims)."""
    test, ref = share_replicates(s, ref=text, test=image)
    cross = summarize(test, ref, level)
    alpha = (1.0 - level) / 2.0
    excess, lows = {}, []
    references: dict = {}  # each level of a split is the reference of every other level: worked out once
    for name, pairs in splits.items():
        runs = []
        for a, b in pairs:
            for r_, t_ in ((a, b), (b, a)):
                t_share, r_share = share_replicates(s, r_, t_, references=references)
                runs.append(t_share - r_share)
        with warnings.catch_warnings():  # a replicate where no pair of levels is defined stays nan
            warnings.simplefilter("ignore", RuntimeWarning)
            e = np.nanmean(np.stack(runs), axis=0) if runs else np.full(len(s.m), np.nan)
        excess[name] = float(e[0])
        diff = (test - ref - e)[1:]
        diff = diff[np.isfinite(diff)]
        lows.append(float(np.quantile(diff, alpha)) if len(diff) else float("nan"))
    finite = {k: v for k, v in excess.items() if np.isfinite(v)}
    delta = cross.excess - max(finite.values()) if finite else float("nan")
    return SupportTier(cross, excess, float(delta), float(min(lows)) if lows else float("nan"), float(level))
