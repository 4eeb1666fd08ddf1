"""The analysis's shortcuts give the figures of the plain computations they replace, to the bit:
the hashed duplicate-row partition, the one-sum finiteness proof, σ read from the pooled product,
the kernel sums from precomputed distances, and JS + AUC from one shared cross-fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import harness.stats.folds as folds
from harness.stats._validate import as_matrix, nonfinite_rows
from harness.stats.between import DEFAULT_MAX_KERNEL_ELEMENTS, CellGram
from harness.stats.folds import merge_sharing_rows, row_ids
from harness.stats.js import js_classifier, js_knn, probe_auc, probe_figures
from harness.stats.kernels import _sq_dists, median_bandwidth, median_bandwidth_from, pooled_sq_dists
from harness.stats.simulate import simulate_keys


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two labellings of the same rows define the same partition (a bijection between their ids)."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def _rows_with_repeats(seed: int = 0, n: int = 400, d: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d)).astype(np.float32).astype(np.float64)
    z[50:120] = z[200:270]  # a block of repeated rows
    z[7] = z[300]
    z[8, :] = 0.0
    z[9, :] = -0.0  # equal values, other bytes: one row value with row 8
    z[10, 3] = np.nextafter(z[11, 3], np.inf)  # rows differing in one ulp of one coordinate stay apart
    z[10, np.arange(d) != 3] = z[11, np.arange(d) != 3]
    return z


def test_row_ids_give_the_partition_of_np_unique():
    z = _rows_with_repeats()
    reference = np.unique(z, axis=0, return_inverse=True)[1].reshape(-1)
    ids = row_ids(z)
    assert _same_partition(ids, reference)
    assert ids[8] == ids[9] and ids[10] != ids[11] and ids[7] == ids[300]


def test_row_ids_survive_a_hash_that_collides(monkeypatch):
    z = _rows_with_repeats(seed=1)
    reference = np.unique(z, axis=0, return_inverse=True)[1].reshape(-1)
    monkeypatch.setattr(folds, "_row_hash", lambda bits: np.zeros(len(bits), dtype=np.uint64))  # every row one hash
    assert _same_partition(row_ids(z), reference)


def test_merge_sharing_rows_takes_tensors_and_arrays_alike():
    z = _rows_with_repeats(seed=2)
    gx = np.repeat(np.arange(40), 10)
    gy = np.arange(40)
    a = merge_sharing_rows(z, (gx, gy))
    b = merge_sharing_rows(torch.from_numpy(z).float(), (gx, gy))
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_rows_counts_what_isfinite_counts(value):
    x = torch.randn(300, 17)
    assert nonfinite_rows(x) == 0
    x[[3, 3, 40, 299], [0, 5, 16, 2]] = value
    assert nonfinite_rows(x) == int((~torch.isfinite(x)).any(dim=1).sum()) == 3
    with pytest.raises(ValueError, match="non-finite values in 3 row"):
        as_matrix(x, "x")


def test_a_sum_past_the_float_range_is_not_taken_for_a_non_finite_entry():
    x = torch.full((64, 8), 3e38)  # every entry finite, their float32 sum overflows
    assert not torch.isfinite(x.sum())
    assert nonfinite_rows(x) == 0


@pytest.mark.parametrize("n,d", [(2600, 64), (900, 4096), (40, 3)])
def test_sigma_from_the_pooled_product_equals_median_bandwidth(n, d):
    g = torch.Generator().manual_seed(n)
    x, y = torch.randn(n // 2, d, generator=g), 0.3 + torch.randn(n - n // 2, d, generator=g)
    d2 = pooled_sq_dists(torch.cat([x, y]), DEFAULT_MAX_KERNEL_ELEMENTS)
    for seed in (0, 5):
        assert median_bandwidth_from(d2, seed=seed) == median_bandwidth(x, y, seed=seed)


def test_pooled_product_only_where_it_fits_one_block():
    z = torch.randn(30, 4)
    assert pooled_sq_dists(z, 900) is not None
    assert pooled_sq_dists(z, 899) is None


def test_cell_sums_from_precomputed_distances_equal_the_blockwise_ones():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(500, 40, generator=g)
    cells = np.random.default_rng(0).integers(0, 30, 500)
    plain = CellGram(z, cells, 30, 5.0, max_kernel_elements=40_000)  # built in blocks of 80 rows
    shared = CellGram(z, cells, 30, 5.0, sq_dists=_sq_dists(z, z))
    assert np.array_equal(plain.sums, shared.sums)


def _same(a, b) -> bool:
    """Equal JS results or AUCs, NaN equal to NaN."""
    if isinstance(a, float):
        return a == b or (np.isnan(a) and np.isnan(b))
    return a.__class__ is b.__class__ and all(_same(getattr(a, f), getattr(b, f)) if isinstance(getattr(a, f), float)
                                              else getattr(a, f) == getattr(b, f) for f in a.__dataclass_fields__)


def test_probe_figures_equal_the_three_separate_calls():
    k = simulate_keys(prompts=16, d=24, shift=3.0, seed=3, cap_image=320, cap_text=200)
    groups = (k.image_units, k.text_units)
    for space in ("pca50", "raw"):
        fit = {"groups": groups, "seed": 2, "space": space}
        clf, knn, auc = probe_figures(k.image, k.text, **fit)
        assert _same(clf, js_classifier(k.image, k.text, **fit))
        assert _same(knn, js_knn(k.image, k.text, **fit))
        assert _same(auc, probe_auc(k.image, k.text, **fit))
        assert 0.0 < clf.bits and 0.5 < auc


def test_probe_figures_keep_the_reasons_of_the_separate_calls():
    x = np.tile(np.random.default_rng(0).standard_normal((4, 6)), (10, 1))  # every row repeats in other prompts
    y = np.random.default_rng(1).standard_normal((40, 6))
    groups = (np.arange(40), np.arange(40))
    clf, knn, auc = probe_figures(x, y, groups=groups)
    assert knn.reason.startswith("n/a: too few unique keys") and _same(knn, js_knn(x, y, groups=groups))
    assert _same(clf, js_classifier(x, y, groups=groups)) and _same(auc, probe_auc(x, y, groups=groups))
    few = probe_figures(y[:8], y[8:16], groups=(np.arange(8) % 3, np.arange(8) % 3))  # 3 prompts, 5 folds
    assert few[0].reason.startswith("n/a: too few prompts") and np.isnan(few[2])


def test_folds_fitted_in_parallel_give_the_figures_of_one_thread():
    k = simulate_keys(prompts=16, d=80, shift=1.0, seed=5, cap_image=320, cap_text=200)
    fit = {"groups": (k.image_units, k.text_units), "seed": 1, "space": "pca50"}
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = probe_figures(k.image, k.text, **fit)
        torch.set_num_threads(3)  # three folds at a time, one BLAS thread each
        several = probe_figures(k.image, k.text, **fit)
    finally:
        torch.set_num_threads(before)
    assert all(_same(a, b) for a, b in zip(one, several))
    assert 0.0 < one[0].bits


def test_probe_figures_on_the_tiers_fold_maps_equal_grouped_folds_dealt_the_same_way(monkeypatch):
    """Given the separability tier's fold maps of the same rows, JS and AUC are those of the plain cross-fit
    on the maps' folds (each fold's map fitted on its training rows), to rounding; groups the maps' folds would
    part fall back to grouped folds of their own; maps of other rows are an error."""
    from harness.stats.separability import fold_maps

    k = simulate_keys(prompts=16, d=80, shift=1.5, seed=4, cap_image=320, cap_text=200)
    x, y = np.asarray(k.image, dtype=np.float64), np.asarray(k.text, dtype=np.float64)
    groups = (k.image_units, k.text_units)
    unit = np.concatenate([np.asarray(g) for g in groups])
    maps = fold_maps(np.concatenate([x, y]).astype(np.float64), unit, folds=5, space="pca50", seed=1)
    shared = probe_figures(x, y, groups=groups, seed=1, space="pca50", maps=maps)

    def maps_folds(r, n, seed):  # the maps' folds, as (train, test) pairs
        return [(np.flatnonzero(maps.fold != f), np.flatnonzero(maps.fold == f)) for f in range(n)], ""

    monkeypatch.setattr("harness.stats.js.grouped_folds", maps_folds)
    plain = probe_figures(x, y, groups=groups, seed=1, space="pca50")
    assert shared[0].bits == pytest.approx(plain[0].bits, abs=1e-9) and shared[1].bits == pytest.approx(plain[1].bits, abs=1e-9)
    assert shared[2] == pytest.approx(plain[2], abs=1e-9) and 0.5 < shared[2]
    monkeypatch.undo()
    coarse = (np.asarray(groups[0]) // 2, np.asarray(groups[1]) // 2)  # pairs of prompts: the maps' folds part some
    assert all(_same(a, b) for a, b in zip(probe_figures(x, y, groups=coarse, seed=1, space="pca50", maps=maps),
                                           probe_figures(x, y, groups=coarse, seed=1, space="pca50")))
    with pytest.raises(ValueError, match="maps must cover"):
        probe_figures(x[:-1], y, groups=(groups[0][:-1], groups[1]), seed=1, space="pca50", maps=maps)


@pytest.mark.parametrize("n,d", [(3000, 4096), (1501, 64), (9, 3)])
def test_the_pooled_product_from_its_upper_blocks_is_the_whole_product_to_the_bit(n, d):
    z = torch.randn(n, d, generator=torch.Generator().manual_seed(d))
    assert torch.equal(pooled_sq_dists(z, DEFAULT_MAX_KERNEL_ELEMENTS), _sq_dists(z, z))


@pytest.mark.parametrize("dim", [48, 512])  # float64 maps (wide keys' float32 maps: tests/stats/test_wide_maps.py)
def test_fold_maps_equal_the_pipelines_fitted_on_each_folds_training_rows(dim):
    """fold_maps applies each intermediate step once to all rows; its maps are make_pipeline's to the bit."""
    from sklearn.pipeline import make_pipeline

    from harness.stats.separability import fold_maps
    from harness.stats.space import fit_dtype, space_steps

    rng = np.random.default_rng(dim)
    unit = np.repeat(np.arange(30), 8)
    z = rng.standard_normal((len(unit), dim)) * np.linspace(0.2, 3.0, dim) + rng.standard_normal((30, dim))[unit]
    maps = fold_maps(z, unit, folds=5, space="pca50", seed=3)
    zin = z.astype(fit_dtype("pca50", dim))
    for f, got in enumerate(maps.z):
        train = maps.fold != f
        want = make_pipeline(*space_steps("pca50", int(train.sum()), dim, 3)).fit(zin[train]).transform(zin)
        assert np.array_equal(got, want.astype(np.float64))
