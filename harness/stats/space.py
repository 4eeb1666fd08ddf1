"""The vector space a divergence is computed in.

- "raw": the vectors as captured.
- "standardized": each coordinate centred and scaled to unit variance, with a StandardScaler
  fitted on the POOLED sample (x and y together), so both samples share one affine map.
- "pca50": standardized as above, then PCA (fitted on the pooled sample, seeded) to
  min(50, N - 1, d) dimensions, N the pooled count.

Fitting on the pooled sample keeps the map symmetric in x and y, but it is fitted on every
prompt: when tokens of one prompt are alike (image tokens clustered around their prompt's
offset), the top components are the sample's own prompt offsets, and a probe fitted on some
prompts and scored on others then reads a difference that is not there (0.63-0.82 bits on a
clustered null with equal laws, d = 64-256, S = 40). Held-out estimators must fit the map on their
training prompts only: ``space_steps`` gives it as scikit-learn steps for their pipelines
(harness/stats/js.py does this); ``to_space`` is for figures that fit nothing on labels. sklearn runs on CPU float64; the result is
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
# Held-out maps into pca50 of keys at least this wide are fitted in float32. There scikit-learn's PCA runs its
# randomized SVD (7 power iterations), whose float32 subspace agrees with float64's to cosines of principal
# angles >= 0.999999 on clustered keys of d = 4096 (tests/stats/test_space.py), at 0.45 of the time. Since
# 2026-12-05 these maps are computed by harness/stats/wide_maps.py: the same steps without the pipeline's
# per-fold copies, equal to it to float32 rounding (tests/stats/test_wide_maps.py).
FLOAT32_FROM = 1024
# Power iterations of that randomized SVD for keys at least FLOAT32_FROM wide: 4 instead of scikit-learn's
# "auto" (7 here), accepted by the check pre-registered in docs/statistics.md "The held-out maps of wide keys"
# (python -m suites.perf.map_iterations: every AUC figure within 0.011 of 7's, 99 % within 0.01, JS within
# 0.009 bits; 2 and 3 iterations failed it); about 0.5 s less per real-size triple.
WIDE_POWER_ITERATIONS: int | str = 4


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


def space_steps(space: str, n_rows: int, dim: int, seed: int = 0) -> list:
    """scikit-learn transformer steps mapping rows into ``space``, to be fitted inside a pipeline on
    training rows only: [] for raw, a StandardScaler for standardized, StandardScaler then PCA to
    min(50, n_rows - 1, dim) for pca50 (n_rows: the rows the pipeline will be fitted on)."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    if space == "raw":
        return []
    if space == "standardized":
        return [StandardScaler()]
    power = WIDE_POWER_ITERATIONS if dim >= FLOAT32_FROM else "auto"
    return [StandardScaler(), PCA(n_components=max(1, min(PCA_DIMS, n_rows - 1, dim)), random_state=check_seed(seed), iterated_power=power)]


def wide(space: str, dim: int) -> bool:
    """Whether held-out maps into `space` of `dim`-wide rows are the wide keys' float32 maps (see FLOAT32_FROM)."""
    return space == "pca50" and dim >= FLOAT32_FROM


def fit_dtype(space: str, dim: int) -> type:
    """The dtype a held-out map into `space` of `dim`-wide rows is fitted and applied in (see FLOAT32_FROM);
    its output is read back as float64."""
    return np.float32 if wide(space, dim) else np.float64


def _like(orig, t: torch.Tensor):
    return t if isinstance(orig, torch.Tensor) else t.cpu().numpy()


def _back(orig, t: torch.Tensor, arr: np.ndarray):
    out = torch.as_tensor(np.ascontiguousarray(arr), dtype=t.dtype, device=t.device)
    return _like(orig, out)
