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


def test_copies_of_a_sample_are_weighted_per_copy_and_not_paired():
    """weighted_mmd2 with sample blocks equals the U-statistic on the data set written out copy by
    copy, where two tokens pair unless they are one token of one copy or come from different copies
    of one sample."""
    from harness.stats.bootstrap import _SampleBlocks

    g = torch.Generator().manual_seed(2)
    z = torch.randn(9, 2, generator=g, dtype=torch.float64)
    k = rbf_kernel(pairwise_sq_dists(z, z), 1.0)
    codes = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3])
    mult = np.array([2.0, 1.0, 3.0, 2.0])
    u_half = np.array([1, 0, 1, 1, 0, 1, 1, 0, 0], dtype=float)  # tokens 0, 2, 3, 5, 6
    v_half = np.array([0, 1, 0, 0, 1, 0, 0, 1, 1], dtype=float)  # tokens 1, 4, 7, 8
    u, v = torch.from_numpy(u_half * mult[codes]), torch.from_numpy(v_half * mult[codes])
    excess = torch.from_numpy(np.where(mult > 1, 1 - 1 / mult, 0.0)[codes])
    got = float(weighted_mmd2(k, u, v, blocks=_SampleBlocks(k, codes), excess=excess))

    def expand(half):  # (token, copy) elements
        return [(i, c) for i in np.flatnonzero(half) for c in range(int(mult[codes[i]]))]

    def pairs(a, b):
        return [(x, y) for x in a for y in b if x != y and (codes[x[0]] != codes[y[0]] or x[1] == y[1])]

    def mean_k(a, b):
        ps = pairs(a, b)
        return sum(float(k[x[0], y[0]]) for x, y in ps) / len(ps)

    xs, ys = expand(u_half), expand(v_half)
    assert got == pytest.approx(mean_k(xs, xs) + mean_k(ys, ys) - 2 * mean_k(xs, ys), abs=1e-12)


def test_replicates_scatter_around_the_point_estimate(monkeypatch):
    """With prompts whose tokens cluster, the replicates' cross term and by-sample baseline average
    to the data's own figures; pairing copies of one sample (the plain weighted statistic) would
    inflate the baseline about 2x, which this test also shows."""
    import harness.stats.bootstrap as bootstrap

    xi, gi = _grouped(40, 25, 8, sample_sd=0.8)
    xt, gt = _grouped(40, 25, 8, offset=0.5, sample_sd=0.8, seed=1)
    plain = bootstrap.weighted_mmd2

    def replicate_means(drop_blocks):
        seen = []

        def record(k, u, v, **kw):
            out = plain(k, u, v, **({} if drop_blocks else kw))
            seen.append(out.cpu().numpy())
            return out

        monkeypatch.setattr(bootstrap, "weighted_mmd2", record)
        res = bootstrap_ratio_interval(xi, xt, gi, gt, n_boot=200, seed=0, max_points=2000)
        reps = np.concatenate(seen)[bootstrap.POINT_SPLITS:]
        return res, np.nanmean(reps[:, 0]), np.nanmean(reps[:, 2])

    monkeypatch.setattr(bootstrap, "POINT_SPLITS", 200)  # a point estimate precise enough to compare with
    res, cross, image_sample = replicate_means(drop_blocks=False)
    assert cross == pytest.approx(res.cross_mmd2, rel=0.1)
    assert image_sample == pytest.approx(res.intra_image_sample, rel=0.25)
    _, _, paired = replicate_means(drop_blocks=True)
    assert paired > 1.6 * res.intra_image_sample
