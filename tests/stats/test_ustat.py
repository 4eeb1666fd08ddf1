"""The unbiased U-statistic variance and the pair kernel of a between-prompt MMD², each against a
known answer: closed-form Hoeffding terms for a product kernel, and the spread over independent
draws of clustered keys (docs/statistics.md "Amendment 1"). CI-sized: seconds."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats import population as P
from harness.stats import ustat
from harness.stats.gap import cross_modal_gap
from harness.stats.bootstrap import intra_effects, with_data_row


def _product_kernel(x: np.ndarray) -> np.ndarray:
    """h(x, y) = x·y on scalar units: U estimates μ²; ζ₁ = μ², ζ₂ = 1 + 2μ², degenerate part (x−μ)(y−μ)."""
    return np.outer(x, x)


@pytest.mark.parametrize("mu", [0.0, 0.7])
def test_the_variance_estimate_is_unbiased_for_a_known_kernel(mu):
    n, draws = 12, 4000
    rng = np.random.default_rng(0)
    truth = (4 * (n - 2) * mu**2 + 2 * (1 + 2 * mu**2)) / (n * (n - 1))  # Hoeffding
    est, deg, u = [], [], []
    for _ in range(draws):
        a = _product_kernel(mu + rng.standard_normal(n))
        est.append(ustat.covariance(a, a))
        deg.append(ustat.degenerate(a, a))
        u.append((a.sum() - np.trace(a)) / (n * (n - 1)))
    se = np.std(est) / np.sqrt(draws)
    assert np.mean(est) == pytest.approx(truth, abs=4 * se)  # unbiased, to Monte-Carlo error
    assert np.var(u) == pytest.approx(truth, rel=0.08)  # and the truth is the statistic's spread
    assert np.mean(deg) == pytest.approx(1.0, rel=0.05)  # E (x−μ)²(y−μ)² = 1
    assert min(est) < 0 <= truth or mu > 0  # unbiased, so it can go below 0 near a degenerate null


def test_the_covariance_is_bilinear_and_symmetric():
    rng = np.random.default_rng(1)
    a, b = (lambda m: m + m.T)(rng.standard_normal((9, 9))), (lambda m: m + m.T)(rng.standard_normal((9, 9)))
    assert ustat.covariance(a, b) == pytest.approx(ustat.covariance(b, a))
    v = ustat.covariance(a - 2 * b, a - 2 * b)
    assert v == pytest.approx(ustat.covariance(a, a) - 4 * ustat.covariance(a, b) + 4 * ustat.covariance(b, b))
    with pytest.raises(ValueError, match="at least 4 units"):
        ustat.covariance(a[:3, :3], b[:3, :3])


def _draw(seed: int, prompts: int):
    pop = P.population(d=32, layout="shared-offset", shift=2.0, category_sd=1.0)
    return cross_modal_gap(*P.sample(pop, prompts=prompts, cap=600, seed=seed).sides(), permutations=1, n_boot=1).comparisons


def test_centring_leaves_every_mmd2_on_the_data_unchanged():
    cross, intra = _draw(0, 30)
    m = with_data_row(len(cross.has_a), 1, 0)[:1]  # the data: every unit once
    assert ustat.centred(cross).mmd2(m) == pytest.approx(cross.mmd2(m), abs=1e-12)
    centred = {k: [ustat.centred(c) for c in v] for k, v in intra.items()}
    for k, e in intra_effects(intra, m).items():
        assert intra_effects(centred, m)[k] == pytest.approx(e, abs=1e-12)


def test_the_linearised_variance_matches_the_spread_over_draws():
    """Prompts with their own offsets (tokens of one prompt alike), 40 prompts, 60 independent draws:
    the sd over draws of the cross-modal MMD² and of a split effect against the root of the mean
    estimated variance (within 25 %; the Monte-Carlo error of an sd over 60 draws is about 9 %)."""
    cross_v, split_v, cross_x, split_x = [], [], [], []
    for seed in range(60):
        cross, intra = _draw(seed, 40)
        m = with_data_row(len(cross.has_a), 1, 0)[:1]
        a_c, a_s = ustat.pair_kernel(cross), ustat.split_kernel(intra["image/by-category"])
        cross_v.append(ustat.covariance(a_c, a_c))
        split_v.append(ustat.covariance(a_s, a_s))
        cross_x.append(cross.mmd2(m)[0])
        split_x.append(intra_effects({"s": intra["image/by-category"]}, m)["s"][0])
    assert np.sqrt(np.mean(cross_v)) == pytest.approx(np.std(cross_x, ddof=1), rel=0.25)
    assert np.sqrt(np.mean(split_v)) == pytest.approx(np.std(split_x, ddof=1), rel=0.25)
