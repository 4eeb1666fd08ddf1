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


def test_wide_held_out_maps_run_in_float32_with_the_float64_subspace():
    """pca50 maps of keys at least FLOAT32_FROM wide are fitted in float32 (randomized SVD there); the fitted
    subspace is float64's to principal-angle cosines of 1 - 1e-5 on clustered keys, and narrower keys or
    other spaces stay float64."""
    from sklearn.pipeline import make_pipeline

    from harness.stats.space import FLOAT32_FROM, fit_dtype, space_steps

    assert fit_dtype("pca50", FLOAT32_FROM) is np.float32
    assert fit_dtype("pca50", FLOAT32_FROM - 1) is np.float64 and fit_dtype("standardized", 4096) is np.float64
    rng = np.random.default_rng(0)
    offsets = 0.3 * rng.standard_normal((60, FLOAT32_FROM))
    z = offsets[np.repeat(np.arange(60), 20)] + rng.standard_normal((1200, FLOAT32_FROM))  # 20 keys per prompt
    fitted = {dt: make_pipeline(*space_steps("pca50", len(z), z.shape[1], seed=0)).fit(z.astype(dt)) for dt in (np.float64, np.float32)}
    assert fitted[np.float32][-1].components_.dtype == np.float32
    a, b = (fitted[dt][-1].components_.astype(np.float64) for dt in (np.float64, np.float32))
    cosines = np.linalg.svd(a @ b.T, compute_uv=False)
    assert cosines.min() > 1 - 1e-5, cosines.min()


def test_wide_maps_take_the_checked_power_iterations_and_move_the_figures_little():
    """Keys at least FLOAT32_FROM wide get WIDE_POWER_ITERATIONS (4, docs/statistics.md "The held-out maps of wide
    keys"), narrower ones scikit-learn's default; the CI-sized part of the check: on one triple of the pre-registered
    kind (d = 1,024, the modality shift just outside the 50 kept directions) every compared figure moves by <= 0.02."""
    from suites.perf.map_iterations import basis, figures, triple

    from harness.stats.space import FLOAT32_FROM, WIDE_POWER_ITERATIONS, space_steps

    assert WIDE_POWER_ITERATIONS == 4
    assert space_steps("pca50", 500, FLOAT32_FROM)[-1].iterated_power == 4
    assert space_steps("pca50", 500, FLOAT32_FROM - 1)[-1].iterated_power == "auto"
    image, text = triple(1.0, "60th", 0, basis(FLOAT32_FROM))
    default, fewer = figures(image, text, "auto"), figures(image, text, WIDE_POWER_ITERATIONS)
    moves = {k: abs(fewer[k] - default[k]) for k in default}
    assert max(moves.values()) <= 0.02, moves
    assert default["cross AUC"] > 0.6  # the shift is seen: the comparison is not of two chance readings
