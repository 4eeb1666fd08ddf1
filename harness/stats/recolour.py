"""Per-head affine maps that move one population of key vectors onto another's first two moments.

A key vector of one token is [heads · head_dim], head-major (as k_proj writes it). Every map here
acts on each head's slice separately: y_h = A_h x_h + b_h, with A [heads, d, d] and b [heads, d].

- ``fit_mean``: A = I, b = μ_target − μ_source (a shift of the source mean onto the target mean).
- ``fit_moments``: whiten with the source covariance and recolour with the target covariance,
  A = C_t^{1/2} S_s^{-1/2}, b = μ_t − A μ_s (symmetric square roots, from eigendecompositions).
  S_s is the source's empirical covariance (1/N; eigenvalues under FLOOR × the largest are raised
  to it, so a singular one can be inverted; its rank at that floor is kept, ``AffineMap.source_rank``,
  since a source of rank under d cannot be given C_t by any linear map; a zero one maps to μ_t); C_t is the target's covariance, shrunk by Ledoit–Wolf (scikit-learn, the default) or
  empirical (``shrinkage="none"``). On the fitting data the mapped source then has mean μ_t
  exactly and covariance A S_s Aᵀ = C_t (to rounding, unless the floor was needed): the mapped
  keys' moments are the target's estimates. The target is shrunk, not the source, because text keys are
  the fewer (tens per prompt against hundreds of image tokens) and the target covariance is what
  the held-out keys receive; the source is only undone, and shrinking it would leave the fitting
  data's covariance ≠ C_t.
- ``random_shift``: A = I, b_h = a uniformly random unit direction × ‖b_h‖ of a given shift, per head.

Tokens of one prompt are dependent; the moments are still plain token averages (the mean and
covariance of the token population the intervention is meant to match), and Ledoit–Wolf's
shrinkage intensity assumes independent rows, so it shrinks less than an estimator that knew the
prompt structure would. Pure numerics: numpy and scikit-learn, float64 throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_seed

FLOOR = 1e-12  # smallest eigenvalue of the source covariance used in whitening, relative to its largest
SHRINKAGES = ("ledoit-wolf", "none")


@dataclass(frozen=True)
class AffineMap:
    """y_h = matrix[h] @ x_h + offset[h] for every head h of a [heads · d] vector."""

    matrix: np.ndarray  # [heads, d, d] float64
    offset: np.ndarray  # [heads, d] float64
    description: str = ""  # what the map does, in words
    # `fit_moments` only: per head, the rank of the source covariance it whitened (eigenvalues above FLOOR × the
    # largest); under head_dim, no linear map gives the source the target's covariance (the floor was needed)
    source_rank: tuple[int, ...] = ()

    @property
    def heads(self) -> int:
        return self.matrix.shape[0]

    @property
    def head_dim(self) -> int:
        return self.matrix.shape[1]

    def apply(self, x: np.ndarray) -> np.ndarray:
        """x [N, heads · d] -> [N, heads · d] float64."""
        x = _per_head(x, self.heads)  # [N, H, d]
        y = np.einsum("hij,nhj->nhi", self.matrix, x) + self.offset[None]
        return y.reshape(len(x), -1)

    def shift_norms(self) -> np.ndarray:
        """‖offset_h‖ per head [heads] (for a pure shift: how far each head's keys move)."""
        return np.linalg.norm(self.offset, axis=1)


def _per_head(x, heads: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] % heads:
        raise ValueError(f"vectors must be [N, heads · head_dim] with {heads} heads, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("vectors must be finite; found nan or inf")
    return x.reshape(len(x), heads, -1)


def _check_heads(heads: int) -> int:
    if isinstance(heads, bool) or not isinstance(heads, (int, np.integer)) or heads < 1:
        raise ValueError(f"heads must be an int >= 1, got {heads!r}")
    return int(heads)


def identity(heads: int, head_dim: int) -> AffineMap:
    heads = _check_heads(heads)
    return AffineMap(np.tile(np.eye(head_dim), (heads, 1, 1)), np.zeros((heads, head_dim)), "identity")


def fit_mean(source, target, heads: int) -> AffineMap:
    """Shift each head of `source` [N_s, heads · d] by mean(target) − mean(source)."""
    s, t = _pair(source, target, heads, min_rows=1)
    shift = t.mean(0) - s.mean(0)  # [H, d]
    d = s.shape[2]
    return AffineMap(np.tile(np.eye(d), (s.shape[1], 1, 1)), shift, "shift by the difference of the means")


def covariance(x: np.ndarray, shrinkage: str) -> np.ndarray:
    """Covariance [d, d] of rows x [N, d]: empirical (1/N) or Ledoit–Wolf shrunk towards a scaled identity."""
    if shrinkage == "none":
        c = x - x.mean(0)
        return c.T @ c / len(x)
    if shrinkage == "ledoit-wolf":
        from sklearn.covariance import LedoitWolf

        return LedoitWolf(assume_centered=False).fit(x).covariance_
    raise ValueError(f"shrinkage must be one of {', '.join(SHRINKAGES)}, got {shrinkage!r}")


def _eig(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, symmetrised first."""
    return np.linalg.eigh((c + c.T) / 2)


def _power(w: np.ndarray, v: np.ndarray, power: float, floor: float = 0.0) -> np.ndarray:
    """c^power of a positive semi-definite c = v diag(w) vᵀ, eigenvalues raised to ≥ floor × the largest first."""
    w = np.maximum(w, max(floor * float(w.max()), 0.0))
    return (v * w**power) @ v.T


def fit_moments(source, target, heads: int, *, shrinkage: str = "ledoit-wolf") -> AffineMap:
    """Per head: whiten `source` [N_s, heads · d] and recolour with `target`'s mean and covariance (module doc)."""
    if shrinkage not in SHRINKAGES:
        raise ValueError(f"shrinkage must be one of {', '.join(SHRINKAGES)}, got {shrinkage!r}")
    s, t = _pair(source, target, heads, min_rows=2)
    h, d = s.shape[1], s.shape[2]
    matrix, offset, rank = np.empty((h, d, d)), np.empty((h, d)), []
    for k in range(h):
        xs, xt = s[:, k], t[:, k]
        w, v = _eig(covariance(xs, "none"))  # one decomposition: the rank and the whitening
        top = float(w.max())
        rank.append(int((w > FLOOR * top).sum()) if top > 0 else 0)
        # all source vectors equal on this head (rank 0): nothing to whiten, every one goes to the target mean
        a = _power(*_eig(covariance(xt, shrinkage)), 0.5) @ _power(w, v, -0.5, FLOOR) if rank[-1] else np.zeros((d, d))
        matrix[k], offset[k] = a, xt.mean(0) - a @ xs.mean(0)
    return AffineMap(matrix, offset, f"whiten, recolour with the target mean and {shrinkage} covariance", tuple(rank))


def fit_error(m: AffineMap, source, target, heads: int, *, shrinkage: str | None) -> dict:
    """How far `m(source)` is from `target`'s moments, worst head (both [N, heads · d]):
    mean: ‖mean(m(source)) − mean(target)‖ / √tr C_t (in the target's standard deviations);
    cov (with `shrinkage` = the one the map was fitted with; None: mean only):
    ‖cov(m(source)) − C_t‖_F / ‖C_t‖_F, with C_t the target's covariance as the map estimated it.
    A map that does what it says on its fitting data has both at rounding level (~1e-12 in float64)."""
    s, t = _pair(m.apply(source).reshape(len(source), -1), target, heads, min_rows=1)
    out = {"mean": 0.0} if shrinkage is None else {"mean": 0.0, "cov": 0.0}
    for k in range(s.shape[1]):
        c_t = covariance(t[:, k], shrinkage or "none")
        scale = float(np.sqrt(max(np.trace(c_t), np.finfo(float).tiny)))
        out["mean"] = max(out["mean"], float(np.linalg.norm(s[:, k].mean(0) - t[:, k].mean(0))) / scale)
        if shrinkage is not None:
            c_s = covariance(s[:, k], "none")
            out["cov"] = max(out["cov"], float(np.linalg.norm(c_s - c_t) / max(np.linalg.norm(c_t), np.finfo(float).tiny)))
    return out


def random_shift(like: AffineMap, *, seed: int) -> AffineMap:
    """A = I and, per head, a uniformly random direction with the norm of `like`'s offset on that head."""
    rng = np.random.default_rng(check_seed(seed))
    z = rng.standard_normal(like.offset.shape)  # [H, d]: isotropic, so z / ‖z‖ is uniform on the sphere
    direction = z / np.linalg.norm(z, axis=1, keepdims=True)
    d = like.head_dim
    return AffineMap(np.tile(np.eye(d), (like.heads, 1, 1)), direction * like.shift_norms()[:, None],
                     "shift by a random direction of the same norm per head")


def _pair(source, target, heads: int, *, min_rows: int) -> tuple[np.ndarray, np.ndarray]:
    heads = _check_heads(heads)
    s, t = _per_head(source, heads), _per_head(target, heads)
    if s.shape[1:] != t.shape[1:]:
        raise ValueError(f"source and target must have the same width, got {s.shape[1] * s.shape[2]} and {t.shape[1] * t.shape[2]}")
    for x, name in ((s, "source"), (t, "target")):
        if len(x) < min_rows:
            raise ValueError(f"{name} has {len(x)} vector(s); need at least {min_rows}")
    return s, t
