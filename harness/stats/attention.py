"""Mechanism metrics from one sequence's post-RoPE queries and keys: do text queries score image
keys low, and how much attention do image keys get for their number?

For each selected query position i (e.g. text tokens) and each query head h, over the keys
visible to i (j ≤ i when causal; and i − j < W in a sliding-window layer of window W, as transformers'
sliding masks have it):
- logit gap = mean_j∈image s_hij − mean_j∈text s_hij, with s = scale · q·k (scale 1/√d by
  default), in logit units (nats of unnormalised attention); < 0 means image keys score lower.
- image mass = Σ_j∈image softmax_j(s_hij), the attention probability on image keys, in [0, 1].
- image share = #visible image keys / #visible keys, what uniform attention would give.
- image mass ratio = image mass / image share; 1 = image keys get their share, < 1 = fewer.
Figures are means over (query, head) pairs that see at least one image and one text key.
The last position of the sequence (the one that emits the answer) is reported separately.
GQA: query head h reads kv head h // (heads / kv_heads), as transformers' repeat_kv does.
Queries are processed in blocks of ``block`` rows, so at most [heads, block, T] logits exist at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

_HALF = (torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class AttentionMetrics:
    logit_gap: float  # mean logit to image keys − mean logit to text keys, logit units; mean over (query, head)
    image_mass_ratio: float  # mean over (query, head) of attention mass on image keys / image share of visible keys
    image_mass: float  # mean attention probability on image keys, in [0, 1]
    image_share: float  # mean share of visible keys that are image keys, in [0, 1]
    n_queries: int  # selected query positions that see ≥ 1 image and ≥ 1 text key (the weight in aggregates)
    n_heads: int  # query heads
    last_logit_gap: float  # logit gap of the last position, mean over heads (nan if it sees no image or text key)
    last_image_mass_ratio: float  # image mass ratio of the last position, mean over heads
    last_image_mass: float  # attention probability on image keys at the last position, mean over heads
    per_head_logit_gap: tuple[float, ...] = ()  # logit gap per query head, mean over selected queries
    n_sequences: int = 1  # sequences behind these figures (> 1 after aggregate_attention)


def _check(q, k, is_image, query_mask, is_text):
    if q.ndim != 3 or k.ndim != 3:
        raise ValueError(f"q must be [heads, T, d] and k [kv_heads, T, d], got {tuple(q.shape)} and {tuple(k.shape)}")
    h, t, d = q.shape
    if k.shape[1:] != (t, d) or k.shape[0] == 0 or h % k.shape[0]:
        raise ValueError(f"k must be [kv_heads, {t}, {d}] with kv_heads dividing {h}, got {tuple(k.shape)}")
    if t == 0:
        raise ValueError("sequence is empty (T = 0); need at least one position")
    for m, name in ((is_image, "is_image"), (query_mask, "query_mask"), (is_text, "is_text")):
        if m is not None and (m.dtype != torch.bool or m.shape != (t,)):
            raise ValueError(f"{name} must be a bool tensor of shape ({t},), got {m.dtype} {tuple(m.shape)}")
    if not (bool(torch.isfinite(q).all()) and bool(torch.isfinite(k).all())):
        raise ValueError("q and k must be finite; found nan or inf")


def _stats(q, k, rows, is_image, is_text, causal, scale, window=None):
    """Per (head, row) figures for query positions ``rows`` [b] -> gap, mass, share, valid: [H, b], [H, b], [b], [b]."""
    hkv, t, _ = k.shape
    h = q.shape[0]
    qb = q[:, rows].reshape(hkv, h // hkv, len(rows), -1)  # [Hkv, g, b, d]
    s = (qb @ k.unsqueeze(1).transpose(-1, -2)).reshape(h, len(rows), t) * scale  # [H, b, T]
    pos = torch.arange(t, device=q.device)
    vis = pos[None, :] <= rows[:, None] if causal else torch.ones(len(rows), t, dtype=torch.bool, device=q.device)  # [b, T]
    if window is not None:
        vis = vis & (pos[None, :] > rows[:, None] - window)  # the last `window` positions up to the query
    img, txt = vis & is_image, vis & is_text  # [b, T]
    n_img, n_txt, n_vis = img.sum(-1), txt.sum(-1), vis.sum(-1)  # [b]
    gap = (s * img).sum(-1) / n_img.clamp_min(1) - (s * txt).sum(-1) / n_txt.clamp_min(1)  # [H, b]
    p = torch.softmax(s.masked_fill(~vis, float("-inf")), dim=-1)  # [H, b, T]
    mass = (p * img).sum(-1)  # [H, b]
    share = n_img / n_vis  # [b]
    return gap, mass, share, (n_img > 0) & (n_txt > 0)


def attention_metrics(
    q: torch.Tensor, k: torch.Tensor, is_image: torch.Tensor, query_mask: torch.Tensor, *,
    causal: bool = True, block: int = 1024, is_text: torch.Tensor | None = None, scale: float | None = None,
    window: int | None = None,
) -> AttentionMetrics:
    """Metrics (module doc) of one sequence. q [heads, T, d], k [kv_heads, T, d] post-RoPE;
    is_image, query_mask bool [T]; is_text bool [T] (default: not image — pass it to leave out
    special tokens); scale: logit scale (default 1/√d); window: a sliding-window layer's window
    (None: every earlier key). Runs on q's device, float32 or wider."""
    _check(q, k, is_image, query_mask, is_text)
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise ValueError(f"window must be an int >= 1 or None, got {window!r}")
    dtype = torch.float32 if q.dtype in _HALF else q.dtype
    q, k = q.to(dtype), k.to(dtype)
    is_image = is_image.to(q.device)
    is_text = (~is_image if is_text is None else is_text.to(q.device)) & ~is_image
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    h = q.shape[0]
    rows_all = query_mask.to(q.device).nonzero().squeeze(1)  # [n_sel]
    gap_sum = torch.zeros(h, dtype=torch.float64, device=q.device)  # per head Σ gap over valid queries
    ratio_sum = mass_sum = share_sum = 0.0
    n = 0
    for r0 in range(0, len(rows_all), block):
        gap, mass, share, ok = _stats(q, k, rows_all[r0 : r0 + block], is_image, is_text, causal, scale, window)
        gap_sum += gap[:, ok].sum(-1).double()
        ratio_sum += float((mass[:, ok] / share[ok]).sum())
        mass_sum += float(mass[:, ok].sum())
        share_sum += float(share[ok].sum()) * h
        n += int(ok.sum())
    last = torch.tensor([q.shape[1] - 1], device=q.device)
    lgap, lmass, lshare, lok = _stats(q, k, last, is_image, is_text, causal, scale, window)
    nan = float("nan")
    lok = bool(lok[0])
    return AttentionMetrics(
        logit_gap=float(gap_sum.sum()) / (n * h) if n else nan,
        image_mass_ratio=ratio_sum / (n * h) if n else nan,
        image_mass=mass_sum / (n * h) if n else nan,
        image_share=share_sum / (n * h) if n else nan,
        n_queries=n, n_heads=h,
        last_logit_gap=float(lgap.mean()) if lok else nan,
        last_image_mass_ratio=float((lmass / lshare).mean()) if lok else nan,
        last_image_mass=float(lmass.mean()) if lok else nan,
        per_head_logit_gap=tuple(float(v) / n if n else nan for v in gap_sum.tolist()),
    )


def aggregate_attention(results: Sequence[AttentionMetrics]) -> AttentionMetrics:
    """Combine sequences: query figures weighted by n_queries, last-position figures averaged
    over the sequences where they are defined (one weight each)."""
    if not results:
        raise ValueError("aggregate_attention needs at least one AttentionMetrics, got none")
    heads = {r.n_heads for r in results}
    if len(heads) != 1:
        raise ValueError(f"all results must have the same number of heads, got {sorted(heads)}")
    n = sum(r.n_queries for r in results)
    nan = float("nan")

    def wmean(get):
        return sum(get(r) * r.n_queries for r in results if r.n_queries) / n if n else nan

    def lmean(get):
        vals = [get(r) for r in results if get(r) == get(r)]
        return sum(vals) / len(vals) if vals else nan

    h = heads.pop()
    return AttentionMetrics(
        logit_gap=wmean(lambda r: r.logit_gap), image_mass_ratio=wmean(lambda r: r.image_mass_ratio),
        image_mass=wmean(lambda r: r.image_mass), image_share=wmean(lambda r: r.image_share),
        n_queries=n, n_heads=h,
        last_logit_gap=lmean(lambda r: r.last_logit_gap), last_image_mass_ratio=lmean(lambda r: r.last_image_mass_ratio),
        last_image_mass=lmean(lambda r: r.last_image_mass),
        per_head_logit_gap=tuple(wmean(lambda r, i=i: r.per_head_logit_gap[i]) for i in range(h)) if n else (),
        n_sequences=sum(r.n_sequences for r in results),
    )
