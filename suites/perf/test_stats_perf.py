"""Performance of the statistics engine (pytest-benchmark; not run in CI, no timed assertions).

(a) MMD permutation test: the batched evaluation (all permutations as matrix products against
    one kernel matrix) vs a Python loop over permutations, same data (2 × 2000 vectors, dim 128),
    same 1000 permutations, CPU. The null statistics must agree.
(b) t-SNE of 10,000 points (5 Gaussian blobs in 50-d): openTSNE vs sklearn, time and
    trustworthiness (k = 10, on a 2000-point subsample).

    pytest suites/perf/test_stats_perf.py -p no:cacheprovider       # as benchmarks
    python -m suites.perf.test_stats_perf                           # plain script, prints ratios (from the repository root)
"""

from __future__ import annotations

import functools

import pytest
import torch

from harness.perf.workloads import (
    DIM, N_JOBS, N_SIDE, PERMS, TSNE_N, TRUST_K, permutation_figures, run_batched, run_loop, run_tsne, trust, tsne_figures,
)

pytestmark = pytest.mark.perf


@functools.cache
def batched_reference():
    return run_batched()


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


if __name__ == "__main__":
    p = permutation_figures()
    if p["max_abs_diff"] > 1e-12 or p["observed_diff"] > 1e-12:
        raise SystemExit(f"the batched null differs from the loop's by {p['max_abs_diff']:.2e}")
    print(f"permutation test {p['n_side']}x2 dim {p['dim']}, {p['permutations']} perms, {p['threads']} threads: "
          f"batched {p['batched_s']:.2f} s, loop {p['loop_s']:.2f} s, loop/batched = {p['ratio']:.1f}x; "
          f"null max |diff| = {p['max_abs_diff']:.2e}")
    t = tsne_figures()
    print(f"t-SNE {t['points']} pts {t['dim']}-d, n_jobs={t['n_jobs']}: openTSNE {t['opentsne_s']:.1f} s (trustworthiness "
          f"k={TRUST_K} {t['trust_opentsne']:.4f}), sklearn {t['sklearn_s']:.1f} s (trustworthiness {t['trust_sklearn']:.4f}), "
          f"sklearn/openTSNE = {t['ratio']:.1f}x")
