"""Squared distances, the RBF kernel and its median-heuristic bandwidth.

Kernel: k(a, b) = exp(-||a - b||² / (2 σ²)).
Bandwidth (median heuristic, Gretton et al. 2012, JMLR 13:723): σ = the median Euclidean
distance over distinct pairs of the POOLED sample (x and y together), computed on at most
``max_points`` pooled vectors drawn without replacement with a seeded generator. The median of
an even count is the lower of the two middle values (torch.median).
Mixture: the average of RBF kernels with σ × {0.25, 0.5, 1, 2, 4}.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._validate import as_matrix, as_pair, check_seed

BANDWIDTH_CONVENTION = (
    "RBF k(a,b)=exp(-||a-b||^2/(2*sigma^2)); sigma = median Euclidean distance over distinct "
    "pairs of the pooled sample (x and y together; lower median; at most 2000 pooled points, "
    "seeded subsample); mixture = mean of RBF kernels at sigma x {0.25, 0.5, 1, 2, 4}"
)
MIXTURE_SCALES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)


def pairwise_sq_dists(x, y) -> torch.Tensor:
    """Squared Euclidean distances ||x_i - y_j||² as [n, m], clamped at 0.

    Computed on the inputs' device in their dtype (float16/bfloat16 upcast to float32) via
    ||x||² + ||y||² - 2 x·y, which can round slightly below 0 — hence the clamp.
    """
    xt, yt = as_matrix(x, "x"), as_matrix(y, "y")
    if xt.shape[1] != yt.shape[1]:
        raise ValueError(f"x and y must have the same dim, got {xt.shape[1]} and {yt.shape[1]}")
    dtype = torch.promote_types(xt.dtype, yt.dtype)
    return _sq_dists(xt.to(dtype), yt.to(dtype))


def _sq_dists(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unchecked core of pairwise_sq_dists. x [n, d], y [m, d] -> [n, m]."""
    xx = (x * x).sum(dim=1, keepdim=True)  # [n, 1]
    yy = (y * y).sum(dim=1, keepdim=True).T  # [1, m]
    xy2 = (x @ y.T).mul_(2.0)  # [n, m]
    d2 = (xx + yy).sub_(xy2)  # [n, m] (xx + yy) - 2 x·y, in place: two [n, m] buffers instead of four
    return d2.clamp_min_(0.0)


def pooled_sq_dists(z: torch.Tensor, max_elements: int) -> torch.Tensor | None:
    """The pooled squared distances [N, N] of z [N, d] on z's device when they fit in one kernel
    block (N² ≤ max_elements), else None (the kernel sums then build them block by block). One
    matrix product then serves both the bandwidth's median and the kernel sums."""
    n = z.shape[0]
    if n * n > max_elements:
        return None
    return _self_sq_dists(z) if z.device.type == "cpu" and n >= 2 * SELF_BLOCKS else _sq_dists(z, z)


SELF_BLOCKS = 4  # row blocks of the pooled product on the CPU: 10 of the 16 block products (62.5 % of the work)


def _self_sq_dists(z: torch.Tensor) -> torch.Tensor:
    """_sq_dists(z, z) from the blocks on and above the diagonal only, each mirrored below it. Equal to the bit:
    the CPU BLAS gives an entry of a matrix product the same bits whatever the matrix it sits in (MKL, which
    torch's x86 wheels use, does; numpy's OpenBLAS does not; the property ``median_bandwidth_from`` rests on,
    and tests/stats/test_shortcuts.py checks both), and every entry is computed by
    the same operations as in the whole product. 0.70 s against 1.03 s for 3,000 keys of d = 4,096, one thread."""
    n = z.shape[0]
    step = -(-n // SELF_BLOCKS)
    out = torch.empty(n, n, dtype=z.dtype, device=z.device)
    for i0 in range(0, n, step):
        for j0 in range(i0, n, step):
            block = _sq_dists(z[i0:i0 + step], z[j0:j0 + step])
            out[i0:i0 + step, j0:j0 + step] = block
            if j0 != i0:
                out[j0:j0 + step, i0:i0 + step] = block.T
    return out


def median_bandwidth(x, y, *, max_points: int = 2000, seed: int = 0) -> float:
    """σ of the median heuristic on the pooled sample (see BANDWIDTH_CONVENTION), in the units of x.

    Returns a positive float; if all pooled points coincide (median distance 0) returns 1.0 so
    the kernel stays defined.
    """
    seed = check_seed(seed)
    xt, yt = as_pair(x, y)
    z = torch.cat([xt, yt])  # [N, d]
    idx = _bandwidth_rows(z.shape[0], max_points, seed, z.device)
    if idx is not None:
        z = z[idx]
    return _median_sigma(_sq_dists(z, z))


def median_bandwidth_from(d2: torch.Tensor, *, max_points: int = 2000, seed: int = 0) -> float:
    """The same σ as ``median_bandwidth(x, y)`` from the pooled squared distances d2 [N, N] of
    z = cat([x, y]) already computed (e.g. for the kernel matrix): the subsample's entries are read
    from d2 instead of recomputed. Equal to the bit where the matrix product gives each entry the
    same bits whatever the matrix it sits in (CPU BLAS does; tests/stats/test_shortcuts.py checks it)."""
    idx = _bandwidth_rows(d2.shape[0], max_points, check_seed(seed), d2.device)
    return _median_sigma(d2 if idx is None else d2[idx][:, idx])


def _bandwidth_rows(n: int, max_points: int, seed: int, device) -> torch.Tensor | None:
    """The seeded subsample of the pooled rows behind σ (None: all of them)."""
    if n < 2:
        raise ValueError("median_bandwidth needs at least 2 pooled points, got 1")
    if n <= max_points:
        return None
    g = torch.Generator().manual_seed(seed)  # CPU generator: same subsample on any device
    return torch.randperm(n, generator=g)[:max_points].to(device)


def _median_sigma(d2: torch.Tensor) -> float:
    """Lower median of the distances over distinct pairs, from their squares d2 [k, k]; 1.0 if 0."""
    iu = torch.triu_indices(d2.shape[0], d2.shape[0], offset=1, device=d2.device)
    med = float(torch.median(d2[iu[0], iu[1]]).sqrt())
    return med if med > 0.0 else 1.0


def rbf_kernel(d2: torch.Tensor, sigma: float | Sequence[float]) -> torch.Tensor:
    """RBF kernel values from squared distances d2 (any shape); a sequence of σ gives the mean kernel.

    Values are dimensionless, in (0, 1].
    """
    sigmas = [float(sigma)] if isinstance(sigma, (int, float)) else [float(s) for s in sigma]
    if not sigmas or any(not (s > 0.0) or s != s or s == float("inf") for s in sigmas):
        raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
    out = torch.div(d2, -2.0 * sigmas[0] ** 2).exp_()  # d2 itself is left as it is
    buf = torch.empty_like(out) if len(sigmas) > 1 else None  # one scratch [shape of d2] for every further σ
    for s in sigmas[1:]:  # the same operations as out += exp(d2 / c), without two new [N, N] tensors per σ
        torch.div(d2, -2.0 * s**2, out=buf)
        out += buf.exp_()
    if len(sigmas) > 1:
        out /= len(sigmas)
    return out


def mixture_sigmas(sigma: float) -> tuple[float, ...]:
    """The σ list of the mixture kernel around a median σ."""
    return tuple(sigma * s for s in MIXTURE_SCALES)
