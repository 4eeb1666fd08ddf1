"""Held-out maps of wide keys into pca50, one per fold, without a standardized copy of the keys per fold.

What each map is: the one `space_steps("pca50", ...)` gives (a StandardScaler, then scikit-learn's PCA with its
randomized SVD: the same Gaussian draw from `seed`, `n_oversamples` 10, the same power iterations with LU
normalisation, the same orientation and sign convention), fitted on the keys of the other folds' units and
applied to every key. What differs is only where the arithmetic happens: scikit-learn's pipeline writes, per
fold, the standardized training keys, their centred copy and the standardized keys of every row (five
3,000 × 4,096 float32 copies and their sums on a real-size triple: about 0.7 s of its 1.6 s of maps, the
products themselves being the rest). Here the keys are centred once, sorted by fold so each fold's training
keys are two contiguous blocks, each fold's mean and variance come from per-fold sums (float64), and the
standardization and centring are folded into the products: (X − μ) / s · W is X · (W / s) − (μ / s) · W.
So the maps equal scikit-learn's to float32 rounding, not to the bit (tests/stats/test_wide_maps.py bounds
it: principal-angle cosines ≥ 1 − 1e-5 and mapped keys within 1e-3 of their spread), and every figure read
from them moves by rounding only (PERFORMANCE.md states the measured moves). scikit-learn's randomized SVD
does not take such an implicit operator through its public API, which is why its steps are written out here.

Used for keys at least `space.FLOAT32_FROM` wide (the float32 maps); narrower keys keep scikit-learn's
pipeline, so the default suite's records do not move.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from sklearn.utils.extmath import svd_flip

OVERSAMPLES = 10  # scikit-learn's PCA default n_oversamples


def wide_pca_maps(z: np.ndarray, fold: np.ndarray, folds: int, dims: int, n_iter: int, seed: int) -> list[np.ndarray]:
    """z [N, d] keys, fold [N] fold of each key -> per fold [N, k] float64, k = min(dims, training keys − 1, d)
    as `space.space_steps` sizes it: every key mapped by StandardScaler + PCA fitted on the keys outside that
    fold (see the module doc)."""
    z = np.asarray(z, dtype=np.float32)
    order = np.argsort(fold, kind="stable")
    bounds = np.searchsorted(fold[order], np.arange(folds + 1))
    x = z[order]  # [N, d] sorted by fold: a fold's training keys are x[:a] and x[b:]
    centre = x.mean(0, dtype=np.float64)
    x -= centre.astype(np.float32)  # one centring for all folds: the folds' own means are small beside it
    sums = np.empty((folds, 2, x.shape[1]))
    for f in range(folds):
        block = x[bounds[f]:bounds[f + 1]].astype(np.float64)
        sums[f] = block.sum(0), (block * block).sum(0)
    total = sums.sum(0)
    back = np.empty(len(order), np.int64)
    back[order] = np.arange(len(order))
    out = []
    for f in range(folds):
        a, b = int(bounds[f]), int(bounds[f + 1])
        n = len(x) - (b - a)
        mean = (total[0] - sums[f, 0]) / n  # of the centred training keys
        var = np.maximum((total[1] - sums[f, 1]) / n - mean * mean, 0.0)
        scale = _scale(var, mean + centre, n)
        rows = back[fold != f]  # the training keys in their given order, as rows of x
        rows -= (rows >= b) * (b - a)  # ... and of x without the fold's block
        vt = _components(x, a, b, rows, mean, scale, max(1, min(dims, n - 1, x.shape[1])), n_iter, seed)  # [k, d]
        w = (vt / scale.astype(np.float32)).T  # [d, k]
        mapped = x @ w - ((mean / scale) @ vt.T.astype(np.float64)).astype(np.float32)
        out.append(mapped[back].astype(np.float64))
    return out


def _scale(var: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """StandardScaler's scale_: the standard deviation, 1 where the feature is constant by its rule
    (variance within the two-pass algorithm's error bound, float64 eps)."""
    eps = np.finfo(np.float64).eps
    scale = np.sqrt(var)
    scale[var <= n * eps * var + (n * mean * eps) ** 2] = 1.0
    return scale


def _components(x: np.ndarray, a: int, b: int, rows: np.ndarray, mean: np.ndarray, scale: np.ndarray, k: int,
                n_iter: int, seed: int) -> np.ndarray:
    """PCA components_ [k, d] of A = (x outside [a, b) − mean) / scale with its rows in the order `rows` gives
    (row i of A is row rows[i] of x[:a] followed by x[b:]: the order scikit-learn would see them in, which
    its Gaussian draw over rows depends on when A is wide), by scikit-learn's randomized SVD steps (its
    `_randomized_svd` with PCA's arguments, then PCA's `svd_flip(u_based_decision=False)`)."""
    inv = (1.0 / scale).astype(np.float32)
    shift = (mean / scale).astype(np.float32)  # [d]
    head, tail = x[:a], x[b:]

    def a_mul(w):  # A @ w, w [d, r]
        ws = w * inv[:, None]
        return np.concatenate([head @ ws, tail @ ws])[rows] - shift @ w

    def at_mul(y):  # A.T @ y, y [n, r]
        blocks = np.empty_like(y)
        blocks[rows] = y
        return (head.T @ blocks[:a] + tail.T @ blocks[a:]) * inv[:, None] - shift[:, None] * y.sum(0)

    n_rows, n_cols = len(rows), x.shape[1]
    transpose = n_rows < n_cols  # scikit-learn's "auto": factor M = A.T when A is wide
    m_mul, mt_mul, m_cols = (at_mul, a_mul, n_rows) if transpose else (a_mul, at_mul, n_cols)
    q = np.random.RandomState(seed).normal(size=(m_cols, k + OVERSAMPLES)).astype(np.float32)
    for _ in range(n_iter):
        q = _normalise(m_mul(q), n_iter)
        q = _normalise(mt_mul(q), n_iter)
    q, _ = linalg.qr(m_mul(q), mode="economic", check_finite=False)
    uhat, s, vt = linalg.svd(mt_mul(q).T, full_matrices=False, lapack_driver="gesdd", check_finite=False)
    u = q @ uhat
    if transpose:
        u, vt = vt[:k].T, u[:, :k].T
    else:
        u, vt = u[:, :k], vt[:k]
    _, vt = svd_flip(u, vt, u_based_decision=False)
    return np.ascontiguousarray(vt, dtype=np.float32)


def _normalise(m: np.ndarray, n_iter: int) -> np.ndarray:
    """scikit-learn's "auto" power-iteration normaliser: LU (permuted L) beyond 2 iterations, none up to 2."""
    return linalg.lu(m, permute_l=True, check_finite=False)[0] if n_iter > 2 else m
