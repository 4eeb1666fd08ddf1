"""Separability: held-out AUC of a linear probe, every unit weighing 1, image vs text and within real splits.

Question it answers: can a probe tell image keys from text keys of prompts it never saw, better
than it can tell apart the levels of a real sub-population split of one modality?

Estimator: a linear probe, linear discriminant analysis with Ledoit–Wolf shrinkage and equal priors
(closed form: a few ms a fold where a logistic regression on clustered keys took 0.3 s; scikit-learn's
estimator's figures, computed without its per-call validation: ``lda``), fitted on
folds of units (no unit on both sides), after the map into `space` (e.g. PCA-50) fitted once per
fold on the other folds' keys and shared by every comparison (one map per fold, not per comparison:
wide keys make the map the cost); each held-out fold is scored by its own model, and
the AUC counts pairs (positive key, negative key) of one held-out fold only, each key weighted
1 / (its unit's keys of its side), so every unit weighs 1 as in the between-prompt MMD² (a long
prompt does not dominate). A tie counts 1/2 (Mann–Whitney), so a probe that cannot tell the sides
apart reads 0.5, never 0; scores are compared to 1e-9 (log-odds units), so keys that are equal but
for rounding (the image keys of one image asked in two languages) tie at any BLAS thread count
instead of reading a noise direction. Folds are pooled pair-weighted. Sides are first subsampled to equal
numbers of units (seeded), so a split with few units on one level is not read at another size.
AUC in [0, 1], 0.5 = chance; a learning curve: its expectation rises with the number of prompts.

Interval: percentile over a unit bootstrap of the held-out scores (models kept as fitted: the
interval covers the sampling of units, not the refitting).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn import config_context

from ._validate import check_seed
from .lda import lda_scores
from .space import PCA_DIMS, WIDE_POWER_ITERATIONS, fit_dtype, space_steps, wide
from .wide_maps import wide_pca_maps


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
    random (seeded); when both sides hold the same units (image and text of one prompt) all are kept."""
    rng = np.random.default_rng(seed)
    ua, ub = np.unique(unit_a), np.unique(unit_b)
    if len(ua) == len(ub) == len(np.intersect1d(ua, ub)):
        return np.ones(len(unit_a), bool), np.ones(len(unit_b), bool)
    n = min(len(ua), len(ub))
    ka, kb = rng.choice(ua, n, replace=False), rng.choice(ub, n, replace=False)
    return np.isin(unit_a, ka), np.isin(unit_b, kb)


@dataclass(frozen=True)
class FoldMaps:
    """Every pooled key mapped once per fold, by the map fitted on the keys of the other folds' units."""

    fold: np.ndarray  # [N] fold of each pooled key (its unit's)
    z: tuple  # per fold: [N, k] all pooled keys in that fold's space


def fold_maps(z, unit: np.ndarray, *, folds: int = 5, space: str = "raw", seed: int = 0) -> FoldMaps:
    """z [N, d] pooled keys, unit [N] unit id per key: units dealt into `folds` seeded folds."""
    z = np.asarray(z)
    names, code = np.unique(np.asarray(unit), return_inverse=True)
    if len(names) < folds:
        raise ValueError(f"separability needs at least {folds} units for its folds, got {len(names)}")
    of_unit = np.empty(len(names), np.int64)
    of_unit[np.random.default_rng(seed).permutation(len(names))] = np.arange(len(names)) % folds
    fold = of_unit[code.ravel()]
    if not np.isfinite(z).all():
        raise ValueError("separability needs finite keys: drop the rows with nan or inf first (analysis.triple does)")
    if wide(space, z.shape[1]):
        return FoldMaps(fold, tuple(wide_pca_maps(z, fold, folds, PCA_DIMS, WIDE_POWER_ITERATIONS, check_seed(seed))))
    maps, zin = [], z.astype(fit_dtype(space, z.shape[1]), copy=False)
    # checked once above: scikit-learn would otherwise sum every fold's rows again at each fit and transform
    # to check them (about 0.2 s of a real-size triple's five maps); the fitted maps are the same
    with config_context(assume_finite=True):
        for f in range(folds):
            train = fold != f
            steps = space_steps(space, int(train.sum()), z.shape[1], seed)
            maps.append(_fit_then_map(steps, train, zin).astype(np.float64, copy=False) if steps else zin)
    return FoldMaps(fold, tuple(maps))


def _fit_then_map(steps: list, train: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Every row of z through `steps`, each fitted on the training rows as the previous steps map them: what
    make_pipeline(*steps).fit(z[train]).transform(z) gives, to the bit (an intermediate step's fit_transform of the
    training rows is its transform of them), with each intermediate step applied once to all rows instead of once
    to the training rows and again to all."""
    out = z
    for step in steps:
        step.fit(out[train])
        out = step.transform(out)
    return out


def heldout_auc_replicates(maps: FoldMaps, x_rows: np.ndarray, y_rows: np.ndarray, unit_col: np.ndarray,
                           m: np.ndarray) -> np.ndarray:
    """[R] unit-weighted held-out AUC of the pooled keys x_rows (positive) vs y_rows for each row of the
    unit multiplicities m [R, U]; unit_col [N]: each pooled key's column of m. nan when no fold holds
    both sides in training and in test."""
    rows = np.concatenate([x_rows, y_rows])
    label = np.r_[np.ones(len(x_rows), int), np.zeros(len(y_rows), int)]
    col = unit_col[rows]
    inv = np.empty(len(rows))
    for lab in (0, 1):  # each unit weighs 1 on each side, split over its keys
        c = np.bincount(col[label == lab], minlength=m.shape[1])
        inv[label == lab] = 1.0 / c[col[label == lab]]
    num, den = np.zeros(len(m)), np.zeros(len(m))
    for f, z in enumerate(maps.z):
        test = maps.fold[rows] == f
        train = ~test
        # a probe needs two keys of each side to train (one would be no class estimate, and LDA refuses n ≤ classes)
        if np.bincount(label[train], minlength=2).min() < 2 or len(np.unique(label[test])) < 2:
            continue
        s = lda_scores(z[rows[train]], label[train], z[rows[test]]).round(9)  # see the module doc
        fold_num, fold_den = weighted_auc_terms(s, label[test] == 1, m[:, col[test]] * inv[test][None, :])
        num, den = num + fold_num, den + fold_den
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_auc_terms(score: np.ndarray, positive: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Σ_{i pos, j neg} w_i w_j ([s_i > s_j] + ½ [s_i = s_j]), Σ_{i pos} w_i · Σ_{j neg} w_j) for scores [n],
    positive [n] bool and weights w [R, n] (one row per replicate); their ratio is the weighted AUC with
    a tie counting 1/2, as Mann–Whitney's and scikit-learn's ``roc_auc_score``."""
    order = np.argsort(score, kind="stable")
    s, pos, w = score[order], positive[order], w[:, order]
    below = np.cumsum(np.where(pos[None, :], 0.0, w), axis=1)  # [R, n] negative weight at or below each key
    first = np.searchsorted(s, s, side="left")  # index of each score's first tie
    last = np.searchsorted(s, s, side="right") - 1  # and of its last
    strictly = np.where(first[None, :] > 0, below[:, np.maximum(first - 1, 0)], 0.0)  # negatives below the tie block
    tied = below[:, last] - strictly  # negatives inside it
    return (w * np.where(pos[None, :], strictly + 0.5 * tied, 0.0)).sum(1), w[:, pos].sum(1) * w[:, ~pos].sum(1)


def separability(maps: FoldMaps, image_rows: np.ndarray, text_rows: np.ndarray, splits: dict[str, list[tuple[np.ndarray, np.ndarray]]],
                 *, unit_col: np.ndarray, m: np.ndarray, level: float = 0.90, seed: int = 0) -> Separability:
    """The tier from pooled keys mapped per fold (``fold_maps``): `image_rows`, `text_rows` index arrays;
    `splits`: name -> [(level-a rows, level-b rows)] per pair of levels; unit_col [N] each pooled key's
    column of the unit multiplicities m [1 + B, U] (data first)."""
    seed = check_seed(seed)
    cross = heldout_auc_replicates(maps, image_rows, text_rows, unit_col, m)
    alpha = (1.0 - level) / 2.0
    aucs, lows = {}, []
    for name, pairs in splits.items():
        runs = []
        for a, b in pairs:
            ka, kb = equal_units(unit_col[a], unit_col[b], seed)
            runs.append(heldout_auc_replicates(maps, a[ka], b[kb], unit_col, m))
        with warnings.catch_warnings():  # a replicate where no pair of levels is defined stays nan
            warnings.simplefilter("ignore", RuntimeWarning)
            e = np.nanmean(np.stack(runs), axis=0)
        aucs[name] = float(e[0])
        diff = (cross - e)[1:]
        diff = diff[np.isfinite(diff)]
        lows.append(float(np.quantile(diff, alpha)) if len(diff) else float("nan"))
    c = cross[1:][np.isfinite(cross[1:])]
    lo, hi = np.quantile(c, [alpha, 1 - alpha]) if len(c) else (np.nan, np.nan)
    finite = [v for v in aucs.values() if np.isfinite(v)]
    delta = float(cross[0] - max(finite)) if finite else float("nan")
    return Separability(float(cross[0]), float(lo), float(hi), aucs, delta, float(min(lows)) if lows else float("nan"), float(level))
