"""MMD²: against a brute-force double loop, batched null == loop null, blocked == unblocked,
p-value calibration under the null, power under a shift, and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from harness.stats.kernels import median_bandwidth, mixture_sigmas, pairwise_sq_dists, rbf_kernel
from harness.stats.mmd import mmd2_unbiased, mmd_permutation_loop, mmd_permutation_null, mmd_test


def _brute_mmd2(x: np.ndarray, y: np.ndarray, sigmas) -> float:
    def k(a, b):
        d2 = float(((a - b) ** 2).sum())
        return sum(math.exp(-d2 / (2 * s * s)) for s in sigmas) / len(sigmas)

    n, m = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j)
    syy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    sxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m))
    return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2 * sxy / (n * m)


def _sample(n, m, d, shift=0.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype), torch.randn(m, d, generator=g, dtype=dtype) + shift


@pytest.mark.parametrize("sigmas", [(1.3,), (0.4, 1.3, 2.0)], ids=["single", "mixture"])
def test_mmd2_matches_brute_force(sigmas):
    x, y = _sample(7, 9, 3, shift=0.5)
    want = _brute_mmd2(x.numpy(), y.numpy(), sigmas)
    got = mmd2_unbiased(x, y, sigma=sigmas if len(sigmas) > 1 else sigmas[0])
    assert abs(got - want) < 1e-6
    assert want > 0.0  # the case must be able to distinguish a sign error


def test_mixture_kernel_in_mmd_test_uses_median_scales():
    x, y = _sample(7, 9, 3, shift=0.5)
    sigma = median_bandwidth(x, y)
    res = mmd_test(x, y, permutations=0, bandwidth="mixture")
    assert res.kernel == "rbf-mixture" and res.bandwidth == pytest.approx(sigma)
    assert res.mmd2 == pytest.approx(_brute_mmd2(x.numpy(), y.numpy(), mixture_sigmas(sigma)), abs=1e-6)
    assert math.isnan(res.p_value)


def test_median_bandwidth_is_median_pooled_distance():
    x, y = _sample(5, 6, 2)
    z = torch.cat([x, y]).numpy()
    d = [np.linalg.norm(z[i] - z[j]) for i in range(11) for j in range(i + 1, 11)]  # 55 pairs: odd
    assert median_bandwidth(x, y) == pytest.approx(float(np.median(d)), rel=1e-9)


def test_pairwise_sq_dists_nonnegative_and_upcasts_half():
    x = torch.randn(20, 4).to(torch.bfloat16)
    d2 = pairwise_sq_dists(x, x)
    assert d2.dtype == torch.float32 and bool((d2 >= 0).all())
    assert rbf_kernel(torch.zeros(2), 1.0).tolist() == [1.0, 1.0]


def test_batched_null_equals_loop_null():
    x, y = _sample(30, 40, 5, shift=0.3, dtype=torch.float32)
    obs_b, null_b = mmd_permutation_null(x, y, sigma=2.0, permutations=300, seed=7)
    obs_l, null_l = mmd_permutation_loop(x, y, sigma=2.0, permutations=300, seed=7)
    assert obs_b == pytest.approx(obs_l, abs=1e-12)
    torch.testing.assert_close(null_b, null_l, rtol=0, atol=1e-12)
    _, null_other = mmd_permutation_null(x, y, sigma=2.0, permutations=300, seed=8)
    assert not torch.allclose(null_b, null_other)  # seed matters


def test_blocked_equals_unblocked():
    x, y = _sample(33, 41, 5, shift=0.2)
    full = mmd_test(x, y, permutations=200, seed=3)
    blocked = mmd_test(x, y, permutations=200, seed=3, max_kernel_elements=74 * 10 + 5)  # 10-row blocks
    assert blocked.mmd2 == pytest.approx(full.mmd2, abs=1e-12)
    assert blocked.p_value == full.p_value
    assert blocked.null_std == pytest.approx(full.null_std, rel=1e-9)


def test_p_values_uniform_under_null():
    ps = []
    for seed in range(200):
        x, y = _sample(15, 20, 2, seed=seed)
        ps.append(mmd_test(x, y, permutations=200, seed=seed).p_value)
    ps = np.asarray(ps)
    # the permutation p is discrete on {1/201, ..., 1}; with 201 levels the KS test is still apt
    assert scipy.stats.kstest(ps, "uniform").pvalue > 0.01
    assert ps.min() >= 1.0 / 201


def test_shift_gives_small_p_and_p_never_zero():
    x, y = _sample(60, 60, 4, shift=1.0)
    res = mmd_test(x, y, permutations=200)
    assert res.p_value == pytest.approx(1.0 / 201)  # +1 correction: the floor, not 0
    assert res.mmd2 > 0 and res.mmd == pytest.approx(math.sqrt(res.mmd2))
    assert res.null_mean < res.mmd2


def test_same_seed_same_result_and_numpy_input():
    x, y = _sample(25, 25, 3, shift=0.2)
    assert mmd_test(x, y, permutations=100, seed=1) == mmd_test(x.numpy(), y.numpy(), permutations=100, seed=1)


@pytest.mark.parametrize(
    "x, y, match",
    [
        (np.zeros((0, 3)), np.zeros((5, 3)), "empty"),
        (np.zeros((5, 3)), np.zeros((5, 4)), "same dim"),
        (np.array([[0.0, np.nan]] * 3), np.zeros((5, 2)), "non-finite"),
        (np.zeros(5), np.zeros((5, 1)), "2-D"),
        (np.zeros((1, 2)), np.zeros((5, 2)), "at least 2"),
    ],
    ids=["empty", "dims", "nan", "rank", "one-row"],
)
def test_bad_input_raises(x, y, match):
    with pytest.raises(ValueError, match=match):
        mmd_test(x, y, permutations=10)


def test_bad_bandwidth_and_permutations_raise():
    x, y = _sample(5, 5, 2)
    with pytest.raises(ValueError, match="bandwidth"):
        mmd_test(x, y, bandwidth="silverman")
    with pytest.raises(ValueError, match="bandwidth"):
        mmd_test(x, y, bandwidth=-1.0)
    with pytest.raises(ValueError, match="permutations"):
        mmd_test(x, y, permutations=-3)
