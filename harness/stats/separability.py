"""Separability: held-out AUC of a linear probe, every unit weighing 1, image vs text and within real splits.

Question it answers: can a probe tell image keys from text keys of prompts it never saw, better
than it can tell apart the levels of a real sub-population split of one modality?

Estimator: a linear probe, linear discriminant analysis with Ledoit–Wolf shrinkage and equal priors
(closed form: a few ms a fold where a logistic regression on clustered keys took 0.3 s), fitted on
grouped folds (no unit on both sides: ``folds.grouped_folds``); each held-out fold is scored by its own model, and
the AUC counts pairs (positive key, negative key) of one held-out fold only, each key weighted
1 / (its unit's keys of its side), so every unit weighs 1 as in the between-prompt MMD² (a long
prompt does not dominate). Folds are pooled pair-weighted. Sides are first subsampled to equal
numbers of units (seeded), so a split with few units on one level is not read at another size.
AUC in [0, 1], 0.5 = chance; a learning curve: its expectation rises with the number of prompts.

Interval: percentile over a unit bootstrap of the held-out scores (models kept as fitted: the
interval covers the sampling of units, not the refitting).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from ._validate import check_seed
from .folds import Rows, grouped_folds


@dataclass(frozen=True)
class Separability:
    cross: float  # unit-weighted held-out AUC image vs text
    cross_low: float  # percentile bounds over the unit bootstrap at `level`
    cross_high: float
    splits: dict  # real split name -> unit-weighted held-out AUC between its levels (mean over pairs of levels)
    delta: float  # cross − largest split AUC
    delta_low: float  # min over splits of the lower bound of (cross − split AUC): the claim against every split
    level: float


def equal_units(unit_a: np.ndarray, unit_b: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(keep_a, keep_b) boolean masks: each side's keys of n = min(#units a, #units b) units drawn at
    random (seeded); units on both sides (image and text of one prompt) are kept or dropped together."""
    rng = np.random.default_rng(seed)
    ua, ub = np.unique(unit_a), np.unique(unit_b)
    n = min(len(ua), len(ub))
    shared = np.intersect1d(ua, ub)
    if len(shared) == len(ua) == len(ub):
        return np.ones(len(unit_a), bool), np.ones(len(unit_b), bool)
    ka, kb = rng.choice(ua, n, replace=False), rng.choice(ub, n, replace=False)
    return np.isin(unit_a, ka), np.isin(unit_b, kb)


def heldout_auc_replicates(x: np.ndarray, y: np.ndarray, unit_x: np.ndarray, unit_y: np.ndarray, m: np.ndarray,
                           column: dict, *, folds: int = 5, seed: int = 0) -> np.ndarray:
    """[R] unit-weighted held-out AUC of x [n, d] (positive) vs y [n', d] for each row of the unit
    multiplicities m [R, U]; `column`: unit id -> its column of m. nan when folds are impossible."""
    r = Rows(np.concatenate([x, y]).astype(np.float64), np.r_[np.ones(len(x), int), np.zeros(len(y), int)],
             np.unique(np.concatenate([unit_x, unit_y]), return_inverse=True)[1].ravel())
    units = np.concatenate([unit_x, unit_y])
    splits, reason = grouped_folds(r, folds, seed)
    if reason:
        return np.full(len(m), np.nan)
    col = np.array([column[u] for u in units])  # [N] column of each key's unit
    side_count = {}
    for lab in (0, 1):
        u, c = np.unique(units[r.label == lab], return_counts=True)
        side_count.update({(lab, uu): cc for uu, cc in zip(u, c)})
    inv = np.array([1.0 / side_count[(lab, u)] for lab, u in zip(r.label, units)])  # [N]
    num, den = np.zeros(len(m)), np.zeros(len(m))
    for train, test in splits:
        probe = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=[0.5, 0.5])
        s = probe.fit(r.z[train], r.label[train]).decision_function(r.z[test])
        fold_num, fold_den = weighted_auc_terms(s, r.label[test] == 1, m[:, col[test]] * inv[test][None, :])
        num, den = num + fold_num, den + fold_den
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def weighted_auc_terms(score: np.ndarray, positive: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Σ_{i pos, j neg, s_i > s_j} w_i w_j, Σ_{i pos} w_i · Σ_{j neg} w_j) for scores [n], positive [n]
    bool and weights w [R, n] (one row per replicate); their ratio is the weighted AUC (ties count 0)."""
    order = np.argsort(score, kind="stable")
    s, pos, w = score[order], positive[order], w[:, order]
    below = np.cumsum(np.where(pos[None, :], 0.0, w), axis=1)  # [R, n] negative weight at or below each key
    # a tie block's negatives must not count for the positives inside it: take the weight below the block
    first = np.searchsorted(s, s, side="left")  # index of each score's first tie
    strictly = np.where(first[None, :] > 0, below[:, np.maximum(first - 1, 0)], 0.0)
    return (w * np.where(pos[None, :], strictly, 0.0)).sum(1), w[:, pos].sum(1) * w[:, ~pos].sum(1)


def separability(image, text, image_units, text_units, splits: dict[str, list[tuple[tuple, tuple]]], *, m: np.ndarray,
                 unit_names: np.ndarray, folds: int = 5, level: float = 0.90, seed: int = 0) -> Separability:
    """image [n_i, d], text [n_t, d] with unit ids; `splits`: name -> [((keys a [n, d], units a), (keys b, units b))]
    per pair of levels; `m` [1 + B, U] unit multiplicities (data first) over `unit_names` [U]."""
    seed = check_seed(seed)
    column = {u: i for i, u in enumerate(unit_names)}
    cross = heldout_auc_replicates(np.asarray(image), np.asarray(text), np.asarray(image_units), np.asarray(text_units),
                                   m, column, folds=folds, seed=seed)
    alpha = (1.0 - level) / 2.0
    aucs, lows = {}, []
    for name, pairs in splits.items():
        runs = []
        for (xa, ua), (xb, ub) in pairs:
            ka, kb = equal_units(np.asarray(ua), np.asarray(ub), seed)
            runs.append(heldout_auc_replicates(np.asarray(xa)[ka], np.asarray(xb)[kb], np.asarray(ua)[ka], np.asarray(ub)[kb],
                                               m, column, folds=folds, seed=seed))
        with warnings.catch_warnings():  # a replicate where no pair of levels is defined stays nan
            warnings.simplefilter("ignore", RuntimeWarning)
            a = np.nanmean(np.stack(runs), axis=0)
        aucs[name] = float(a[0])
        diff = (cross - a)[1:]
        diff = diff[np.isfinite(diff)]
        lows.append(float(np.quantile(diff, alpha)) if len(diff) else float("nan"))
    c = cross[1:][np.isfinite(cross[1:])]
    lo, hi = np.quantile(c, [alpha, 1 - alpha]) if len(c) else (np.nan, np.nan)
    finite = [v for v in aucs.values() if np.isfinite(v)]
    delta = float(cross[0] - max(finite)) if finite else float("nan")
    return Separability(float(cross[0]), float(lo), float(hi), aucs, delta, float(min(lows)) if lows else float("nan"), float(level))
