"""tsne_2d: stratified cap, determinism per seed, separated blobs stay separated; trustworthiness."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.stats.projection import SKLEARN_FROM, auto_backend, stratified_subsample, trustworthiness, tsne_2d


def _blobs(n_per=150, d=20, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.standard_normal((n_per, d)), rng.standard_normal((2 * n_per, d)) + 4.0])
    return torch.from_numpy(x).float(), ["image"] * n_per + ["text"] * (2 * n_per)


def test_stratified_subsample_keeps_shares():
    labels = ["a"] * 900 + ["b"] * 90 + ["c"] * 10
    keep = stratified_subsample(labels, 100, seed=0)
    got = np.unique(np.asarray(labels)[keep], return_counts=True)[1].tolist()
    assert got == [90, 9, 1] and np.all(np.diff(keep) > 0)
    assert len(stratified_subsample(["a"] * 99 + ["b"], 10, seed=0)) == 10  # rare label kept, total held


def test_tsne_deterministic_and_separates_blobs():
    x, labels = _blobs()
    a = tsne_2d(x, labels, seed=3, cap=300)
    b = tsne_2d(x, labels, seed=3, cap=300)
    assert a.method == "openTSNE" and a.points.dtype == np.float32 and a.points.shape == (300, 2)
    assert np.array_equal(a.points, b.points) and np.array_equal(a.kept_index, b.kept_index)
    assert a.labels.count("image") == 100
    lab = np.asarray(a.labels)
    # nearest 2-D neighbour of each point carries the same label (blobs 4σ apart per axis)
    d = ((a.points[:, None] - a.points[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert np.mean(lab[d.argmin(1)] == lab) > 0.98
    assert trustworthiness(x[a.kept_index], a.points, n_neighbors=10) > 0.8


def test_sklearn_backend_and_small_inputs():
    x, labels = _blobs(n_per=10)
    p = tsne_2d(x, labels, seed=0, backend="sklearn")
    assert p.method == "sklearn" and p.points.shape == (30, 2) and p.perplexity == pytest.approx(29 / 3)


def test_auto_backend_goes_by_the_maps_size():
    x, labels = _blobs(n_per=10)  # 30 points
    assert tsne_2d(x, labels, seed=0, n_iter=50, sklearn_from=30).method == "sklearn"
    assert tsne_2d(x, labels, seed=0, n_iter=50, sklearn_from=31).method == "openTSNE"
    assert tsne_2d(x, labels, seed=0, n_iter=50, sklearn_from=30, backend="openTSNE").method == "openTSNE"  # a name wins
    assert auto_backend(SKLEARN_FROM - 1) == "openTSNE" and auto_backend(SKLEARN_FROM) == "sklearn"
    assert auto_backend(600) == "openTSNE"  # the harness's own maps (tsne_cap 600) keep their backend


def test_bad_input():
    x, labels = _blobs(n_per=10)
    with pytest.raises(ValueError, match="one entry per row"):
        tsne_2d(x, labels[:-1])
    with pytest.raises(ValueError, match="backend"):
        tsne_2d(x, labels, backend="umap")
    with pytest.raises(ValueError, match="n_iter must be an int >= 1"):
        tsne_2d(x, labels, n_iter=0)
    with pytest.raises(ValueError, match="sklearn_from must be an int >= 0"):
        tsne_2d(x, labels, sklearn_from=-1)
    with pytest.raises(ValueError, match="n_jobs must be an int >= 1"):
        tsne_2d(x, labels, n_jobs=0)


def test_fewer_iterations_are_stated_and_keep_the_map_trustworthy():
    x, labels = _blobs(n_per=60)
    full = tsne_2d(x, labels, seed=1)
    short = tsne_2d(x, labels, seed=1, n_iter=250)
    assert (full.iterations, short.iterations) == (750, 500)
    assert not np.array_equal(full.points, short.points)  # the iterations were really run fewer
    t_full = trustworthiness(x[full.kept_index], full.points)
    assert trustworthiness(x[short.kept_index], short.points) >= t_full - 0.01
