"""Unbiased variance of U-statistics over units, and the pair kernel of a between-prompt MMD².

Why by hand: no library estimates the (co)variance of order-2 U-statistics without bias; the
bootstrap and the jackknife both overstate the degenerate (second-order) term, by about 3× and 2× in
variance (docs/statistics.md "Amendment 1"), which dominates a small effect measured over few units.

For symmetric kernels A, B over n i.i.d. units (A_uu = 0), U_A = Σ_{u≠v} A_uv / (n)₂, Hoeffding:

    Cov(U_A, U_B) = [4(n − 2) ζ₁ + 2 ζ₂] / (n(n − 1)),  ζ₁ = E A₁₂B₁₃ − θ_Aθ_B,  ζ₂ = E A₁₂B₁₂ − θ_Aθ_B

and each expectation has an unbiased estimate from sums over distinct units (O(n²)):
P₂ = Σ_{u≠v} A_uv B_uv, P₃ = Σ_{distinct u,v,w} A_uv B_uw = Σ_u a_u b_u − P₂ (a, b: row sums),
P₄ = Σ_{distinct u,v,w,x} A_uv B_wx = S_A S_B − 4 P₃ − 2 P₂, each over its count (n)₂, (n)₃, (n)₄.
The estimate is exactly unbiased for a fixed kernel and can be negative when the true variance is
near 0; callers floor it at 0.

A between-prompt MMD² is a sum of ratios of sums over pairs of units (``between.Comparison``:
Σ w_u w'_v g_uv / Σ w_u w'_v per term). Linearised around the data (delta method), its deviation is
Σ_{u≠v} K_uv with K_uv = Σ_terms c · w_u w'_v (g_uv − θ_term) / Σ w w' (symmetrised), so it is
the U-statistic of the kernel (n)₂ · K up to O(1/n) terms (``pair_kernel``).
"""

from __future__ import annotations

import numpy as np

from .between import Comparison


def _zero_diag(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    np.fill_diagonal(a, 0.0)
    return a


def covariance(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased estimate of Cov(U_A, U_B) for symmetric [n, n] pair kernels `a`, `b` (diagonals ignored); n ≥ 4."""
    a, b = _zero_diag(a), _zero_diag(b)
    n = a.shape[0]
    if n < 4:
        raise ValueError(f"the unbiased U-statistic variance needs at least 4 units, got {n}")
    p2 = float((a * b).sum())
    p3 = float(a.sum(1) @ b.sum(1)) - p2
    p4 = float(a.sum()) * float(b.sum()) - 4.0 * p3 - 2.0 * p2
    n2, n3, n4 = n * (n - 1.0), n * (n - 1.0) * (n - 2.0), n * (n - 1.0) * (n - 2.0) * (n - 3.0)
    t2, t3, t4 = p2 / n2, p3 / n3, p4 / n4
    return (4.0 * (n - 2.0) * (t3 - t4) + 2.0 * (t2 - t4)) / n2


def degenerate(a: np.ndarray, b: np.ndarray) -> float:
    """ζ₂' = E h₂(1,2) g₂(1,2), the covariance of the second-order (degenerate) Hoeffding terms of the
    symmetric pair kernels `a`, `b` [n, n]: the U-centred kernels' inner product over n(n − 3), which is
    unbiased (Székely & Rizzo 2014, the U-centring of distance covariance; over n(n − 1) it reads
    (n − 3)/(n − 1) of the truth, 0.82 at 12 units)."""
    def centred(k):
        k = _zero_diag(k)
        n = k.shape[0]
        row = k.sum(1) / (n - 2.0)  # the double centring of a kernel without its diagonal
        total = k.sum() / ((n - 1.0) * (n - 2.0))
        c = k - row[:, None] - row[None, :] + total
        np.fill_diagonal(c, 0.0)
        return c
    n = a.shape[0]
    if n < 4:
        raise ValueError(f"the degenerate term needs at least 4 units, got {n}")
    return float((centred(a) * centred(b)).sum() / (n * (n - 3.0)))  # U-centring: unbiased over n(n − 3)


def _term(g: np.ndarray, wa: np.ndarray, wb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Linearised deviation kernel [n, n] of Σ wa_u wb_v g_uv / Σ wa_u wb_v over distinct (masked) pairs."""
    pair = np.outer(wa, wb)
    np.fill_diagonal(pair, 0.0)
    if mask is not None:
        pair = pair * mask
    den = pair.sum()
    if den <= 0:
        return np.full_like(g, np.nan)
    theta = (pair * g).sum() / den
    return pair * (g - theta) / den


def centred(cmp: Comparison) -> Comparison:
    """The same comparison with every unit embedding less their common mean c (μ → μ − c): its MMD² on
    the data is the same (each of its three terms moves by ⟨c, ·⟩ and |c|² pieces that cancel where each
    term weighs the units of its sides alike: 0/1 weights, sides equal or disjoint, as in a split's
    levels and in a cross-modal comparison whose units hold both modalities; a resampled row's
    multiplicities move it by a term of order 1/n), but its linearisation no longer carries the mean embedding, whose products with the fluctuating
    number of units per side would otherwise add a spurious second-order term (larger than the
    statistic's own when the kernel's mean embedding is large, as an RBF's is)."""
    wa, wb = cmp.has_a, cmp.has_b
    total = wa.sum() + wb.sum()
    ca = (cmp.g_aa @ wa + cmp.g_ab @ wb) / total  # [U] ⟨μ_u^A, c⟩
    cb = (cmp.g_ab.T @ wa + cmp.g_bb @ wb) / total  # [U] ⟨μ_u^B, c⟩
    cc = (wa @ ca + wb @ cb) / total  # |c|²
    return Comparison(cmp.g_aa - ca[:, None] - ca[None, :] + cc, cmp.g_bb - cb[:, None] - cb[None, :] + cc,
                      cmp.g_ab - ca[:, None] - cb[None, :] + cc, wa, wb, cmp.mask, cmp.n_a, cmp.n_b)


def pair_kernel(cmp: Comparison) -> np.ndarray:
    """[n, n] symmetric kernel A with cmp.mmd2() − E ≈ Σ_{u≠v} A_uv / (n)₂ (see the module doc); nan when
    a term has no pair."""
    n = len(cmp.has_a)
    cmp = centred(cmp)
    k = (_term(cmp.g_aa, cmp.has_a, cmp.has_a, cmp.mask) + _term(cmp.g_bb, cmp.has_b, cmp.has_b, cmp.mask)
         - 2.0 * _term(cmp.g_ab, cmp.has_a, cmp.has_b, cmp.mask))
    return (k + k.T) / 2.0 * (n * (n - 1.0))


def split_kernel(pairs: list[Comparison]) -> np.ndarray:
    """The pair kernel of a split's effect: the mean over its pairs of levels that are defined on the
    data (as ``bootstrap.intra_effects`` averages them); nan when none is."""
    kernels = [k for k in (pair_kernel(c) for c in pairs) if np.isfinite(k).all()]
    if not kernels:
        n = len(pairs[0].has_a)
        return np.full((n, n), np.nan)
    return np.mean(kernels, axis=0)
