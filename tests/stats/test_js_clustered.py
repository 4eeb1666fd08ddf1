"""JS and AUC on clustered nulls: tokens of one prompt are alike, and the estimators must not see it.

Simulated keys with the dependence real prompts have: S prompts, each with 200-400 image tokens and
20-40 text tokens (LLaVA-like), every vector N(0, I_d) marginally — so the truth is JS = 0 bits and
AUC = 0.5 — but tokens of one prompt share an offset:

- "shared": image and text tokens of a prompt share one offset (ρ = 0.8 of the variance);
- "own": each modality has its own offset per prompt, image tokens tighter (ρ 0.8) than text (ρ 0.3).

Image tokens are subsampled to 1500 rows, as the analysis does (--ks-max-points). Measured on
several draws (docs/statistics-js.md): token-level folds and neighbours read clearly above 0 on
"own" (the old estimators at d = 20: classifier 0.12-0.17 bits, kNN 0.52-0.61, AUC 0.69-0.71),
grouped ones read ≈ 0 and AUC ≈ 0.5 (its spread, ± 0.06, is over prompts).
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.folds import grouped_folds, merge_sharing_rows, rows
from harness.stats.js import js_classifier, js_knn, probe_auc
from harness.stats.space import space_steps, to_space


def clustered_null(kind: str, *, prompts: int = 40, d: int = 20, seed: int = 0, cap: int = 1500):
    """(image [n, d], text [m, d], (image prompt ids, text prompt ids)) with equal marginal laws N(0, I)."""
    rng = np.random.default_rng(seed)
    rho_image, rho_text = (0.8, 0.8) if kind == "shared" else (0.8, 0.3)
    xs, ys, gx, gy = [], [], [], []
    for s in range(prompts):
        n_image, n_text = rng.integers(200, 400), rng.integers(20, 40)
        a = rng.standard_normal(d)
        b = a if kind == "shared" else rng.standard_normal(d)
        xs.append(np.sqrt(rho_image) * a + np.sqrt(1 - rho_image) * rng.standard_normal((n_image, d)))
        ys.append(np.sqrt(rho_text) * b + np.sqrt(1 - rho_text) * rng.standard_normal((n_text, d)))
        gx += [s] * n_image
        gy += [s] * n_text
    x, y, gx, gy = np.concatenate(xs), np.concatenate(ys), np.array(gx), np.array(gy)
    keep = np.sort(rng.choice(len(x), min(cap, len(x)), replace=False))
    return x[keep], y, (gx[keep], gy)


@pytest.mark.parametrize("kind", ["shared", "own"])
def test_grouped_estimators_read_zero_on_a_clustered_null(kind):
    x, y, groups = clustered_null(kind)
    clf = js_classifier(x, y, groups=groups, seed=0)
    knn = js_knn(x, y, groups=groups, seed=0)
    assert clf.n_groups == 40 and clf.folds == 5 and clf.reason == ""
    assert clf.bits <= 0.01, f"classifier read {clf.bits:.3f} bits on a null"
    assert knn.bits <= 0.04, f"kNN read {knn.bits:.3f} bits on a null"
    assert js_knn(x, y, groups=groups, seed=0, on="full").bits <= 0.04
    assert abs(probe_auc(x, y, groups=groups, seed=0) - 0.5) <= 0.1


def test_token_level_estimators_read_prompt_identity():
    """The same data without groups: folds and neighbours share prompts, and the figures read a
    difference that is not there (what the grouped estimators above fix)."""
    x, y, _ = clustered_null("own")
    assert js_classifier(x, y, seed=0).bits > 0.08
    assert js_knn(x, y, seed=0, on="full").bits > 0.3
    assert probe_auc(x, y, seed=0) > 0.65


def test_grouped_estimators_still_see_a_real_shift():
    """A shift of 2 sd along the diagonal (truth 0.485 bits, optimal AUC 0.92). With 40 clustered
    prompts both JS readings are far below the truth (lower bounds: a probe learned from 32 prompts
    is a poor D), but they are clearly above the null readings."""
    x, y, groups = clustered_null("own")
    x = x + 2.0 / np.sqrt(x.shape[1])
    assert 0.2 <= js_classifier(x, y, groups=groups, seed=0).bits <= 0.485 + 0.03
    assert 0.2 <= js_knn(x, y, groups=groups, seed=0).bits <= 0.485 + 0.03
    assert probe_auc(x, y, groups=groups, seed=0) > 0.8


def test_folds_keep_each_prompt_on_one_side_with_both_modalities():
    x, y, groups = clustered_null("own", prompts=12)
    r = rows(x, y, groups)
    splits, reason = grouped_folds(r, 5, seed=0)
    assert reason == "" and len(splits) == 5
    for train, test in splits:
        assert not set(r.group[train]) & set(r.group[test])
        assert set(r.label[test]) == {0, 1}
    assert sorted(np.concatenate([t for _, t in splits])) == list(range(len(r.label)))


def test_too_few_prompts_is_a_reason_not_a_reading():
    x, y, groups = clustered_null("own", prompts=3)
    for res in (js_classifier(x, y, groups=groups), js_knn(x, y, groups=groups)):
        assert np.isnan(res.bits) and res.reason.startswith("n/a: too few prompts for grouped folds")
        assert res.n_groups == 3
    assert np.isnan(probe_auc(x, y, groups=groups))


def test_duplicate_rows_are_a_reason_for_knn():
    """Layer-0 keys are a function of the token id: many rows repeat (2,420 unique of 14,651)."""
    x, y, groups = clustered_null("own")
    vocab = np.random.default_rng(1).standard_normal((60, x.shape[1]))
    y = vocab[np.random.default_rng(2).integers(0, 60, len(y))]  # text keys from 60 distinct tokens
    knn = js_knn(x, y, groups=groups, seed=0)
    assert np.isnan(knn.bits) and knn.reason.startswith("n/a: too few unique keys") and "y rows" in knn.reason
    assert np.isfinite(js_classifier(x, y, groups=groups, seed=0).bits)  # a lower bound stays valid on atoms


def test_groups_must_match_rows():
    x, y, (gx, gy) = clustered_null("own", prompts=6)
    with pytest.raises(ValueError, match="one prompt id per row"):
        js_classifier(x, y, groups=(gx[:-1], gy))
    with pytest.raises(ValueError, match="pair"):
        js_knn(x, y, groups=np.concatenate([gx, gy]))


def twin_null(**kw):
    """A clustered null where prompt 2k+1 reuses prompt 2k's image (identical image rows), with its own text."""
    x, y, (gx, gy) = clustered_null("own", **kw)
    keep_x = gx % 2 == 0
    twin_x = x[keep_x]
    return np.concatenate([twin_x, twin_x]), y, (np.concatenate([gx[keep_x], gx[keep_x] + 1]), gy)


def test_prompts_sharing_an_image_are_one_unit():
    x, y, (gx, gy) = twin_null()
    ux, uy = merge_sharing_rows(x, (gx, gy))
    assert len(np.unique(ux)) == 20 and len(np.unique(np.concatenate([ux, uy]))) == 20
    assert uy[gy == 0][0] == uy[gy == 1][0] != uy[gy == 2][0]  # text rows follow their prompt's unit
    for p in np.unique(gy):
        assert len(np.unique(uy[gy == p])) == 1
    # one shared row is not a shared image; only x is read, so repeated text rows merge nothing
    x2, y2, g2 = clustered_null("own", prompts=10)
    x2[1] = x2[-1]
    y2[:] = y2[0]
    assert len(np.unique(merge_sharing_rows(x2, g2)[0])) == 10
    # atoms (token keys drawn at random positions) shared across prompts merge them only without positions
    atoms = np.random.default_rng(3).standard_normal((4, x.shape[1]))
    ax = atoms[np.random.default_rng(4).integers(0, 4, len(x))]
    pos = np.random.default_rng(5).permutation(len(x))
    assert len(np.unique(merge_sharing_rows(ax, (gx, gy))[0])) == 1
    assert len(np.unique(merge_sharing_rows(ax, (gx, gy), positions=pos)[0])) == 40
    # a shared image repeats its rows position by position: still merged with positions
    twin_pos = np.concatenate([np.arange(len(x) // 2)] * 2)
    assert len(np.unique(merge_sharing_rows(x, (gx, gy), positions=twin_pos)[0])) == 20


def test_shared_images_leak_unless_merged():
    x, y, groups = twin_null()
    leaky = js_classifier(x, y, groups=groups, seed=0)
    merged = js_classifier(x, y, groups=merge_sharing_rows(x, groups), seed=0)
    # 20 units of 4 per fold: the merged reading is noise around a non-positive expectation (0.045 here)
    assert leaky.bits > 0.1 and merged.bits < 0.06, (leaky.bits, merged.bits)
    assert np.isfinite(js_knn(x, y, groups=merge_sharing_rows(x, groups), seed=0).bits)
    assert js_knn(x, y, groups=groups, seed=0).reason.startswith("n/a: too few unique keys")


def test_pca_fitted_on_training_prompts_only():
    """A PCA fitted on every prompt makes the sample's own prompt offsets its top components, and a
    probe then reads a difference that is not there; fitted inside each fold it reads ≈ 0."""
    x, y, groups = clustered_null("own", d=64)
    xs, ys = to_space(x, y, "pca50", seed=0)
    assert js_classifier(xs, ys, groups=groups, seed=0).bits > 0.3  # pooled PCA, then grouped folds: leaks
    assert js_classifier(x, y, groups=groups, seed=0, space="pca50").bits <= 0.05
    assert js_knn(x, y, groups=groups, seed=0, space="pca50").bits <= 0.05
    assert abs(probe_auc(x, y, groups=groups, seed=0, space="pca50") - 0.5) <= 0.1
    steps = space_steps("pca50", n_rows=30, dim=64)
    assert steps[-1].n_components == 29 and space_steps("raw", 30, 64) == []
