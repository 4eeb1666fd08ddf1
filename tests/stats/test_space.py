"""to_space: raw is identity, standardized is a pooled StandardScaler, pca50 caps dims and is seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.stats.space import SPACES, to_space


def _xy(n=40, m=30, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) * 3 + 1, torch.randn(m, d, generator=g)


def test_raw_is_identity():
    x, y = _xy()
    xr, yr = to_space(x, y, "raw")
    assert torch.equal(xr, x) and torch.equal(yr, y)


def test_standardized_uses_pooled_statistics():
    x, y = _xy()
    xs, ys = to_space(x, y, "standardized")
    z = torch.cat([xs, ys]).double()
    torch.testing.assert_close(z.mean(0), torch.zeros(8, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(0, unbiased=False), torch.ones(8, dtype=torch.float64), atol=1e-5, rtol=0)
    assert float(xs.mean()) > float(ys.mean())  # x's offset survives: one map for both samples
    assert xs.dtype == x.dtype and xs.device == x.device


@pytest.mark.parametrize("n, m, d, want", [(40, 30, 8, 8), (40, 30, 80, 50), (10, 5, 80, 14)])
def test_pca50_dims(n, m, d, want):
    x, y = _xy(n, m, d)
    xp, yp = to_space(x, y, "pca50", seed=0)
    assert xp.shape == (n, want) and yp.shape == (m, want)
    xq, _ = to_space(x, y, "pca50", seed=0)
    assert torch.equal(xp, xq)


def test_numpy_in_numpy_out_and_bad_space():
    x, y = _xy()
    xs, _ = to_space(x.numpy(), y.numpy(), "standardized")
    assert isinstance(xs, np.ndarray)
    with pytest.raises(ValueError, match="space must be one of"):
        to_space(x, y, "umap")
    assert SPACES == ("raw", "standardized", "pca50")
