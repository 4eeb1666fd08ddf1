"""The wide keys' held-out maps (harness/stats/wide_maps.py) against scikit-learn's pipeline they stand for."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from harness.stats.separability import fold_maps, heldout_auc_replicates
from harness.stats.space import FLOAT32_FROM, fit_dtype, space_steps, wide


def _keys(rows: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 keys of 30 units with their own offsets, a decaying spectrum, a large common mean and one constant
    feature (StandardScaler's scale 1 there)."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(30), rows // 30)
    z = rng.standard_normal((len(unit), dim)) * np.linspace(3.0, 0.2, dim) + rng.standard_normal((30, dim))[unit] + 20.0
    z[:, 5] = 7.0
    return z.astype(np.float32), unit


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosines of the principal angles between the column spaces of a and b (centred)."""
    qa, _ = np.linalg.qr(a - a.mean(0))
    qb, _ = np.linalg.qr(b - b.mean(0))
    return np.linalg.svd(qa.T @ qb, compute_uv=False)


# fewer rows than columns, and more; and fewer training rows than the 50 dimensions plus scikit-learn's 10 extra
@pytest.mark.parametrize("rows,dim", [(240, FLOAT32_FROM), (1500, FLOAT32_FROM), (60, FLOAT32_FROM)])
def test_wide_maps_are_the_pipelines_maps_to_float32_rounding(rows, dim):
    """Each fold's map is StandardScaler + PCA fitted on the other folds' keys, as make_pipeline fits it (the same
    Gaussian draw, iterations and signs): the same subspace and the same coordinates, to float32 rounding."""
    z, unit = _keys(rows, dim, seed=dim + rows)
    assert wide("pca50", dim) and fit_dtype("pca50", dim) == np.float32
    maps = fold_maps(z, unit, folds=5, space="pca50", seed=3)
    for f, got in enumerate(maps.z):
        train = maps.fold != f
        want = make_pipeline(*space_steps("pca50", int(train.sum()), dim, 3)).fit(z[train]).transform(z).astype(np.float64)
        assert got.shape == want.shape == (len(z), min(50, int(train.sum()) - 1))
        assert _cosines(got, want).min() > 1 - 1e-6
        assert np.abs(got - want).max() < 2e-3 * want.std()  # every coordinate, signs included


def test_a_wrong_draw_is_not_within_those_bounds():
    """The bounds above can fail: another seed's draw (or rows in another order) gives other coordinates."""
    z, unit = _keys(240, FLOAT32_FROM, seed=7)
    got = fold_maps(z, unit, folds=5, space="pca50", seed=3).z[0]
    other = fold_maps(z, unit, folds=5, space="pca50", seed=4)
    train = other.fold != 0
    want = make_pipeline(*space_steps("pca50", int(train.sum()), FLOAT32_FROM, 3)).fit(z[train]).transform(z)
    assert np.abs(other.z[0] - want).max() > 2e-3 * want.std()
    assert not np.array_equal(got, other.z[0])


def test_wide_maps_read_a_shift_and_a_null_as_the_pipeline_does():
    """The held-out AUC read from the wide maps: > 0.99 for shifted image keys, near 0.5 on a null, and within
    1e-4 of the pipeline's maps in both cases."""
    rng = np.random.default_rng(0)
    unit = np.tile(np.repeat(np.arange(20), 15), 2)
    base = rng.standard_normal((20, FLOAT32_FROM))[unit] + rng.standard_normal((600, FLOAT32_FROM))
    m = np.ones((1, 20))
    for shift, low, high in ((0.3, 0.99, 1.01), (0.0, 0.35, 0.65)):
        z = base.copy()
        z[:300] += shift
        z = z.astype(np.float32)
        maps = fold_maps(z, unit, space="pca50", seed=1)
        auc = heldout_auc_replicates(maps, np.arange(300), np.arange(300, 600), unit, m)[0]
        exact = [make_pipeline(*space_steps("pca50", int((maps.fold != f).sum()), FLOAT32_FROM, 1)).fit(z[maps.fold != f])
                 .transform(z).astype(np.float64) for f in range(5)]
        want = heldout_auc_replicates(type(maps)(maps.fold, tuple(exact)), np.arange(300), np.arange(300, 600), unit, m)[0]
        assert low <= auc <= high and abs(auc - want) < 1e-4
