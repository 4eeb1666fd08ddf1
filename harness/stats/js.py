"""Jensen–Shannon divergence between two samples, in bits, and a linear-probe AUC — by prompt.

JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = ½(P + Q); in bits it lies in [0, 1]. It equals the
mutual information in bits between a point of the balanced mixture M and its label.

Every estimator takes ``groups`` (the prompt id of every row, shared by a prompt's image and text
tokens; merge prompts that reuse an image with folds.merge_sharing_rows) and never lets a model
or a neighbour see the prompt it scores: probes are fitted on grouped folds (no prompt on both
sides, folds.py) and held-out figures are computed fold by fold; kNN neighbours come from other
prompts only. Any map into a reduced space (``space="pca50"``) is fitted inside each fold on its
training prompts: a PCA fitted on every prompt takes the sample's own prompt offsets as its top
components and leaks them (0.63-0.82 bits on a clustered null). Without groups every row is its
own prompt (iid data). ``probe_figures`` can instead take the separability tier's fold maps of the
same rows (``separability.fold_maps``: folds of units, one map per fold), which a triple fits once
for every held-out figure. A reading describes the
marginal law of each modality over prompts; its uncertainty is over prompts, not tokens.

Estimators (bias against exact JS of Gaussian pairs: tests/stats/test_js_known.py; clustered
nulls: tests/stats/test_js_clustered.py; tables: docs/statistics-js.md):

- ``js_classifier`` ("classifier-crossfit-logreg-<features>"): the variational form
  JS = 1 + ½ E_P[log2 D] + ½ E_Q[log2(1 - D)], a LOWER bound for any D fixed before the points it
  scores, tight at D* = p / (p + q). D: a class-balanced logistic regression (standardized
  coordinates and, by default, their squares) through a Platt map fitted on the other folds'
  held-out scores. Bias on iid Gaussians, n = 2000 a side: within ± 0.01 at d = 5, 20 (sd ≤ 0.03),
  about −0.02 at d = 50; more where log(p/q) is not a diagonal quadratic, and much more when few
  prompts carry alike tokens (a 2-sd shift, truth 0.485, reads 0.17-0.35 with 40 clustered
  prompts). On a null (equal marginal laws) its expectation is ≤ 0 whatever the dependence between
  tokens; negative values are clipped to 0.
- ``js_knn`` ("knn-ross-k<k>-score" by default): Ross's kNN estimator of the mutual information
  between a continuous variable and a label (PLoS ONE 9:e87357, 2014), neighbours from other
  prompts only, on the 1-D held-out log-odds of the same probe within each held-out fold. The JS
  of the scores is a lower bound of JS(P, Q) (data processing). Bias on iid Gaussians: within
  ± 0.02 at d = 5, 20, 50; ≤ 0.03 on nulls. In the d-dimensional space itself (``on="full"``,
  kept to show why not) the points of the wider law have the narrower law's points as nearest
  neighbours when scales differ (distances concentrate), and the estimate collapses to 0 bits at
  d ≥ 20 for truths of 0.64-0.92 bits; no k fixes that.
- ``probe_auc``: held-out ROC AUC of a linear probe, per held-out fold, averaged (0.5 on a null).

A figure that cannot be estimated is NaN with a reason in ``JSResult.reason``: fewer prompts than
folds, or (kNN) more than 10 % of rows repeating a row of another prompt, as pre-RoPE layer-0 text
keys do (a function of the token id), where kNN distances are 0 and a density has no meaning.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.distance import cdist
from scipy.special import digamma
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from ._validate import check_seed
from .folds import MIN_UNIQUE_FRACTION, Rows, balanced, check_int, grouped_folds, rows, unique_reason, usable_splits
from .separability import FoldMaps
from .space import fit_dtype, space_steps

_LOGIT_CLIP = float(np.log(1e6 - 1))  # D clipped to [1e-6, 1 - 1e-6]: one confident mistake costs ≤ log2(1e6) ≈ 20 bits / n
FEATURES: tuple[str, ...] = ("linear", "quadratic")
KNN_ON: tuple[str, ...] = ("score", "full")
_CHUNK = 512  # rows of the distance matrix held at once in the kNN estimator


@dataclass(frozen=True)
class JSResult:
    bits: float  # JS divergence estimate in bits, in [0, 1]; NaN when it cannot be estimated (see reason)
    estimator: str  # e.g. "classifier-crossfit-logreg-quadratic" or "knn-ross-k5-score"
    n_x: int  # vectors of x used
    n_y: int  # vectors of y used
    n_groups: int = 0  # prompts the vectors came from (each row its own prompt when no groups were given)
    folds: int = 0  # held-out folds behind the figure (0: none)
    reason: str = ""  # "" when estimated; else why not ("n/a: too few unique keys ...", "n/a: too few prompts ...")


def _square_features(z: np.ndarray) -> np.ndarray:
    """[N, d] -> [N, 2d]: the standardized coordinates and their squares (a diagonal quadratic)."""
    return np.concatenate([z, z * z], axis=1)


def _probe(features: str, space: str = "raw", n_rows: int = 2, dim: int = 1, seed: int = 0):
    """Class-balanced logistic regression (its log-odds are those of the balanced mixture whatever
    the class counts of a training fold), after the map into `space` fitted on the same rows."""
    return make_pipeline(*_shared_steps(space, n_rows, dim, seed), *_head_steps(features))


def _shared_steps(space: str, n_rows: int, dim: int, seed: int) -> list:
    """The steps every probe starts with: the map into `space`, then standardization."""
    return [*space_steps(space, n_rows, dim, seed), StandardScaler()]


def _head_steps(features: str) -> list:
    """The steps after the shared ones: (squares, standardization,) logistic regression."""
    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
    logreg = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    if features == "linear":
        return [logreg]
    return [FunctionTransformer(_square_features), StandardScaler(), logreg]


Scored = list[tuple[np.ndarray, np.ndarray]]  # [(test rows, held-out log-odds of x)] per grouped fold


def _heldout(r: Rows, folds: int, seed: int, features: str, space: str) -> tuple[Scored, str]:
    """[(test rows, held-out log-odds of x)] per grouped fold, and '' — or ([], reason)."""
    _probe(features, space)  # checks the names before any fitting
    scored, reason = _fit_heldout(r, folds, seed, (features,), space)
    return scored.get(features, []), reason


def _fit_heldout(r: Rows, folds: int, seed: int, features: tuple[str, ...], space: str,
                 maps: FoldMaps | None = None) -> tuple[dict[str, Scored], str]:
    """({features: held-out log-odds per fold}, reason). On each fold the map into `space` and the
    standardization are fitted once on the training rows and shared by the probes of every feature
    set asked for (fit_transform as a pipeline would: the figures equal those of one pipeline per probe).
    Every fold is fitted with one BLAS thread; where torch may use more than one thread, that many
    folds at a time (the same figures: a fold's arithmetic does not depend on which thread runs it,
    while a BLAS reduction split over threads rounds differently). `maps`: the folds and per-fold maps of
    these very rows already fitted (``separability.fold_maps``, space `space`): used instead of grouped
    folds and a map of their own, so a triple fits its maps once for every held-out figure."""
    splits, reason = _map_folds(r, maps) if maps is not None else grouped_folds(r, folds, seed)

    def fit(split: tuple) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        train, test, *fold = split
        *steps, scaler = _shared_steps(space, len(train), r.z.shape[1], seed)
        if fold:  # the fold's map, fitted on its training units' keys: these training rows
            z_train, z_test = maps.z[fold[0]][train], maps.z[fold[0]][test]
        elif steps:
            zin = r.z.astype(fit_dtype(space, r.z.shape[1]), copy=False)  # float32 maps of wide keys (space.FLOAT32_FROM)
            mapped = make_pipeline(*steps)
            z_train, z_test = mapped.fit_transform(zin[train]), mapped.transform(zin[test])
        else:
            z_train, z_test = r.z[train], r.z[test]
        z_train = scaler.fit_transform(z_train.astype(np.float64, copy=False))
        z_test = scaler.transform(z_test.astype(np.float64, copy=False))
        return {f: (test, make_pipeline(*_head_steps(f)).fit(z_train, r.label[train]).decision_function(z_test)) for f in features}

    def fit_on_one_thread(split):
        with threadpool_limits(limits=1):  # OpenMP's thread count is per thread (scikit-learn's loss uses it)
            return fit(split)

    workers = min(len(splits), torch.get_num_threads())
    if workers > 1:
        # one BLAS and OpenMP thread per fold: several pools on the same cores only wait on each other
        with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=workers) as pool:
            fitted = list(pool.map(fit_on_one_thread, splits))
    else:
        fitted = [fit_on_one_thread(split) for split in splits]  # the arithmetic of the parallel path, bit for bit
    return {f: [d[f] for d in fitted] for f in features}, reason


def _map_folds(r: Rows, maps: FoldMaps) -> tuple[list[tuple[np.ndarray, np.ndarray, int]], str]:
    """(train, test, fold) per fold of `maps` whose held-out side holds both samples, and '' — or ([], reason)
    under grouped_folds' rules (folds.usable_splits). The maps' folds deal units, which keep a prompt's rows together."""
    return usable_splits(r.label, ((np.flatnonzero(maps.fold != f), np.flatnonzero(maps.fold == f), f) for f in range(len(maps.z))))


def _calibrate(r: Rows, scored: list[tuple[np.ndarray, np.ndarray]], i: int) -> np.ndarray:
    """Fold i's held-out log-odds through a Platt map (a·s + b, class-balanced) fitted on the OTHER
    folds' held-out log-odds. With few prompts a probe is over-confident on prompts it never saw
    (it learned the training prompts), and the log-loss bound pays for every confident mistake;
    the map learned on held-out scores shrinks that. It is fitted without fold i's rows."""
    others = [j for j in range(len(scored)) if j != i]
    if not others:
        return scored[i][1]
    s = np.concatenate([scored[j][1] for j in others])[:, None]
    lab = np.concatenate([r.label[scored[j][0]] for j in others])
    if len(np.unique(lab)) < 2:
        return scored[i][1]
    platt = LogisticRegression(C=1e4, class_weight="balanced").fit(np.clip(s, -_LOGIT_CLIP, _LOGIT_CLIP), lab)
    return platt.decision_function(np.clip(scored[i][1], -_LOGIT_CLIP, _LOGIT_CLIP)[:, None])


def _na(estimator: str, r: Rows, reason: str) -> JSResult:
    return JSResult(float("nan"), estimator, r.n_x, r.n_y, r.n_groups, 0, reason)


def js_classifier(x, y, *, groups=None, seed: int = 0, folds: int = 5, features: str = "quadratic", space: str = "raw") -> JSResult:
    """JS(x, y) in bits by the variational lower bound of a probe fitted on grouped folds (module doc).

    groups: None or (prompt ids of x's rows, prompt ids of y's rows). The bound is computed on each
    held-out fold (class means taken separately, so class counts do not matter) and averaged,
    weighted by the fold's rows. features: "quadratic" (default; coordinates and their squares,
    exact for Gaussians with diagonal covariances) or "linear" (blind to pure scale differences).
    """
    seed = check_seed(seed)
    r = rows(x, y, groups, min_rows=1)
    return _classifier_bits(r, *_heldout(r, folds, seed, features, space), features)


def _classifier_bits(r: Rows, scored: Scored, reason: str, features: str) -> JSResult:
    name = f"classifier-crossfit-logreg-{features}"
    if reason:
        return _na(name, r, reason)
    bits, weights = [], []
    for i, (test, s) in enumerate(scored):
        s = np.clip(_calibrate(r, scored, i), -_LOGIT_CLIP, _LOGIT_CLIP)
        lab = r.label[test] == 1
        # log2 D = -log2(1 + e^-s), log2(1 - D) = -log2(1 + e^s)
        b = 1.0 - 0.5 * np.mean(np.logaddexp(0.0, -s[lab])) / np.log(2) - 0.5 * np.mean(np.logaddexp(0.0, s[~lab])) / np.log(2)
        bits.append(b)
        weights.append(len(test))
    value = float(np.clip(np.average(bits, weights=weights), 0.0, 1.0))
    return JSResult(value, name, r.n_x, r.n_y, r.n_groups, len(scored))


def probe_figures(x, y, *, groups=None, seed: int = 0, folds: int = 5, k: int = 5, space: str = "raw",
                  maps: FoldMaps | None = None) -> tuple[JSResult, JSResult, float]:
    """(js_classifier, js_knn, probe_auc) at their defaults (quadratic features; kNN on the score),
    equal to the three calls, from one set of grouped folds: the rows are checked and converted once,
    and on each fold the map into `space` is fitted once and shared by the quadratic and the linear
    probe. Needs at least k + 1 rows a side (as js_knn does). `maps`: the folds and maps the separability
    tier fitted on these rows (x's, then y's), reused instead of grouped folds and maps of their own."""
    seed = check_seed(seed)
    k = check_int("k", k, 1)
    r = rows(x, y, groups, min_rows=k + 1)
    if maps is not None and len(maps.fold) != len(r.z):
        raise ValueError(f"maps must cover the {len(r.z)} rows (x's, then y's), got {len(maps.fold)}")
    if maps is not None and len(np.unique(np.stack([r.group, maps.fold], axis=1), axis=0)) != r.n_groups:
        maps = None  # its folds would part the rows of one group (prompts that share keys): grouped folds of their own
    fits, reason = _fit_heldout(r, folds, seed, FEATURES, space, maps)
    scored = fits["quadratic"]
    knn_reason = unique_reason(r, MIN_UNIQUE_FRACTION) or reason
    return (_classifier_bits(r, scored, reason, "quadratic"), _knn_score_bits(r, scored, knn_reason, k, seed),
            _auc(fits["linear"], reason, r))


def _ross_nats(z: np.ndarray, label: np.ndarray, group: np.ndarray, k: int) -> float:
    """Ross's kNN estimate (nats) of I(z; label) where each point sees only rows of OTHER groups:
    r = distance to its k-th other-group neighbour of its own class, m = 1 + other-group rows
    strictly within r; I = mean[ψ(N_i) − ψ(N_c,i) + ψ(k) − ψ(m)], N_i and N_c,i counting the point
    and the other-group rows (of its class). With one row per group this is Ross's estimator."""
    z = z.reshape(len(z), -1)
    terms = np.empty(len(z))
    for lo in range(0, len(z), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        dist = cdist(z[sl], z)  # [c, N]
        other = group[sl, None] != group[None, :]  # [c, N]
        same_class = label[sl, None] == label[None, :]
        dist[~other] = np.inf
        radius = np.partition(np.where(same_class, dist, np.inf), k - 1, axis=1)[:, k - 1]
        m = 1 + (dist < radius[:, None]).sum(axis=1)
        n_all = 1 + other.sum(axis=1)
        n_class = 1 + (other & same_class).sum(axis=1)
        terms[sl] = digamma(n_all) - digamma(n_class) + digamma(k) - digamma(m)
    return float(np.mean(terms))


def js_knn(x, y, *, groups=None, k: int = 5, seed: int = 0, folds: int = 5, on: str = "score", space: str = "raw") -> JSResult:
    """JS(x, y) in bits by Ross's kNN estimator with neighbours from other prompts only (module doc).

    on "score" (default): on each grouped held-out fold, the 1-D held-out log-odds of the
    quadratic probe (its map into `space` fitted on the training prompts), classes balanced by
    subsampling within the fold (seeded); fold figures averaged, weighted by rows. on "full": in the
    d-dimensional space of the rows as given, classes balanced once; biased to 0 under scale
    differences at d ≥ 20 (kept to show why the default projects first).
    NaN with a reason when more than 1 - MIN_UNIQUE_FRACTION of a sample's rows repeat a row of
    another prompt (kNN assumes no ties) or some row has fewer than k same-class rows elsewhere.
    """
    seed = check_seed(seed)
    k = check_int("k", k, 1)
    if on not in KNN_ON:
        raise ValueError(f"on must be one of {KNN_ON}, got {on!r}")
    r = rows(x, y, groups, min_rows=k + 1)
    name = f"knn-ross-k{k}-{on}"
    reason = unique_reason(r, MIN_UNIQUE_FRACTION)
    if reason:
        return _na(name, r, reason)
    if on == "full":
        b = balanced(r, seed)
        if not _enough_neighbours(b, k):
            return _na(name, r, f"n/a: too few prompts for kNN (fewer than k = {k} same-modality rows outside some prompt)")
        nats = _ross_nats(b.z, b.label, b.group, k)
        return JSResult(float(np.clip(nats / np.log(2), 0.0, 1.0)), name, b.n_x, b.n_y, b.n_groups, 0)
    return _knn_score_bits(r, *_heldout(r, folds, seed, "quadratic", space), k, seed)


def _knn_score_bits(r: Rows, scored: Scored, reason: str, k: int, seed: int) -> JSResult:
    """The score form of js_knn from the quadratic probe's held-out log-odds; `reason` already holds
    the duplicate-row check (it comes first, as in js_knn)."""
    name = f"knn-ross-k{k}-score"
    if reason:
        return _na(name, r, reason)
    nats, weights = [], []
    for i, (test, s) in enumerate(scored):
        fold = balanced(Rows(s[:, None], r.label[test], r.group[test]), seed + i)
        if _enough_neighbours(fold, k):
            nats.append(_ross_nats(fold.z, fold.label, fold.group, k))
            weights.append(len(fold.label))
    if not nats:
        return _na(name, r, f"n/a: too few prompts for kNN (fewer than k = {k} same-modality rows outside some prompt in every fold)")
    value = float(np.clip(np.average(nats, weights=weights) / np.log(2), 0.0, 1.0))
    return JSResult(value, name, r.n_x, r.n_y, r.n_groups, len(nats))


def _enough_neighbours(r: Rows, k: int) -> bool:
    """Every row has at least k rows of its class in other groups."""
    for c in (0, 1):
        g = r.group[r.label == c]
        _, counts = np.unique(g, return_counts=True)
        if len(g) - counts.max() < k:
            return False
    return True


def probe_auc(x, y, *, groups=None, seed: int = 0, folds: int = 5, space: str = "raw") -> float:
    """Held-out ROC AUC (in [0, 1]; 0.5 = chance) of a linear probe telling x (positive) from y.

    Class-balanced logistic regression on standardized features fitted on grouped folds; the AUC
    of each held-out fold (its own model's scores only, so folds with different class shares
    cannot leak the label) averaged with weights n_x·n_y of the fold. NaN when grouped folds are
    not possible (fewer prompts than folds). On equal distributions its expectation is 0.5.
    """
    seed = check_seed(seed)
    r = rows(x, y, groups, min_rows=1)
    return _auc(*_heldout(r, folds, seed, "linear", space), r)


def _auc(scored: Scored, reason: str, r: Rows) -> float:
    if reason:
        return float("nan")
    aucs, weights = [], []
    for test, s in scored:
        lab = r.label[test]
        aucs.append(roc_auc_score(lab, s))
        weights.append(lab.sum() * (len(lab) - lab.sum()))
    return float(np.average(aucs, weights=weights))
