"""attention_metrics: a hand-made case with a known answer, a naive full-matrix reference with
GQA, block invariance, aggregation weights, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from harness.stats.attention import aggregate_attention, attention_metrics


def test_hand_made_case():
    # d = 1, every query 1, image keys 2, text keys 0 (scale 1): logits 2 vs 0, gap exactly 2.
    # positions: 0 text, 1 image, 2 image, 3 text; query at 3 sees 2 image + 2 text keys.
    is_image = torch.tensor([False, True, True, False])
    q = torch.ones(1, 4, 1)
    k = (is_image.float() * 2.0).view(1, 4, 1)
    qm = torch.tensor([False, False, False, True])
    m = attention_metrics(q, k, is_image, qm, scale=1.0)
    e2 = math.exp(2.0)
    mass = 2 * e2 / (2 * e2 + 2)
    assert m.n_queries == 1 and m.logit_gap == pytest.approx(2.0)
    assert m.image_mass == pytest.approx(mass) and m.image_share == pytest.approx(0.5)
    assert m.image_mass_ratio == pytest.approx(mass / 0.5)
    assert m.last_logit_gap == pytest.approx(2.0) and m.last_image_mass == pytest.approx(mass)
    # the query at position 0 sees no image key: it is left out, not counted as 0
    assert attention_metrics(q, k, is_image, torch.tensor([True, False, False, True]), scale=1.0).n_queries == 1


def _naive(q, k, is_image, qmask, is_text):
    h, t, d = q.shape
    kk = k.repeat_interleave(h // k.shape[0], dim=0)  # [H, T, d]
    s = q @ kk.transpose(1, 2) / math.sqrt(d)  # [H, T, T]
    causal = torch.ones(t, t).tril().bool()
    gaps, ratios, masses = [], [], []
    for i in range(t):
        img, txt = causal[i] & is_image, causal[i] & is_text
        if not qmask[i] or not img.any() or not txt.any():
            continue
        p = torch.softmax(s[:, i].masked_fill(~causal[i], float("-inf")), dim=-1)  # [H, T]
        share = img.sum() / causal[i].sum()
        for hh in range(h):
            gaps.append(s[hh, i, img].mean() - s[hh, i, txt].mean())
            masses.append(p[hh, img].sum())
            ratios.append(p[hh, img].sum() / share)
    return float(torch.stack(gaps).mean()), float(torch.stack(ratios).mean()), float(torch.stack(masses).mean()), len(gaps) // h


def _seq(t=23, h=4, hkv=2, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(h, t, d, generator=g, dtype=torch.float64)
    k = torch.randn(hkv, t, d, generator=g, dtype=torch.float64)
    is_image = torch.zeros(t, dtype=torch.bool)
    is_image[3:12] = True
    k[:, is_image] += 1.5  # image keys shifted: gap differs from 0
    special = torch.zeros(t, dtype=torch.bool)
    special[[0, 12]] = True
    return q, k, is_image, ~is_image & ~special, special


@pytest.mark.parametrize("block", [1, 5, 1024])
def test_matches_naive_full_matrix_with_gqa(block):
    q, k, is_image, is_text, _ = _seq()
    qmask = is_text.clone()
    want = _naive(q, k, is_image, qmask, is_text)
    m = attention_metrics(q, k, is_image, qmask, is_text=is_text, block=block)
    assert (m.logit_gap, m.image_mass_ratio, m.image_mass) == pytest.approx(want[:3], rel=1e-10)
    assert m.n_queries == want[3] and len(m.per_head_logit_gap) == 4
    assert sum(m.per_head_logit_gap) / 4 == pytest.approx(m.logit_gap, rel=1e-10)


def test_half_precision_is_upcast():
    q, k, is_image, is_text, _ = _seq()
    ref = attention_metrics(q, k, is_image, is_text, is_text=is_text)
    m = attention_metrics(q.half(), k.half(), is_image, is_text, is_text=is_text)
    assert m.logit_gap == pytest.approx(ref.logit_gap, abs=1e-2)


def test_aggregate_weights_by_queries():
    q, k, is_image, is_text, _ = _seq()
    a = attention_metrics(q, k, is_image, is_text, is_text=is_text)
    q2, k2, im2, tx2, _ = _seq(t=40, seed=1)
    b = attention_metrics(q2, k2, im2, tx2, is_text=tx2)
    agg = aggregate_attention([a, b])
    w = (a.logit_gap * a.n_queries + b.logit_gap * b.n_queries) / (a.n_queries + b.n_queries)
    assert agg.logit_gap == pytest.approx(w) and agg.n_sequences == 2
    assert agg.last_logit_gap == pytest.approx((a.last_logit_gap + b.last_logit_gap) / 2)


def test_bad_input():
    q, k, is_image, is_text, _ = _seq()
    with pytest.raises(ValueError, match="kv_heads dividing"):
        attention_metrics(q, k[:, :, :4], is_image, is_text)
    with pytest.raises(ValueError, match="bool tensor"):
        attention_metrics(q, k, is_image.float(), is_text)
    with pytest.raises(ValueError, match="finite"):
        attention_metrics(q * float("nan"), k, is_image, is_text)
    with pytest.raises(ValueError, match="at least one"):
        aggregate_attention([])
