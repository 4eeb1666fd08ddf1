"""Between-prompt MMD² and the sign-flip test: against brute force, the swap identity, validity where
the token-level permutation test fails, and expectation that does not move with the number of prompts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats

from harness.stats.between import CellGram, Comparison, between_prompt_mmd2, sign_flip_test
from harness.stats.gap import Side, cross_modal_gap
from harness.stats.mmd import mmd_test
from harness.stats.simulate import simulate_keys


def _k(a, b, sigma):
    return np.exp(-((a[:, None] - b[None]) ** 2).sum(-1) / (2 * sigma**2))


def _brute(xi, ui, xt, ut, sigma, both_only=True):
    """Mean kernel over token pairs of different units, each unit pair weighted by 1 / (its token pair count)."""
    units = sorted(set(ui) & set(ut)) if both_only else None
    ai = units or sorted(set(ui))
    at = units or sorted(set(ut))

    def term(x, ux, y, uy, ua, ub):
        return np.mean([_k(x[ux == s], y[uy == t], sigma).mean() for s in ua for t in ub if s != t])

    return term(xi, ui, xi, ui, ai, ai) + term(xt, ut, xt, ut, at, at) - 2 * term(xi, ui, xt, ut, ai, at)


def _clustered(units=7, seed=0):
    rng = np.random.default_rng(seed)
    ni, nt = rng.integers(3, 8, units), rng.integers(1, 4, units)
    off = rng.standard_normal((units, 3))
    ui, ut = np.repeat(np.arange(units), ni), np.repeat(np.arange(units), nt)
    xi = off[ui] + rng.standard_normal((len(ui), 3)) + 0.4
    xt = off[ut] + rng.standard_normal((len(ut), 3))
    return xi, ui, xt, ut


def test_between_prompt_mmd2_matches_brute_force():
    xi, ui, xt, ut = _clustered()
    gap = cross_modal_gap(Side(xi, ui), Side(xt, ut), sigma=1.7, permutations=10, n_boot=5)
    assert gap.mmd2 == pytest.approx(_brute(xi, ui, xt, ut, 1.7), abs=1e-12)
    assert gap.interval.cross_mmd2 == pytest.approx(gap.mmd2, abs=1e-12)  # point of the interval = the tested statistic
    # disjoint unit sets (by-benchmark): every pair across the two sets counts
    got = between_prompt_mmd2(xi, [f"a{u}" for u in ui], xt, [f"b{u}" for u in ut], sigma=1.7)
    assert got == pytest.approx(_brute(xi, ui, xt, ut + 100, 1.7, both_only=False), abs=1e-12)


def test_same_unit_pairs_are_left_out_everywhere():
    # one token per unit per modality, identical image and text token in each unit: every cross pair
    # of a unit is a perfect match; leaving them out gives exactly 0 (all units alike in law)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 2))
    units = np.arange(6)
    gap = cross_modal_gap(Side(x, units), Side(x, units), sigma=1.0, permutations=10, n_boot=5)
    assert gap.mmd2 == pytest.approx(0.0, abs=1e-12)
    assert mmd_test(x, x, permutations=0, bandwidth=1.0).mmd2 < -0.05  # the token U-statistic pairs them


def _comparison(xi, ui, xt, ut, sigma):
    z = np.vstack([xi, xt])
    cells = np.r_[ui * 2, ut * 2 + 1]
    n = int(max(ui.max(), ut.max())) + 1
    import torch

    gram = CellGram(torch.as_tensor(z), cells, 2 * n, sigma)
    c = np.arange(2 * n)
    return Comparison.build(gram, c // 2, c % 2 == 0, c % 2 == 1, n, paired=True)


def test_sign_flip_is_the_block_swap():
    """Each null draw equals the statistic recomputed after swapping the image and text blocks of the
    flipped units, for every pattern of flips of 5 units."""
    xi, ui, xt, ut = _clustered(units=5, seed=1)
    cmp = _comparison(xi, ui, xt, ut, 1.3)
    keep = np.arange(5)
    h = cmp.g_aa + cmp.g_bb - cmp.g_ab - cmp.g_ab.T
    for eps in itertools.product([1.0, -1.0], repeat=5):
        e = np.array(eps)
        flipped = set(keep[e < 0])
        a = [(xi[ui == u] if u not in flipped else xt[ut == u]) for u in keep]
        b = [(xt[ut == u] if u not in flipped else xi[ui == u]) for u in keep]
        ua = np.concatenate([[u] * len(v) for u, v in zip(keep, a)])
        ub = np.concatenate([[u] * len(v) for u, v in zip(keep, b)])
        want = _brute(np.vstack(a), ua, np.vstack(b), ub, 1.3)
        assert (e @ h @ e - np.trace(h)) / 20 == pytest.approx(want, abs=1e-12)
    observed, null = sign_flip_test(cmp, permutations=50, seed=0)
    assert observed == pytest.approx(_brute(xi, ui, xt, ut, 1.3), abs=1e-12) and null.shape == (50,)


def test_copies_of_a_unit_are_not_paired():
    """Comparison.mmd2 at multiplicities m equals the brute-force statistic on the data written out
    with m_u relabelled copies of unit u, pairs between copies of one unit left out."""
    xi, ui, xt, ut = _clustered(units=5, seed=2)
    cmp = _comparison(xi, ui, xt, ut, 1.1)
    m = np.array([2.0, 0.0, 1.0, 3.0, 1.0])
    got = float(cmp.mmd2(m[None])[0])
    # brute force over ordered pairs of (unit, copy) with different units
    mi = [(u, c) for u in range(5) for c in range(int(m[u]))]

    def term(x, ux, y, uy):
        vals = [_k(x[ux == a[0]], y[uy == b[0]], 1.1).mean() for a in mi for b in mi if a[0] != b[0]]
        return np.mean(vals)

    want = term(xi, ui, xi, ui) + term(xt, ut, xt, ut) - 2 * term(xi, ui, xt, ut)
    assert got == pytest.approx(want, abs=1e-12)


def test_sign_flip_p_is_valid_where_the_token_permutation_is_not():
    """Equal marginal laws, image tokens of a prompt tightly clustered: the token permutation test
    rejects almost always; the sign-flip test over prompts keeps its level."""
    token_p, prompt_p = [], []
    for seed in range(40):
        k = simulate_keys(prompts=24, d=32, null="tight-image", cap_image=240, cap_text=120, seed=seed)
        token_p.append(mmd_test(k.image, k.text, permutations=200, seed=seed).p_value)
        prompt_p.append(cross_modal_gap(Side(k.image, k.image_units), Side(k.text, k.text_units),
                                        permutations=200, n_boot=1, seed=seed).p_value)
    assert np.mean(np.array(token_p) < 0.05) > 0.5
    assert np.mean(np.array(prompt_p) < 0.05) <= 0.15 and scipy.stats.kstest(prompt_p, "uniform").pvalue > 0.01


def test_too_few_units_is_one_line():
    xi, ui, xt, ut = _clustered(units=3)
    with pytest.raises(ValueError, match="at least 2 prompts holding both"):
        cross_modal_gap(Side(xi, ui), Side(xt, ut + 10), permutations=10, n_boot=2)
    with pytest.raises(ValueError, match="one unit id per token"):
        cross_modal_gap(Side(xi, ui[:-1]), Side(xt, ut), permutations=10, n_boot=2)
    with pytest.raises(ValueError, match="same labels"):
        cross_modal_gap(Side(xi, ui, {"language": ui}), Side(xt, ut), permutations=10)
