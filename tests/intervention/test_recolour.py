"""The per-head affine maps: exact moments on the fitting data, the shift, the random control's norm,
bad input; and the paired prompt bootstrap against a simulation with per-prompt dependence."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.paired import paired_effect
from harness.stats.recolour import covariance, fit_mean, fit_moments, identity, random_shift

HEADS, D = 3, 6


def _keys(n: int, seed: int, *, scale: float, offset: float) -> np.ndarray:
    """[n, HEADS · D] correlated, non-isotropic vectors (each head its own mixing)."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((HEADS, D, D)) * scale
    z = rng.standard_normal((n, HEADS, D))
    return (np.einsum("hij,nhj->nhi", mix, z) + offset + rng.standard_normal((HEADS, D))).reshape(n, -1)


@pytest.fixture
def pair():
    return _keys(900, 1, scale=2.0, offset=3.0), _keys(120, 2, scale=0.5, offset=-1.0)


@pytest.mark.parametrize("shrinkage", ["ledoit-wolf", "none"])
def test_moments_give_the_target_mean_and_covariance_on_the_fitting_data(pair, shrinkage):
    source, target = pair
    m = fit_moments(source, target, HEADS, shrinkage=shrinkage)
    mapped = m.apply(source).reshape(len(source), HEADS, D)
    t = target.reshape(len(target), HEADS, D)
    for h in range(HEADS):
        want = covariance(t[:, h], shrinkage)
        np.testing.assert_allclose(mapped[:, h].mean(0), t[:, h].mean(0), atol=1e-10)
        np.testing.assert_allclose(covariance(mapped[:, h], "none"), want, rtol=1e-7, atol=1e-9 * np.abs(want).max())
    if shrinkage == "ledoit-wolf":  # the shrunk target is not the empirical one (else the option would do nothing)
        assert not np.allclose(covariance(t[:, 0], "ledoit-wolf"), covariance(t[:, 0], "none"), rtol=1e-3)


def test_moments_act_per_head(pair):
    """Changing one head's source vectors changes only that head's map."""
    source, target = pair
    other = source.copy()
    other[:, :D] *= 5.0
    a, b = fit_moments(source, target, HEADS), fit_moments(other, target, HEADS)
    assert not np.allclose(a.matrix[0], b.matrix[0])
    np.testing.assert_array_equal(a.matrix[1:], b.matrix[1:])
    np.testing.assert_array_equal(a.offset[1:], b.offset[1:])


def test_mean_shift_moves_the_source_mean_onto_the_target_mean(pair):
    source, target = pair
    m = fit_mean(source, target, HEADS)
    np.testing.assert_allclose(m.apply(source).mean(0), target.mean(0), atol=1e-10)
    np.testing.assert_array_equal(m.matrix, identity(HEADS, D).matrix)


def test_zero_shift_is_the_identity(pair):
    source, _ = pair
    m = fit_mean(source, source, HEADS)
    np.testing.assert_allclose(m.offset, 0.0, atol=1e-12)
    np.testing.assert_array_equal(identity(HEADS, D).apply(source), source)


def test_random_control_has_the_mean_shift_norm_per_head_and_another_direction(pair):
    source, target = pair
    shift = fit_mean(source, target, HEADS)
    r = random_shift(shift, seed=3)
    np.testing.assert_allclose(r.shift_norms(), shift.shift_norms(), rtol=1e-12)
    cos = (r.offset * shift.offset).sum(1) / (r.shift_norms() * shift.shift_norms())
    assert (np.abs(cos) < 0.99).all()
    np.testing.assert_array_equal(random_shift(shift, seed=3).offset, r.offset)  # seeded
    assert not np.allclose(random_shift(shift, seed=4).offset, r.offset)


def test_random_directions_are_uniform_on_the_sphere():
    """Over many seeds the mean direction is ≈ 0 and each axis carries 1/d of the squared norm."""
    shift = fit_mean(np.zeros((2, D)), np.ones((2, D)), 1)
    dirs = np.stack([random_shift(shift, seed=s).offset[0] for s in range(4000)]) / shift.shift_norms()[0]
    assert np.abs(dirs.mean(0)).max() < 0.05
    np.testing.assert_allclose((dirs**2).mean(0), 1.0 / D, atol=0.02)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: fit_moments(np.ones((5, 7)), np.ones((5, 7)), 2), "heads"),
        (lambda: fit_moments(np.ones((5, 6)), np.ones((5, 4)), 2), "same width"),
        (lambda: fit_moments(np.ones((1, 6)), np.ones((5, 6)), 2), "at least 2"),
        (lambda: fit_moments(np.full((5, 6), np.nan), np.ones((5, 6)), 2), "finite"),
        (lambda: fit_moments(np.ones((5, 6)), np.ones((5, 6)), 2, shrinkage="oas"), "shrinkage"),
        (lambda: fit_mean(np.ones((5, 6)), np.ones((5, 6)), 0), "heads"),
    ],
)
def test_bad_input_is_one_line(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_paired_effect_covers_the_truth_with_prompt_dependence():
    """Prompts with their own offset (shared by before and after) and a true change of 0.3: the 90 %
    interval of the change covers it in about 90 % of simulated studies, and the point is unbiased."""
    rng = np.random.default_rng(0)
    hits, points = 0, []
    runs = 200
    for i in range(runs):
        p = 36
        prompt = rng.normal(0, 1.0, p)  # per-prompt level, shared by both conditions
        weights = rng.integers(5, 40, p)  # text queries per prompt
        before = prompt + rng.normal(0, 0.3, p)
        after = prompt + 0.3 + rng.normal(0, 0.3, p)
        e = paired_effect(before, after, weights, n_boot=300, seed=i)
        hits += e.change_low <= 0.3 <= e.change_high
        points.append(e.change)
    assert 0.82 <= hits / runs <= 0.97
    assert abs(np.mean(points) - 0.3) < 0.03


def test_paired_effect_leaves_out_prompts_without_a_figure():
    e = paired_effect([1.0, np.nan, 3.0], [2.0, 5.0, np.nan], n_boot=50)
    assert e.n_prompts == 1 and e.before == 1.0 and e.after == 2.0 and e.change == 1.0
    empty = paired_effect([np.nan], [1.0], n_boot=10)
    assert empty.n_prompts == 0 and np.isnan(empty.change)


def test_fit_error_is_rounding_for_a_map_that_does_what_it_says_and_large_otherwise(pair):
    """The suite's fit check reads fit_error: it must see a map that misses its target's moments."""
    from dataclasses import replace

    from harness.stats.recolour import fit_error

    (source, target), heads = pair, HEADS
    for shrinkage in ("none", "ledoit-wolf"):
        err = fit_error(fit_moments(source, target, heads, shrinkage=shrinkage), source, target, heads, shrinkage=shrinkage)
        assert err["mean"] < 1e-10 and err["cov"] < 1e-10
    shift = fit_mean(source, target, heads)
    assert fit_error(shift, source, target, heads, shrinkage=None)["mean"] < 1e-10
    assert fit_error(shift, source, target, heads, shrinkage="none")["cov"] > 0.1  # a shift leaves the covariance
    off = replace(shift, offset=shift.offset + 0.5)
    assert fit_error(off, source, target, heads, shrinkage=None)["mean"] > 0.01


def test_a_source_spanning_fewer_dimensions_than_its_head_is_named_and_its_map_cannot_fit(pair):
    """Keys of one head confined to a subspace (few or degenerate image tokens): the map records the rank it could
    whiten, the fit check would see the miss, and the study's line says why instead of a failed fit."""
    from harness.intervention.fit import KINDS, Intervention, singular_source
    from harness.stats.recolour import fit_error

    source, target = pair
    flat = source.reshape(len(source), HEADS, D).copy()
    flat[:, 1, 4:] = flat[:, 1, :2] @ np.ones((2, 2))  # head 1: 2 of its 6 dimensions are sums of two others
    flat = flat.reshape(len(source), -1)
    full, short = fit_moments(source, target, HEADS), fit_moments(flat, target, HEADS)
    assert full.source_rank == (D,) * HEADS and short.source_rank == (D, D - 2, D)
    assert fit_error(short, flat, target, HEADS, shrinkage="ledoit-wolf")["cov"] > 1e-3  # the miss the check would report
    ivs = [Intervention(KINDS["moments"], 2, m) for m in (full, short)]
    assert singular_source(ivs[:1], 2) is None
    assert singular_source(ivs, 2) == (
        "intervention moments at layer 2: on fitting half 2 of 2 the image keys of KV head 1 span 4 of its 6 dimensions "
        "(covariance eigenvalues above 1e-12 of the largest), so no linear map gives them the text keys' covariance and "
        "`moments` cannot do what it says on these keys (the shift maps are unaffected)")
    assert singular_source([Intervention(KINDS["mean"], 2, fit_mean(flat, target, HEADS))], 2) is None


def test_a_head_whose_source_keys_are_all_equal_is_rank_0_not_an_exception(pair):
    """Every image key equal on one head (seen on a tiny Gemma 3): `moments` records rank 0 for it and the study's
    line names it; before, fitting raised and took every intervention of the layer down with it."""
    from harness.intervention.fit import KINDS, Intervention, singular_source

    source, target = pair
    flat = source.reshape(len(source), HEADS, D).copy()
    flat[:, 2] = 0.25
    m = fit_moments(flat.reshape(len(source), -1), target, HEADS)
    assert m.source_rank == (D, D, 0)
    mapped = m.apply(flat.reshape(len(source), -1)).reshape(len(source), HEADS, D)
    np.testing.assert_allclose(mapped[:, 2], np.broadcast_to(target.reshape(len(target), HEADS, D)[:, 2].mean(0), (len(source), D)))
    assert "KV head 2 span 0 of its 6 dimensions" in singular_source([Intervention(KINDS["moments"], 0, m)], 0)
