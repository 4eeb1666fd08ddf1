"""Performance of the statistics engine (pytest-benchmark; not run in CI, no timed assertions).

(a) MMD permutation test: the batched evaluation (all permutations as matrix products against
    one kernel matrix) vs a Python loop over permutations, same data (2 × 2000 vectors, dim 128),
    same 1000 permutations, CPU. The null statistics must agree.
(b) t-SNE of 10,000 points (5 Gaussian blobs in 50-d): openTSNE vs sklearn, time and
    trustworthiness (k = 10, on a 2000-point subsample).

    pytest suites/perf/test_stats_perf.py -p no:cacheprovider       # as benchmarks
    PYTHONPATH=. python suites/perf/test_stats_perf.py               # plain script, prints ratios
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
import torch

from harness.stats.kernels import median_bandwidth
from harness.stats.mmd import mmd_permutation_loop, mmd_permutation_null
from harness.stats.projection import trustworthiness, tsne_2d

pytestmark = pytest.mark.perf

N_SIDE, DIM, PERMS = 2000, 128, 1000
TSNE_N, TSNE_DIM, BLOBS, TRUST_SUB, TRUST_K = 10_000, 50, 5, 2000, 10
N_JOBS = 2


@functools.lru_cache(maxsize=None)
def perm_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_SIDE, DIM, generator=g)
    y = torch.randn(N_SIDE, DIM, generator=g) + 0.05
    return x, y, median_bandwidth(x, y)


def run_batched():
    x, y, s = perm_data()
    return mmd_permutation_null(x, y, sigma=s, permutations=PERMS, seed=0)


def run_loop():
    x, y, s = perm_data()
    return mmd_permutation_loop(x, y, sigma=s, permutations=PERMS, seed=0)


@functools.lru_cache(maxsize=None)
def batched_reference():
    return run_batched()


@functools.lru_cache(maxsize=None)
def tsne_data():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((BLOBS, TSNE_DIM)) * 3.0
    lab = rng.integers(0, BLOBS, TSNE_N)
    x = (centers[lab] + rng.standard_normal((TSNE_N, TSNE_DIM))).astype(np.float32)
    return x, [f"blob{i}" for i in lab]


def run_tsne(backend: str):
    x, labels = tsne_data()
    return tsne_2d(x, labels, seed=0, cap=TSNE_N, backend=backend, n_jobs=N_JOBS)


def trust(proj) -> float:
    x, _ = tsne_data()
    sub = np.random.default_rng(1).choice(len(proj.kept_index), TRUST_SUB, replace=False)
    return trustworthiness(x[proj.kept_index[sub]], proj.points[sub], n_neighbors=TRUST_K)


def _assert_same_null(a, b):
    assert a[0] == pytest.approx(b[0], abs=1e-12)
    torch.testing.assert_close(a[1], b[1], rtol=0, atol=1e-12)


def test_permutation_batched(benchmark):
    out = benchmark.pedantic(run_batched, rounds=1, iterations=1)
    _assert_same_null(out, batched_reference())
    benchmark.extra_info.update(n_side=N_SIDE, dim=DIM, permutations=PERMS, observed_mmd2=out[0])


def test_permutation_loop(benchmark):
    out = benchmark.pedantic(run_loop, rounds=1, iterations=1)
    _assert_same_null(out, batched_reference())
    benchmark.extra_info.update(n_side=N_SIDE, dim=DIM, permutations=PERMS, observed_mmd2=out[0])


@pytest.mark.parametrize("backend", ["openTSNE", "sklearn"])
def test_tsne(benchmark, backend):
    proj = benchmark.pedantic(run_tsne, args=(backend,), rounds=1, iterations=1)
    assert proj.method == backend and proj.points.shape == (TSNE_N, 2)
    benchmark.extra_info.update(points=TSNE_N, trustworthiness_k10=trust(proj), n_jobs=N_JOBS)


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    perm_data()
    b, tb = _timed(run_batched)
    lp, tl = _timed(run_loop)
    _assert_same_null(b, lp)
    print(f"permutation test {N_SIDE}x2 dim {DIM}, {PERMS} perms, {torch.get_num_threads()} threads: "
          f"batched {tb:.2f} s, loop {tl:.2f} s, loop/batched = {tl / tb:.1f}x; null max |diff| = "
          f"{float((b[1] - lp[1]).abs().max()):.2e}")
    tsne_data()
    po, to = _timed(run_tsne, "openTSNE")
    ps, ts = _timed(run_tsne, "sklearn")
    print(f"t-SNE {TSNE_N} pts {TSNE_DIM}-d, n_jobs={N_JOBS}: openTSNE {to:.1f} s (trustworthiness k={TRUST_K} "
          f"{trust(po):.4f}), sklearn {ts:.1f} s (trustworthiness {trust(ps):.4f}), sklearn/openTSNE = {ts / to:.1f}x")
