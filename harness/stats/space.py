"""The vector space a divergence is computed in.

- "raw": the vectors as captured.
- "standardized": each coordinate centred and scaled to unit variance, with a StandardScaler
  fitted on the POOLED sample (x and y together), so both samples share one affine map.
- "pca50": standardized as above, then PCA (fitted on the pooled sample, seeded) to
  min(50, N - 1, d) dimensions, N the pooled count.

Fitting on the pooled sample keeps the map symmetric in x and y; it cannot create a difference
that is not there (the same map is applied to both). sklearn runs on CPU float64; the result is
returned as the input's kind (torch tensor on the input's device and dtype, or numpy array).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from ._validate import as_pair, check_seed, to_numpy

SPACES: tuple[str, ...] = ("raw", "standardized", "pca50")
PCA_DIMS = 50


def to_space(x, y, space: str = "pca50", seed: int = 0):
    """Map x [n, d] and y [m, d] into ``space`` (one of SPACES) -> (x' [n, d'], y' [m, d'])."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    seed = check_seed(seed)
    xt, yt = as_pair(x, y)
    if space == "raw":
        return _like(x, xt), _like(y, yt)
    n = xt.shape[0]
    z = np.concatenate([to_numpy(xt), to_numpy(yt)])  # [N, d]
    z = StandardScaler().fit_transform(z)
    if space == "pca50":
        k = min(PCA_DIMS, z.shape[0] - 1, z.shape[1])
        if k < 1:
            raise ValueError(f"pca50 needs at least 2 pooled vectors, got {z.shape[0]}")
        z = PCA(n_components=k, random_state=seed).fit_transform(z)
    return _back(x, xt, z[:n]), _back(y, yt, z[n:])


def _like(orig, t: torch.Tensor):
    return t if isinstance(orig, torch.Tensor) else t.cpu().numpy()


def _back(orig, t: torch.Tensor, arr: np.ndarray):
    out = torch.as_tensor(np.ascontiguousarray(arr), dtype=t.dtype, device=t.device)
    return _like(orig, out)
