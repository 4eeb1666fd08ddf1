"""The paired change of the between-prompt MMD² (harness.stats.change) and pairs restricted to blocks
(harness.stats.between.block_mask), against known answers."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats import Side, cross_modal_gap
from harness.stats.between import between_prompt_mmd2, unit_comparison
from harness.stats.change import mmd2_change

D, OFFSET_SD, NOISE_SD, SIGMA = 4, 0.6, 0.8, 2.0


def _gaussian_mmd2(delta: float) -> float:
    """Population MMD² of N(0, s²I) vs N(δ e₁, s²I) under the RBF kernel of σ (s² = offset² + noise²):
    2 c (1 − exp(−δ² / (2(σ² + 2s²)))), c = (σ² / (σ² + 2s²))^(d/2)."""
    s2 = OFFSET_SD**2 + NOISE_SD**2
    c = (SIGMA**2 / (SIGMA**2 + 2 * s2)) ** (D / 2)
    return 2 * c * (1 - np.exp(-(delta**2) / (2 * (SIGMA**2 + 2 * s2))))


def _units(rng, n_units: int, n_img: int = 12, n_txt: int = 6):
    """Tokens of units sharing a per-unit offset (tokens of one prompt are alike)."""
    img, txt, ui, ut = [], [], [], []
    for u in range(n_units):
        off = rng.normal(size=D) * OFFSET_SD
        img.append(off + rng.normal(size=(n_img, D)) * NOISE_SD)
        txt.append(off + rng.normal(size=(n_txt, D)) * NOISE_SD)
        ui += [f"u{u}"] * n_img
        ut += [f"u{u}"] * n_txt
    return np.concatenate(img), np.array(ui), np.concatenate(txt), np.array(ut)


def test_change_is_unbiased_and_its_interval_covers_with_unit_dependence():
    """Image keys shifted by 2.0 before and moved to 1.0 after (the same tokens): the change's mean over
    runs is the population change, and the paired 90 % interval covers it in about 90 % of runs."""
    rng = np.random.default_rng(7)
    truth = _gaussian_mmd2(1.0) - _gaussian_mmd2(2.0)
    e1 = np.eye(D)[0]
    changes, covered = [], []
    for rep in range(100):
        x, xu, y, yu = _units(rng, 24)
        got = mmd2_change((x + 2.0 * e1, xu, y, yu), (x + 1.0 * e1, xu, y, yu), sigma=SIGMA, n_boot=200, seed=rep)
        changes.append(got.change)
        covered.append(got.change_low <= truth <= got.change_high)
    assert np.mean(changes) == pytest.approx(truth, abs=3 * np.std(changes) / np.sqrt(len(changes)))
    assert 0.80 <= np.mean(covered) <= 0.98, np.mean(covered)


def test_change_needs_the_same_units_and_a_valid_level():
    x, xu, y, yu = _units(np.random.default_rng(0), 6)
    with pytest.raises(ValueError, match="same units"):
        mmd2_change((x, xu, y, yu), (x[:-12], xu[:-12], y[:-6], yu[:-6]), sigma=SIGMA)
    with pytest.raises(ValueError, match="level"):
        mmd2_change((x, xu, y, yu), (x, xu, y, yu), sigma=SIGMA, level=1.5)


def test_blocks_pair_units_only_within_a_block():
    """With two blocks of equal size whose units all hold both sides, the blocked MMD² is the mean of the
    two blocks' own between-prompt MMD² (no pair crosses a block); the gap's figures follow it."""
    rng = np.random.default_rng(3)
    x, xu, y, yu = _units(rng, 10)
    x = x + np.where(np.isin(xu, [f"u{u}" for u in range(5)]), 1.5, 0.0)[:, None]  # block 0's images shifted
    blocks = {f"u{u}": int(u >= 5) for u in range(10)}
    per_block = [between_prompt_mmd2(x[np.vectorize(blocks.get)(xu) == b], xu[np.vectorize(blocks.get)(xu) == b],
                                     y[np.vectorize(blocks.get)(yu) == b], yu[np.vectorize(blocks.get)(yu) == b], sigma=SIGMA)
                 for b in (0, 1)]
    cmp, _ = unit_comparison(x, xu, y, yu, sigma=SIGMA, paired=True, blocks=blocks)
    assert float(cmp.mmd2()[0]) == pytest.approx(np.mean(per_block), rel=1e-10)
    pooled = float(unit_comparison(x, xu, y, yu, sigma=SIGMA, paired=True)[0].mmd2()[0])
    assert abs(pooled - np.mean(per_block)) > 1e-3  # the pooled statistic pairs across blocks: it differs
    gap = cross_modal_gap(Side(x, xu), Side(y, yu), sigma=SIGMA, permutations=99, n_boot=20, blocks=blocks)
    assert gap.mmd2 == pytest.approx(np.mean(per_block), rel=1e-10)
    assert mmd2_change((x, xu, y, yu), (x, xu, y, yu), sigma=SIGMA, blocks=blocks).before == pytest.approx(gap.mmd2)


def test_change_pairs_the_resamples_so_shared_unit_content_cancels():
    """Both conditions are evaluated on the same resampled units: with a large per-unit spread the
    paired interval is far narrower than one from independent resamples of the two conditions."""
    from harness.stats.bootstrap import with_data_row
    from harness.stats.change import comparison_change

    rng = np.random.default_rng(4)
    x, xu, y, yu = _units(rng, 24)
    x = x + np.repeat(rng.normal(size=(24, D)) * 1.5, 12, axis=0)  # image blocks of a unit far apart from each other
    e1 = np.eye(D)[0]
    (cb, _), (ca, _) = (unit_comparison(x + s * e1, xu, y, yu, sigma=SIGMA, paired=True) for s in (2.0, 1.0))
    paired = comparison_change(cb, ca, n_boot=400, seed=0)
    unpaired = ca.mmd2(with_data_row(24, 400, 1))[1:] - cb.mmd2(with_data_row(24, 400, 0))[1:]
    lo, hi = np.quantile(unpaired, [0.05, 0.95])
    assert paired.change_high - paired.change_low < 0.5 * (hi - lo)
