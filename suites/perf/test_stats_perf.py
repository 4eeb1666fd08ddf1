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


def run_batched(perms: int = PERMS):
    x, y, s = perm_data()
    return mmd_permutation_null(x, y, sigma=s, permutations=perms, seed=0)


def run_loop(perms: int = PERMS):
    x, y, s = perm_data()
    return mmd_permutation_loop(x, y, sigma=s, permutations=perms, seed=0)


@functools.lru_cache(maxsize=None)
def batched_reference():
    return run_batched()


@functools.lru_cache(maxsize=None)
def tsne_data(n: int = TSNE_N):
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((BLOBS, TSNE_DIM)) * 3.0
    lab = rng.integers(0, BLOBS, n)
    x = (centers[lab] + rng.standard_normal((n, TSNE_DIM))).astype(np.float32)
    return x, [f"blob{i}" for i in lab]


def run_tsne(backend: str, n: int = TSNE_N):
    x, labels = tsne_data(n)
    return tsne_2d(x, labels, seed=0, cap=n, backend=backend, n_jobs=N_JOBS)


def trust(proj) -> float:
    x, _ = tsne_data(len(proj.kept_index))
    sub = np.random.default_rng(1).choice(len(proj.kept_index), min(TRUST_SUB, len(proj.kept_index)), replace=False)
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


def permutation_figures(perms: int = PERMS) -> dict:
    """Batched vs per-permutation loop on the same data and permutations: seconds, ratio, max |Δ null|."""
    perm_data()
    b, tb = _timed(run_batched, perms)
    lp, tl = _timed(run_loop, perms)
    _assert_same_null(b, lp)
    return {"n_side": N_SIDE, "dim": DIM, "permutations": perms, "threads": torch.get_num_threads(),
            "batched_s": tb, "loop_s": tl, "ratio": tl / tb, "max_abs_diff": float((b[1] - lp[1]).abs().max())}


def tsne_figures(n: int = TSNE_N) -> dict:
    """openTSNE vs sklearn on the same n points: seconds, ratio, trustworthiness of each (k = 10)."""
    tsne_data(n)
    po, to = _timed(run_tsne, "openTSNE", n)
    ps, ts = _timed(run_tsne, "sklearn", n)
    return {"points": n, "dim": TSNE_DIM, "n_jobs": N_JOBS, "opentsne_s": to, "sklearn_s": ts, "ratio": ts / to,
            "trust_opentsne": trust(po), "trust_sklearn": trust(ps)}


if __name__ == "__main__":
    p = permutation_figures()
    print(f"permutation test {p['n_side']}x2 dim {p['dim']}, {p['permutations']} perms, {p['threads']} threads: "
          f"batched {p['batched_s']:.2f} s, loop {p['loop_s']:.2f} s, loop/batched = {p['ratio']:.1f}x; "
          f"null max |diff| = {p['max_abs_diff']:.2e}")
    t = tsne_figures()
    print(f"t-SNE {t['points']} pts {t['dim']}-d, n_jobs={t['n_jobs']}: openTSNE {t['opentsne_s']:.1f} s (trustworthiness "
          f"k={TRUST_K} {t['trust_opentsne']:.4f}), sklearn {t['sklearn_s']:.1f} s (trustworthiness {t['trust_sklearn']:.4f}), "
          f"sklearn/openTSNE = {t['ratio']:.1f}x")
