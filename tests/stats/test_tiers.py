"""The tiers' estimators against known answers (harness.stats.population: closed-form kernel figures
of clustered Gaussian keys). CI-sized: seconds. The study itself: `python -m harness.stats.calibrate`
(docs/statistics.md "Calibration of the tiers"); its CI-sized part is ``test_study_runs_and_summarises``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from harness.stats import population as P
from harness.stats import ustat
from harness.stats.between import unit_comparison
from harness.stats.bootstrap import CAP, GRID, with_data_row
from harness.stats.gap import cross_modal_gap
from harness.stats.kernel_mean import KernelMeanTier, SplitBound, holds, kernel_mean_tier
from harness.stats.kernels import MIXTURE_SCALES
from harness.stats.mmd import mmd2_unbiased
from harness.stats.paper_form import paper_form, token_mmd2
from harness.stats.separability import heldout_auc_replicates
from harness.stats.support import setup, share_replicates, summarize
from harness.stats.tiers import UNDECIDED_NO_SPLIT, UNDECIDED_NOT_SIGNIFICANT, UNDECIDED_UNBOUNDED, all_tiers, real_splits, verdict


def test_mean_kernel_matches_monte_carlo():
    rng = np.random.default_rng(0)
    lam = np.array([2.0, 1.0, 0.5])
    m = np.array([0.3, -0.2, 1.0])
    x = rng.standard_normal((400_000, 3)) * np.sqrt(lam) + m
    y = rng.standard_normal((400_000, 3)) * np.sqrt(lam)
    mc = np.exp(-((x - y) ** 2).sum(1) / (2 * 1.7**2)).mean()
    assert P._mean_kernel(m, lam, 1.7) == pytest.approx(mc, abs=2e-3)


def test_population_truth_matches_iid_draws():
    """Token-level MMD² of iid draws from the two marginal mixtures estimates the closed form."""
    pop = P.population(d=16, layout="shared-offset", shift=1.5)
    sigma = P.median_sigma(pop, n=600)
    truth = P.truth(pop, sigma).cross
    rng = np.random.default_rng(1)
    est = []
    for _ in range(4):
        cat_i, cat_t = rng.integers(0, pop.categories, (2, 1500))
        xi = pop.category_means[cat_i] + pop.shift * pop.delta + rng.standard_normal((1500, 16)) * np.sqrt(pop.lam)
        xt = pop.category_means[cat_t] + rng.standard_normal((1500, 16)) * np.sqrt(pop.lam)
        est.append(mmd2_unbiased(torch.tensor(xi), torch.tensor(xt), sigma=sigma))
    assert np.mean(est) == pytest.approx(truth, rel=0.15)


def test_shift_for_ratio_hits_the_ratio():
    pop = P.population(d=32)
    sigma = P.median_sigma(pop, n=500)
    for scales in (None, MIXTURE_SCALES):
        shift = P.shift_for_ratio(10.0, sigma=sigma, scales=scales, d=32)
        t = P.truth(P.population(d=32, shift=shift), sigma, scales)
        assert t.ratio == pytest.approx(10.0, rel=1e-6)
        assert t.intra["image/by-language"] == 0.0


def test_between_prompt_estimates_are_unbiased_for_the_closed_form():
    """Mean over runs of the clustered sample's between-prompt MMD² (cross and category split) is the
    population figure, within 3 standard errors."""
    pop = P.population(d=32, layout="shared-offset", shift=2.0)
    sigma = P.median_sigma(pop, n=500)
    truth = P.truth(pop, sigma)
    cross, cat = [], []
    for seed in range(10):
        k = P.sample(pop, prompts=30, cap=400, seed=seed)
        g = cross_modal_gap(*k.sides(), sigma=sigma, permutations=1, n_boot=1)
        cross.append(g.mmd2)
        cat.append(g.intra["text/by-category"])
    for values, want in ((cross, truth.cross), (cat, truth.intra["text/by-category"])):
        se = np.std(values, ddof=1) / np.sqrt(len(values))
        assert abs(np.mean(values) - want) <= 3 * se + 1e-4, (np.mean(values), want, se)


def _comparisons(seed=0, prompts=60, ratio_shift=2.0):
    pop = P.population(d=32, layout="shared-offset", shift=ratio_shift)
    k = P.sample(pop, prompts=prompts, cap=600, seed=seed)
    g = cross_modal_gap(*k.sides(), permutations=1, n_boot=1)
    return g.comparisons


def test_kernel_tier_bounds_every_split_on_its_own():
    """Each split's L is the last grid t from 0 up to which cross − t·effect ≥ z·sd(t), sd from the
    unbiased variance of the linearised contrast kernel A_c − t·A_s (floored at its degenerate part)."""
    cross, intra = _comparisons()
    tier = kernel_mean_tier(cross, intra, n_boot=100, seed=3)
    n, z = len(cross.has_a), scipy.stats.norm.ppf(0.95)
    a_c = ustat.pair_kernel(cross)

    def clears(name, t):
        k = a_c - t * ustat.split_kernel(intra[name])
        v = max(ustat.covariance(k, k), 2.0 * ustat.degenerate(k, k) / (n * (n - 1.0)), 0.0)
        return tier.cross - t * next(b.effect for b in tier.splits if b.name == name) >= z * np.sqrt(v) - 1e-15
    interior = [b for b in tier.splits if 0 < b.low < CAP]
    assert interior
    for b in interior:
        i = int(np.argmin(np.abs(GRID - b.low)))
        assert GRID[i] == pytest.approx(b.low) and clears(b.name, GRID[i]) and not clears(b.name, GRID[i + 1])
    assert tier.low == min(b.low for b in tier.splits) and tier.binding == min(tier.splits, key=lambda b: b.low).name
    one = kernel_mean_tier(cross, {tier.binding: intra[tier.binding]}, n_boot=100, seed=3)
    assert one.low == tier.low  # the other splits do not move the bound of the binding one
    assert all(b.low <= b.point <= b.high for b in tier.splits)
    assert all(b.point == pytest.approx(tier.cross / b.effect, rel=0.03) for b in tier.splits if b.effect > 0 and b.point < CAP)


def test_a_ratio_is_estimable_only_where_its_split_is_measured():
    """One real effect (image categories, 2.8 sd apart) and a null split (text categories) at 80
    prompts, 10 draws: the real split is measured (its effect bounded above 0) in every draw, the null
    one about as often as its one-sided 5 % allows, and M, set by the real split, is estimable where it is."""
    pop = P.population(d=32, layout="shared-offset", shift=2.0, category_sd=2.0, text_categories=False, languages=1)
    real = null = 0
    for seed in range(10):
        cross, intra = cross_modal_gap(*P.sample(pop, prompts=80, cap=600, seed=seed).sides(), permutations=1, n_boot=1).comparisons
        tier = kernel_mean_tier(cross, intra, n_boot=20)
        b = {x.name: x for x in tier.splits}
        real += b["image/by-category"].measured
        null += b["text/by-category"].measured
        assert tier.estimable == min(tier.splits, key=lambda x: x.point).measured
    assert real == 10 and null <= 1


def test_the_old_maximum_sits_below_every_split_bound():
    """The ratio to the largest estimated split in every replicate (bootstrap.ratio_interval) is never
    above the per-split construction: the maximum over splits lets the noisiest one set the bar."""
    from harness.stats.bootstrap import ratio_interval
    cross, intra = _comparisons(seed=1)
    old, _ = ratio_interval(cross, intra, n_boot=100, seed=3)
    assert old.low <= kernel_mean_tier(cross, intra, n_boot=100, seed=3).low + 1e-12


def _tier(splits, low=2.0):
    return KernelMeanTier(1.0, 0.8, 1.2, tuple(splits), 3.0, True, low, "x", 0.9, 100, 40)


def test_verdict_needs_a_real_split_and_says_why_not():
    assert verdict(_tier([]), 0.001, threshold=1.0, alpha=0.01) == UNDECIDED_NO_SPLIT
    assert not holds(_tier([]), 1.0)
    b = SplitBound("image/by-category", 0.1, 3.0, 2.0, 8.0)
    assert verdict(_tier([b]), 0.001, threshold=1.0, alpha=0.01) == "holds"
    # p too large while every bound is met: not significant, not "effects not bounded" (the reason said is the reason)
    assert verdict(_tier([b]), 0.5, threshold=1.0, alpha=0.01) == UNDECIDED_NOT_SIGNIFICANT
    assert verdict(_tier([b]), 0.5, threshold=3.0, alpha=0.01) == UNDECIDED_UNBOUNDED  # L = 2 < 3 ≤ U: both unmet
    assert verdict(_tier([b], low=0.5), 0.001, threshold=10.0, alpha=0.01) == "absent"  # U = 8 < 10
    wide = SplitBound("image/by-category", 0.1, 3.0, 0.5, 1000.0)
    assert verdict(_tier([wide], low=0.5), 0.001, threshold=1.0, alpha=0.01) == UNDECIDED_UNBOUNDED


def test_real_splits_leave_out_thin_levels_and_position():
    units = {"image": np.array([0, 0, 1, 2, 3]), "text": np.array([0, 1, 2, 3])}
    strata = {"image": {"category": np.array(["a", "a", "a", "b", "c"])}, "text": {"category": np.array(["a", "a", "b", "b"])}}
    got = real_splits(units, strata)
    assert list(got) == ["text/by-category"]  # image: b and c are held by one unit each
    assert len(got["text/by-category"]) == 1


def test_token_mmd2_is_the_token_level_u_statistic():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((50, 3)), rng.standard_normal((30, 3)) + 0.4
    xu, yu = rng.integers(0, 7, 50), rng.integers(0, 7, 30)
    cmp, _ = unit_comparison(x, xu, y, yu, sigma=1.3)
    one = np.ones((1, len(cmp.has_a)))
    got = token_mmd2(cmp.g_aa, cmp.g_bb, cmp.g_ab, cmp.n_a, cmp.n_b, one * cmp.has_a, one * cmp.has_b, one * cmp.has_a * cmp.has_b)
    assert got[0] == pytest.approx(mmd2_unbiased(torch.tensor(x), torch.tensor(y), sigma=1.3), rel=1e-10)


def test_paper_form_reads_a_clustered_null_as_an_effect():
    """Why the paper form is never evidence: on a null whose modalities carry their own prompt offsets,
    the token-level MMD² between modalities carries the clustering term (pairs within a prompt and a
    modality are closer), so it reads an "effect" whose population value is 0; on iid rows (each row
    its own unit) the halves read ≈ 0."""
    pop = P.population(d=16, layout="specific-offsets")
    k = P.sample(pop, prompts=30, cap=400, seed=0)
    cross, _ = unit_comparison(k.image, k.image_units, k.text, k.text_units, sigma=P.median_sigma(pop, n=500), paired=True)
    pf = paper_form(cross, n_boot=50)
    assert pf.mmd2_low > 0, pf  # a token-level "effect" on a null whose population MMD² is 0
    iid, _ = unit_comparison(k.image, np.arange(len(k.image)), k.text, np.arange(len(k.text)) + 10**6, sigma=3.0)
    halves = paper_form(iid, n_boot=10).halves
    assert abs(halves["image"]) < 0.01 and abs(halves["text"]) < 0.01


def _support(k, seed=0):
    z = np.concatenate([k.image, k.text])
    s = setup(torch.tensor(z) @ torch.tensor(z).T * -2 + (torch.tensor(z) ** 2).sum(1)[:, None] + (torch.tensor(z) ** 2).sum(1)[None, :],
              np.concatenate([k.image_units, k.text_units]), n_boot=50, seed=seed)
    ni = len(k.image)
    return summarize(*share_replicates(s, np.arange(ni, len(z)), np.arange(ni)), 0.9)


def test_out_of_support_reads_zero_on_a_clustered_null_and_all_on_disjoint_laws():
    for layout in ("tight-image", "specific-offsets"):  # specific: a text key's own prompt holds close text keys
        null = [_support(P.sample(P.population(d=16, layout=layout), prompts=30, cap=300, seed=s), s) for s in range(4)]
        assert abs(np.mean([r.excess for r in null])) < 0.03, layout
        assert np.mean([r.ref_share for r in null]) == pytest.approx(0.05, abs=0.02), layout  # the conformal level
    far = _support(P.sample(P.population(d=16, layout="tight-image", shift=40.0), prompts=30, cap=300, seed=0))
    assert far.test_share > 0.95 and far.excess > 0.9


def test_a_reference_met_again_gives_the_shares_computed_afresh():
    k = P.sample(P.population(d=16, layout="specific-offsets"), prompts=30, cap=300, seed=1)
    z = torch.tensor(np.concatenate([k.image, k.text]))
    s = setup(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1), np.concatenate([k.image_units, k.text_units]), n_boot=50)
    thirds = np.array_split(np.arange(len(z)), 3)
    references: dict = {}
    for ref, test in ((0, 1), (0, 2), (1, 0), (0, 1), (2, 1)):  # level 0 as the reference thrice, one pair twice
        kept = share_replicates(s, thirds[ref], thirds[test], references=references)
        fresh = share_replicates(s, thirds[ref], thirds[test])
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(kept, fresh))
    assert len(references) == 3


def test_heldout_auc_weights_units_and_reads_chance_and_separation():
    from harness.stats.separability import fold_maps
    rng = np.random.default_rng(0)
    units = np.tile(np.repeat(np.arange(30), 10), 2)  # [600] image rows then text rows of the same 30 units
    m = with_data_row(30, 20, 0)
    z = rng.standard_normal((600, 4))
    for space in ("raw", "pca50"):
        maps = fold_maps(z, units, space=space)
        assert heldout_auc_replicates(maps, np.arange(300), np.arange(300, 600), units, m)[0] == pytest.approx(0.5, abs=0.08)
    shifted = z + np.r_[np.full(300, 6.0), np.zeros(300)][:, None]
    assert heldout_auc_replicates(fold_maps(shifted, units), np.arange(300), np.arange(300, 600), units, m)[0] > 0.99


def test_weighted_auc_is_sklearns_with_sample_weights():
    from sklearn.metrics import roc_auc_score
    from harness.stats.separability import weighted_auc_terms
    rng = np.random.default_rng(2)
    score, pos = rng.standard_normal(200).round(1), rng.random(200) < 0.4  # rounding makes ties
    w = rng.random((3, 200))
    num, den = weighted_auc_terms(score, pos, w)
    assert num / den == pytest.approx([roc_auc_score(pos, score, sample_weight=row) for row in w], rel=1e-10)
    num, den = weighted_auc_terms(np.zeros(200), pos, w)  # a probe that cannot tell the sides apart
    assert num / den == pytest.approx(0.5, rel=1e-12)


def test_a_split_of_equal_keys_reads_chance_whatever_the_rounding():
    """Two levels holding the same keys (the image keys of one image asked in two languages): AUC 0.5, also
    when one copy differs by rounding (as a BLAS thread count can make it), never 0 or a noise direction."""
    from harness.stats.separability import fold_maps
    rng = np.random.default_rng(3)
    base = rng.standard_normal((300, 8))  # 30 units × 10 keys, one copy per level
    units = np.tile(np.repeat(np.arange(30), 10), 2)
    m = with_data_row(30, 20, 0)
    for eps in (0.0, 1e-13):
        z = np.concatenate([base, base + eps * rng.standard_normal(base.shape)])
        for space in ("raw", "pca50"):
            auc = heldout_auc_replicates(fold_maps(z, units, space=space), np.arange(300), np.arange(300, 600), units, m)
            assert auc[0] == pytest.approx(0.5, abs=1e-9), (eps, space, auc[0])


def test_all_tiers_on_one_sample():
    pop = P.population(d=16, layout="shared-offset", shift=3.0)
    k = P.sample(pop, prompts=24, cap=300, seed=0)
    t = all_tiers(*k.sides(), permutations=100, n_boot=50)
    assert {b.name for b in t.kernel.splits} == set(t.separability.splits) == set(t.support.splits)
    assert t.verdict in ("holds", "absent", UNDECIDED_UNBOUNDED, UNDECIDED_NOT_SIGNIFICANT)
    none = all_tiers(*k.sides(strata=False), permutations=100, n_boot=50, with_separability=False, with_support=False)
    assert none.verdict == UNDECIDED_NO_SPLIT and not none.kernel.splits


def test_study_runs_and_summarises():
    from harness.stats.calibrate import Setting, run_one, summarise
    rows = [run_one(Setting("null", "shared-offset", 0.0, 20), s) for s in range(2)]
    rows += [run_one(Setting("drift", "shared-offset", 10.0, 20), 0)]
    assert rows[-1]["truth_ratio"] == pytest.approx(10.0, rel=1e-6)
    text = summarise(rows)
    assert "| shared-offset | 2 | 0/2" in text and "| shared-offset | 20 | 1 |" in text


def test_between_prompt_mmd2_with_a_mixture_kernel_is_the_mean_over_its_widths():
    """MMD² is linear in the kernel: the mixture's figure (the by-benchmark baseline in the verdict's
    kernel) is the mean of the single-σ figures, and differs from any one of them."""
    from harness.stats.between import between_prompt_mmd2
    from harness.stats.kernels import mixture_sigmas

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 5)), rng.normal(size=(50, 5)) + 0.7
    xu, yu = np.repeat(np.arange(12), 5).astype(str), np.repeat(np.arange(10), 5).astype(str)
    widths = mixture_sigmas(2.0)
    single = [between_prompt_mmd2(x, xu, y, yu, sigma=s) for s in widths]
    mixed = between_prompt_mmd2(x, xu, y, yu, sigma=widths)
    assert mixed == pytest.approx(np.mean(single), rel=1e-10)
    assert min(abs(mixed - s) for s in single) > 1e-4


def test_the_report_side_names_the_same_outcomes_as_the_statistics():
    """harness.results.tiers holds the tiers' display names without torch; they are stats.tiers' own."""
    from harness.results import tiers as shown
    from harness.stats import tiers as computed

    assert shown.ASSERTED == computed.ASSERTED
    assert set(shown.SHORT) == {computed.UNDECIDED_NO_SPLIT, computed.UNDECIDED_UNBOUNDED, computed.UNDECIDED_NOT_SIGNIFICANT,
                                computed.UNDECIDED_BY_BENCHMARK}


def test_crossfit_point_reads_the_truth_where_the_split_is_measured_and_cap_where_it_is_noise():
    """Amendment 2's candidate point (a study reading, never a record's figure), against a known answer:
    with one real split measured (categories 2.8 sd apart) the cross-fitted ratio is near the population
    ratio 10; with only null splits it reads CAP (the held-out effect ≤ 0) or far from any finite truth."""
    from harness.stats.bootstrap import CAP
    from harness.stats.calibrate import population_at
    from harness.stats.gap import cross_modal_gap
    from harness.stats.kernel_mean import crossfit_point
    from harness.stats.kernels import MIXTURE_SCALES

    pop, sigma = population_at("shared-offset", 10.0, dominant=True, category_sd=2.0)
    points = []
    for seed in range(3):
        k = P.sample(pop, prompts=60, cap=400, seed=seed)
        gap = cross_modal_gap(*k.sides(), sigma=sigma, permutations=10, n_boot=1, kernel_scales=MIXTURE_SCALES, seed=seed)
        points.append(crossfit_point(*gap.comparisons, seed=seed))
    assert 6.0 < float(np.median(points)) < 16.0
    # a cross-modal shift and no category effect at all: the population ratio is infinite
    null = P.population(d=64, layout="shared-offset", shift=2.0, category_sd=0.0, text_categories=False, languages=1)
    reads = []
    for seed in range(3):
        k = P.sample(null, prompts=60, cap=400, seed=seed)
        gap = cross_modal_gap(*k.sides(), sigma=P.median_sigma(null), permutations=10, n_boot=1, kernel_scales=MIXTURE_SCALES,
                              seed=seed)
        assert gap.mmd2 > 0.002 and gap.p_value < 0.2
        reads.append(crossfit_point(*gap.comparisons, seed=seed))
    assert float(np.median(reads)) > 50.0 and max(reads) <= CAP


def test_the_gap_and_the_support_tier_read_one_product_of_the_keys(monkeypatch):
    """all_tiers makes the pooled squared distances once for the gap's kernel and the support tier's neighbours;
    given them, it makes none; its figures equal those of the support tier on its own float64 distances."""
    import harness.stats.gap as gap_module
    import harness.stats.tiers as tiers_module
    from harness.stats.gap import pooled_distances

    k = P.sample(P.population(d=16, layout="shared-offset", shift=1.0), prompts=24, cap=300, seed=2)
    image, text = k.sides()
    made = []
    real = gap_module.pooled_sq_dists
    monkeypatch.setattr(gap_module, "pooled_sq_dists", lambda *a, **kw: made.append(1) or real(*a, **kw))
    monkeypatch.setattr(tiers_module, "pairwise_sq_dists", lambda *a: pytest.fail("the support tier made its own distances"))
    shared = all_tiers(image, text, permutations=100, n_boot=50)
    assert made == [1]
    d2 = pooled_distances(image, text)
    assert all_tiers(image, text, permutations=100, n_boot=50, sq_dists=d2).support == shared.support and made == [1, 1]
    z = torch.tensor(np.concatenate([np.asarray(image.x), np.asarray(text.x)]), dtype=torch.float64)
    s = setup(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1), np.concatenate([image.units, text.units]), folds=5, n_boot=50)
    own = summarize(*share_replicates(s, np.arange(len(image.units), len(z)), np.arange(len(image.units))), 0.9)
    assert shared.support.cross == own
    with pytest.raises(ValueError, match=r"sq_dists must be \[N, N\]"):
        cross_modal_gap(image, text, permutations=10, sq_dists=d2[1:])


def test_fold_maps_refuse_non_finite_keys_in_one_line():
    """The maps fit with scikit-learn's own finiteness checks off (checked once instead): a nan still ends in one line."""
    from harness.stats.separability import fold_maps

    z = np.random.default_rng(0).standard_normal((100, 4))
    z[7, 2] = np.nan
    for space in ("raw", "pca50"):
        with pytest.raises(ValueError, match="separability needs finite keys"):
            fold_maps(z, np.repeat(np.arange(10), 10), space=space)


def test_single_sigma_readings_are_the_gap_at_that_sigma_alone():
    """Each per-scale reading of a mixture gap is what the gap reads with that one RBF (its MMD², p-value,
    every split's Comparison, the kernel-mean tier and the rule's outcome; to the readings' float32 cell sums, a
    few 1e-9 in kernel units, and the tier's 2.3 % grid), and the mixture's own figures
    do not move when the readings are kept. The readings differ: the point ratio here reads 2.8 at the
    small σ and 1.4 at the large (what one bandwidth alone would have claimed; shown, never the verdict)."""
    from harness.stats.tiers import sigma_reading
    pop = P.population(d=16, layout="shared-offset", shift=1.5)
    k = P.sample(pop, prompts=40, cap=300, seed=2)
    mixed = cross_modal_gap(*k.sides(), permutations=200, n_boot=1, kernel_scales=MIXTURE_SCALES, scale_readings=True)
    plain = cross_modal_gap(*k.sides(), permutations=200, n_boot=1, kernel_scales=MIXTURE_SCALES)
    assert (mixed.mmd2, mixed.p_value, mixed.intra) == (plain.mmd2, plain.p_value, plain.intra) and plain.per_scale == ()
    assert [r.scale for r in mixed.per_scale] == list(MIXTURE_SCALES)
    points = []
    for r in mixed.per_scale:
        alone = cross_modal_gap(*k.sides(), sigma=r.sigma, permutations=200, n_boot=1)
        assert r.sigma == pytest.approx(mixed.sigma * r.scale) and r.mmd2 == pytest.approx(alone.mmd2, rel=1e-6)
        assert r.p_value == pytest.approx(alone.p_value, abs=2 / 201)
        cross, intra = r.comparisons
        assert cross.mmd2()[0] == pytest.approx(alone.mmd2, rel=1e-6)
        assert {n: np.mean([c.mmd2()[0] for c in cs]) for n, cs in intra.items()} == pytest.approx(alone.intra, rel=1e-5, abs=1e-8)
        reading = sigma_reading(r, threshold=1.0, alpha=0.01, level=0.9, seed=0)
        tier = kernel_mean_tier(*alone.comparisons, n_boot=50, seed=0)
        assert reading.kernel.binding == tier.binding and reading.kernel.point == pytest.approx(tier.point, rel=0.024)
        assert reading.kernel.low == pytest.approx(tier.low, rel=0.024)
        assert reading.outcome == verdict(tier, alone.p_value, threshold=1.0, alpha=0.01)
        points.append(reading.kernel.point)
    assert max(points) > 1.5 * min(points)
    tiers = all_tiers(*k.sides(), gap=mixed, n_boot=50, with_separability=False, with_support=False)
    assert [s.scale for s in tiers.per_sigma] == list(MIXTURE_SCALES)
    mixture_only = all_tiers(*k.sides(), gap=plain, n_boot=50, with_separability=False, with_support=False)
    assert mixture_only.per_sigma == () and mixture_only.kernel == tiers.kernel


def test_heldout_auc_skips_a_fold_whose_training_keys_hold_one_key_of_a_side():
    """A split whose levels hold few keys (tiny caps, a rare level) can leave one key of a side in a fold's training
    keys: no probe is trained there (LDA refuses as many keys as classes), that fold is left out, no error."""
    from harness.stats.separability import fold_maps
    rng = np.random.default_rng(1)
    units = np.arange(4)  # one key per unit: 2 of each side, so every training fold of 2 holds 1 key a side at most
    z = rng.standard_normal((4, 3))
    maps = fold_maps(z, units, folds=2, space="raw", seed=0)
    auc = heldout_auc_replicates(maps, np.arange(2), np.arange(2, 4), units, with_data_row(4, 5, 0))
    assert auc.shape == (6,)
