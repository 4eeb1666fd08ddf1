"""Ratio interval: Fieller bounds on known replicates, one estimator for point and interval,
saturation said out loud, unit resampling, determinism and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.bootstrap import CAP, fieller_bounds, unit_multiplicities
from harness.stats.gap import cross_modal_gap
from harness.stats.simulate import simulate_keys

STEP = 10 ** (1 / 100)  # grid resolution of the bounds


def test_fieller_bounds_on_known_replicates():
    rng = np.random.default_rng(0)
    intra = 1.0 + 0.01 * rng.standard_normal(2000)
    cross = 3.0 + 0.01 * rng.standard_normal(2000)
    low, high = fieller_bounds(cross, intra, 0.90)
    assert 3.0 / STEP**3 < low <= 3.0 <= high < 3.0 * STEP**3
    # a denominator that reaches 0: the ratio is unbounded above, and the bound says so
    low, high = fieller_bounds(cross, 0.5 * rng.standard_normal(2000), 0.90)
    assert high == CAP and 3.3 < low < 3.9  # q05 of 3 − t·N(0, 0.5²) clears 0 up to t = 3 / (1.645 · 0.5)
    # the cross-modal effect itself around 0: the lower bound goes negative
    low, _ = fieller_bounds(0.1 * rng.standard_normal(2000), intra, 0.90)
    assert low < 0


def test_fieller_lower_bound_matches_the_contrast_test():
    """ratio ≥ t is claimed exactly when the lower quantile of cross* − t·intra* clears 0."""
    rng = np.random.default_rng(1)
    cross, intra = 2.0 + 0.5 * rng.standard_normal(500), 1.0 + 0.3 * rng.standard_normal(500)
    low, _ = fieller_bounds(cross, intra, 0.90)
    for t in (0.5, 1.0, low, low * STEP):
        holds = np.quantile(cross - t * intra, 0.05) >= 0
        assert holds == (t <= low + 1e-12)


def _gap(shift=2.0, prompts=40, seed=0, **kw):
    k = simulate_keys(prompts=prompts, d=32, shift=shift, category_sd=kw.pop("category_sd", 0.5), seed=seed,
                      cap_image=400, cap_text=300)
    strata = kw.pop("strata", True)
    return cross_modal_gap(
        *k.sides(strata), permutations=200, seed=seed, **kw,
    )


def test_point_is_the_statistic_the_replicates_estimate():
    g = _gap(n_boot=300, category_sd=1.5)
    i = g.interval
    assert i.cross_mmd2 == pytest.approx(g.mmd2, abs=1e-15) and i.cross_low <= g.mmd2 <= i.cross_high
    assert i.intra_mmd2 == max(g.intra.values()) and i.strongest in g.intra
    assert i.ratio == pytest.approx(g.mmd2 / i.intra_mmd2) and i.low <= i.ratio <= i.high
    assert g.intra_basis == "labels: category" and set(g.intra) == {"image/by-category", "text/by-category"}


def test_no_label_falls_back_to_position_and_saturation_is_named():
    # no real sub-population: the fallback compares earlier and later tokens of each prompt, whose
    # population value is 0 here, so the ratio is unbounded above and the result says so
    g = _gap(shift=4.0, strata=False, n_boot=200)
    assert g.intra_basis.startswith("position") and set(g.intra) == {"image/by-position", "text/by-position"}
    assert "high" in g.interval.saturated and g.interval.high == CAP and g.interval.floored_fraction > 0.2
    assert g.interval.low >= 1.0  # a large shift still bounds the ratio from below


def test_noise_floor_varies_with_prompts_not_the_verdict_denominator():
    small, large = _gap(prompts=20, n_boot=10), _gap(prompts=160, n_boot=10)
    assert large.noise_floor["text"] < small.noise_floor["text"]
    assert "image/by-sample" not in small.intra  # the noise floor is reported, not beaten


def test_unit_multiplicities_resample_units():
    m = unit_multiplicities(7, 500, np.random.default_rng(0))
    assert m.shape == (500, 7) and (m.sum(1) == 7).all() and abs(m.mean() - 1.0) < 0.05


def test_deterministic_and_seed_matters():
    a, b, c = _gap(n_boot=50, seed=3), _gap(n_boot=50, seed=3), _gap(n_boot=50, seed=3, noise_halvings=4)
    assert a == b and a.mmd2 == c.mmd2
    other = _gap(n_boot=50, seed=3, level=0.5)
    assert other.interval.low >= a.interval.low


def test_bad_input():
    with pytest.raises(ValueError, match="level"):
        _gap(level=95)
    with pytest.raises(ValueError, match="n_boot"):
        _gap(n_boot=0)
