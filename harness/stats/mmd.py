"""Maximum mean discrepancy (MMD²) between two samples, with a permutation test.

MMD² is the unbiased U-statistic (Gretton et al. 2012, eq. 3) with an RBF kernel (see
``kernels.BANDWIDTH_CONVENTION``); it is dimensionless (kernel values are in (0, 1]) and can be
slightly negative when the samples are alike. The p-value comes from a permutation test whose
permutations are all evaluated against one pooled kernel matrix K [N, N]: each permutation is a
row of a 0/1 matrix A [P, N] marking the x-side, and every statistic follows from the bilinear
forms A K Aᵀ (diagonal only), A K 1 and A diag(K). When N × N exceeds ``max_kernel_elements`` K
is built in row blocks and those forms are accumulated block by block, never holding K whole.

Permutations are drawn from a CPU ``torch.Generator`` seeded by ``seed`` and then moved to the
data's device, so a given seed gives the same permutations (and p-value) on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._validate import as_pair, check_seed
from .kernels import _sq_dists, median_bandwidth, mixture_sigmas, rbf_kernel

DEFAULT_MAX_KERNEL_ELEMENTS = 64_000_000  # 64e6 float64 = 512 MB for one kernel block


@dataclass(frozen=True)
class MMDResult:
    mmd2: float  # unbiased U-statistic MMD², dimensionless (kernel units); can be < 0
    mmd: float  # sqrt(max(mmd2, 0)), dimensionless
    p_value: float  # (1 + #{null >= observed}) / (1 + permutations); nan when permutations == 0
    permutations: int  # number of permutations in the null distribution
    bandwidth: float  # σ of the RBF kernel, in the units of the input vectors (median σ for a mixture)
    kernel: str  # "rbf-median", "rbf-mixture" or "rbf-fixed"
    n_x: int  # vectors in x
    n_y: int  # vectors in y
    null_mean: float = float("nan")  # mean of the permutation null MMD² (≈ 0 up to O(1/N)); nan without permutations
    null_std: float = float("nan")  # std of the permutation null MMD²; nan without permutations


def _resolve_bandwidth(x, y, bandwidth, seed: int):
    """-> (σ or σ list for rbf_kernel, reported σ, kernel name)."""
    if isinstance(bandwidth, str):
        if bandwidth not in ("median", "mixture"):
            raise ValueError(f"bandwidth must be 'median', 'mixture' or a float σ > 0, got {bandwidth!r}")
        sigma = median_bandwidth(x, y, seed=seed)
        if bandwidth == "median":
            return sigma, sigma, "rbf-median"
        return mixture_sigmas(sigma), sigma, "rbf-mixture"
    sigma = float(bandwidth)
    if not (sigma > 0.0 and np.isfinite(sigma)):
        raise ValueError(f"bandwidth σ must be finite and > 0, got {bandwidth!r}")
    return sigma, sigma, "rbf-fixed"


def permutation_masks(n: int, m: int, permutations: int, seed: int, *, chunk: int = 256) -> torch.Tensor:
    """Bool [1 + P, n + m] on CPU: row 0 is the observed split (first n pooled rows are x), row p ≥ 1
    marks the x-side of permutation p (n of the N pooled rows chosen uniformly at random)."""
    N = n + m
    g = torch.Generator().manual_seed(seed)
    masks = torch.zeros(1 + permutations, N, dtype=torch.bool)  # [1+P, N]
    masks[0, :n] = True
    for c0 in range(0, permutations, chunk):
        c = min(chunk, permutations - c0)
        idx = torch.rand(c, N, generator=g).argsort(dim=1)[:, :n]  # [c, n]
        masks[1 + c0 : 1 + c0 + c].scatter_(1, idx, True)
    return masks


def _mmd2_from_masks(
    z: torch.Tensor, n: int, masks: torch.Tensor, sigma, *, dtype: torch.dtype, max_kernel_elements: int
) -> torch.Tensor:
    """Unbiased MMD² for each x-side mask. z [N, d] pooled, masks bool [R, N] -> float [R] on z.device."""
    N = z.shape[0]
    m = N - n
    R = masks.shape[0]
    dev = z.device
    rows = max(1, min(N, max_kernel_elements // N))  # kernel rows per block
    chunk = max(1, min(R, max_kernel_elements // N))  # masks per matmul
    masks = masks.to(dev)
    s_aa = torch.zeros(R, dtype=dtype, device=dev)  # Σ_{i,j ∈ x-side} K_ij (diagonal included)
    s_a1 = torch.zeros(R, dtype=dtype, device=dev)  # Σ_{i ∈ x-side, j} K_ij
    d_a = torch.zeros(R, dtype=dtype, device=dev)  # Σ_{i ∈ x-side} K_ii
    total = torch.zeros((), dtype=dtype, device=dev)  # Σ_ij K_ij
    trace = torch.zeros((), dtype=dtype, device=dev)  # Σ_i K_ii
    for i0 in range(0, N, rows):
        i1 = min(N, i0 + rows)
        kb = rbf_kernel(_sq_dists(z[i0:i1], z), sigma).to(dtype)  # [b, N] = K[i0:i1, :]
        r = kb.sum(dim=1)  # [b] row sums
        diag = kb[torch.arange(i1 - i0, device=dev), torch.arange(i0, i1, device=dev)]  # [b]
        total += r.sum()
        trace += diag.sum()
        for c0 in range(0, R, chunk):
            c1 = min(R, c0 + chunk)
            a = masks[c0:c1].to(dtype)  # [c, N]
            ab = a[:, i0:i1]  # [c, b]
            akb = a @ kb.T  # [c, b] = (A K)[:, i0:i1] since K is symmetric
            s_aa[c0:c1] += (akb * ab).sum(dim=1)
            s_a1[c0:c1] += ab @ r
            d_a[c0:c1] += ab @ diag
    s_ab = s_a1 - s_aa  # Σ_{x-side, y-side} K
    s_bb = total - 2.0 * s_a1 + s_aa  # Σ_{y-side, y-side} K (diagonal included)
    d_b = trace - d_a
    return (s_aa - d_a) / (n * (n - 1)) + (s_bb - d_b) / (m * (m - 1)) - 2.0 * s_ab / (n * m)


def _prepare(x, y, seed):
    seed = check_seed(seed)
    xt, yt = as_pair(x, y, min_rows=2)
    return seed, xt, yt, torch.cat([xt, yt])


def mmd2_unbiased(x, y, *, sigma, dtype: torch.dtype = torch.float64) -> float:
    """Unbiased MMD² of x [n, d] vs y [m, d] for an RBF kernel with σ = ``sigma`` (a float, or a list
    of σ for the mean of several RBF kernels). Dimensionless; E = 0 when x and y share a law."""
    _, xt, yt, z = _prepare(x, y, 0)
    masks = permutation_masks(xt.shape[0], yt.shape[0], 0, 0)
    return float(_mmd2_from_masks(z, xt.shape[0], masks, sigma, dtype=dtype, max_kernel_elements=DEFAULT_MAX_KERNEL_ELEMENTS)[0])


def mmd_permutation_null(
    x, y, *, sigma, permutations: int = 1000, seed: int = 0, dtype: torch.dtype = torch.float64,
    max_kernel_elements: int = DEFAULT_MAX_KERNEL_ELEMENTS,
) -> tuple[float, torch.Tensor]:
    """(observed MMD², null MMD² [P]) by the batched evaluation; null on the data's device."""
    seed, xt, yt, z = _prepare(x, y, seed)
    masks = permutation_masks(xt.shape[0], yt.shape[0], permutations, seed)
    stats = _mmd2_from_masks(z, xt.shape[0], masks, sigma, dtype=dtype, max_kernel_elements=max_kernel_elements)
    return float(stats[0]), stats[1:]


def mmd_permutation_loop(
    x, y, *, sigma, permutations: int = 1000, seed: int = 0, dtype: torch.dtype = torch.float64
) -> tuple[float, torch.Tensor]:
    """Reference for tests and benchmarks only: the same statistic and permutations as
    ``mmd_permutation_null``, one Python iteration per permutation on the full kernel matrix."""
    seed, xt, yt, z = _prepare(x, y, seed)
    n, m = xt.shape[0], yt.shape[0]
    masks = permutation_masks(n, m, permutations, seed).to(z.device)
    k = rbf_kernel(_sq_dists(z, z), sigma).to(dtype)  # [N, N]
    out = torch.empty(masks.shape[0], dtype=dtype, device=z.device)
    for p in range(masks.shape[0]):
        ix, iy = masks[p].nonzero().squeeze(1), (~masks[p]).nonzero().squeeze(1)
        kxx, kyy, kxy = k[ix][:, ix], k[iy][:, iy], k[ix][:, iy]
        out[p] = (
            (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
            + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
            - 2.0 * kxy.sum() / (n * m)
        )
    return float(out[0]), out[1:]


def mmd_test(
    x, y, *, permutations: int = 1000, seed: int = 0, bandwidth="median",
    max_kernel_elements: int | None = None, dtype: torch.dtype = torch.float64,
) -> MMDResult:
    """Two-sample MMD test of x [n, d] vs y [m, d] (n, m ≥ 2).

    bandwidth: "median" (σ by the pooled median heuristic, seeded by ``seed``), "mixture" (mean of
    RBF kernels at median σ × {0.25, 0.5, 1, 2, 4}) or a float σ. ``dtype`` is the accumulation
    dtype of the kernel sums (float64 by default: the null terms are small differences of
    large sums). ``max_kernel_elements`` bounds the kernel block held at once (default 64e6).
    """
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < 0:
        raise ValueError(f"permutations must be an int >= 0, got {permutations!r}")
    seed, xt, yt, _ = _prepare(x, y, seed)
    sigma, reported, name = _resolve_bandwidth(xt, yt, bandwidth, seed)
    mke = DEFAULT_MAX_KERNEL_ELEMENTS if max_kernel_elements is None else int(max_kernel_elements)
    if mke < 1:
        raise ValueError(f"max_kernel_elements must be >= 1, got {max_kernel_elements!r}")
    obs, null = mmd_permutation_null(
        xt, yt, sigma=sigma, permutations=int(permutations), seed=seed, dtype=dtype, max_kernel_elements=mke
    )
    if permutations > 0:
        p = (1.0 + float((null >= obs).sum())) / (1.0 + permutations)
        nm, ns = float(null.mean()), float(null.std()) if permutations > 1 else 0.0
    else:
        p, nm, ns = float("nan"), float("nan"), float("nan")
    return MMDResult(
        mmd2=obs, mmd=float(np.sqrt(max(obs, 0.0))), p_value=p, permutations=int(permutations),
        bandwidth=float(reported), kernel=name, n_x=xt.shape[0], n_y=yt.shape[0], null_mean=nm, null_std=ns,
    )
