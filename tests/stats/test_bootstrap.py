"""Bootstrap ratio: the weighted statistic against references, the baselines' known behaviour,
the interval's sense, determinism and bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from harness.stats.bootstrap import bootstrap_ratio_interval, weighted_mmd2
from harness.stats.kernels import pairwise_sq_dists, rbf_kernel
from harness.stats.mmd import mmd2_unbiased


def _grouped(n_samples, per, d, *, offset=0.0, sample_sd=0.0, seed=0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_samples), per)
    eff = rng.standard_normal((n_samples, d)) * sample_sd
    return torch.from_numpy(rng.standard_normal((n_samples * per, d)) + eff[g] + offset), g


def test_weighted_mmd2_with_unit_weights_is_the_u_statistic():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(12, 3, generator=g, dtype=torch.float64)
    k = rbf_kernel(pairwise_sq_dists(z, z), 1.5)
    u = torch.tensor([1.0] * 5 + [0.0] * 7, dtype=torch.float64)
    assert float(weighted_mmd2(k, u, 1 - u)) == pytest.approx(mmd2_unbiased(z[:5], z[5:], sigma=1.5), abs=1e-12)


def test_weighted_mmd2_with_copies_leaves_out_pairs_of_copies():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(6, 2, generator=g, dtype=torch.float64)
    k = rbf_kernel(pairwise_sq_dists(z, z), 1.0)
    u = torch.tensor([2.0, 1.0, 3.0, 0, 0, 0], dtype=torch.float64)
    v = torch.tensor([0, 0, 0, 1.0, 2.0, 1.0], dtype=torch.float64)
    # brute force: expand copies, average k over ordered pairs of different original tokens
    xs = [i for i in range(3) for _ in range(int(u[i]))]
    ys = [j for j in range(3, 6) for _ in range(int(v[j]))]

    def within(idx):
        vals = [float(k[a, b]) for a, b in itertools.permutations(idx, 2) if a != b]
        return sum(vals) / len(vals)

    cross = sum(float(k[a, b]) for a in xs for b in ys) / (len(xs) * len(ys))
    assert float(weighted_mmd2(k, u, v)) == pytest.approx(within(xs) + within(ys) - 2 * cross, abs=1e-12)


def test_point_cross_term_equals_plain_mmd2():
    xi, gi = _grouped(6, 10, 4, offset=0.7)
    xt, gt = _grouped(6, 12, 4, seed=1)
    res = bootstrap_ratio_interval(xi, xt, gi, gt, n_boot=20, sigma=2.0)
    assert res.cross_mmd2 == pytest.approx(mmd2_unbiased(xi, xt, sigma=2.0), abs=1e-12)
    assert res.n_points == 132 and res.sigma == 2.0
    assert res.intra_mmd2 == max(res.intra_image_random, res.intra_image_sample, res.intra_text_random, res.intra_text_sample)


def test_shift_gives_ratio_far_above_one():
    xi, gi = _grouped(30, 20, 8, offset=0.6)
    xt, gt = _grouped(30, 20, 8, seed=1)
    res = bootstrap_ratio_interval(xi, xt, gi, gt, n_boot=100, seed=0)
    assert res.low > 5.0 and res.low <= res.ratio <= res.high * 1.5
    assert 0.0 <= res.floored_fraction < 0.2


def test_same_distribution_interval_reaches_below_one():
    xi, gi = _grouped(30, 20, 8, sample_sd=0.3)
    xt, gt = _grouped(30, 20, 8, sample_sd=0.3, seed=1)
    res = bootstrap_ratio_interval(xi, xt, gi, gt, n_boot=100, seed=0)
    assert res.low < 1.0


def test_sample_effects_show_in_by_sample_baseline_not_random_halves():
    # text tokens carry a per-sample offset: by-sample halves differ, random token halves do not
    xi, gi = _grouped(20, 30, 8)
    xt, gt = _grouped(20, 30, 8, sample_sd=0.7, seed=1)
    res = bootstrap_ratio_interval(xi, xt, gi, gt, n_boot=10, seed=0)
    assert res.intra_text_sample > 10 * abs(res.intra_text_random)
    assert res.intra_mmd2 == res.intra_text_sample


def test_deterministic_and_capped():
    xi, gi = _grouped(10, 30, 4, offset=0.3)
    xt, gt = _grouped(10, 30, 4, seed=1)
    a = bootstrap_ratio_interval(xi, xt, gi, gt, n_boot=30, seed=5, max_points=100)
    b = bootstrap_ratio_interval(xi, xt, gi, gt, n_boot=30, seed=5, max_points=100)
    assert a == b and a.n_points == 100 and math.isfinite(a.low)


def test_bad_input():
    xi, gi = _grouped(4, 5, 3)
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap_ratio_interval(xi, xi, np.zeros(20), gi)
    with pytest.raises(ValueError, match="one sample id per token"):
        bootstrap_ratio_interval(xi, xi, gi[:5], gi)
    with pytest.raises(ValueError, match="level"):
        bootstrap_ratio_interval(xi, xi, gi, gi, level=95)


def test_point_baselines_average_many_halvings(monkeypatch):
    """The by-sample baseline of one halving depends on which samples fall together; the point
    estimate averages POINT_SPLITS halvings, so it moves far less from seed to seed than one halving
    does, and stays inside the interval the replicates make."""
    import harness.stats.bootstrap as bootstrap

    xi, gi = _grouped(24, 20, 8, sample_sd=0.5)
    xt, gt = _grouped(24, 20, 8, offset=0.6, sample_sd=0.5, seed=1)

    def runs():
        return [bootstrap_ratio_interval(xi, xt, gi, gt, n_boot=40, seed=s, max_points=960) for s in range(6)]

    averaged = runs()
    monkeypatch.setattr(bootstrap, "POINT_SPLITS", 1)
    single = runs()
    assert bootstrap.POINT_SPLITS == 1 and np.std([r.intra_image_sample for r in averaged]) < 0.3 * np.std(
        [r.intra_image_sample for r in single]
    )
    assert all(r.low <= r.ratio <= r.high for r in averaged)
