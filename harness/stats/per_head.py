"""Every tier per head (issue 23: "per KV head and over all layers").

A key vector of a layer is the concatenation of its KV heads' keys, and each query head reads one
KV head only; a gap carried by one head can be diluted by the others in the pooled vector, and a gap
the pooled vector shows can sit in one head. So every triple also reports, for each head's slice of
the captured vectors (KV heads for keys, attention heads for queries):

- the between-prompt MMD² of image vs text keys (mixture kernel at that head's own median σ) with its
  unit-bootstrap interval, and the kernel-mean ratio against every real split with its lower bound
  (one-sided 95 %), exactly as the asserted tier computes them on the pooled vector;
- separability (held-out AUC image vs text, and its difference from the strongest real split with
  its lower bound) and out of support (share of image keys outside the text keys' support against
  held-out text keys, and its difference from the strongest split with its lower bound), each by
  the pooled tier's own estimator on the head's slice (``tiers.all_tiers``: the same folds of units,
  the same bootstrap draws, the probe in the triple's space);
- the head's sign-flip p-value and the asserted rule applied to the head ("holds", "absent",
  "undecided: ..."): a figure only. The triple's verdict is the pooled vector's; with H heads, about
  H × alpha heads of a model without any gap read "holds" by chance where its splits are tight, so a
  head's word is not a finding on its own (no correction across heads is applied to it);
- the paper's token-level ratio to random halves (a replication, never evidence).

Population: the same units, labels and tokens as the triple's pooled figures; only the coordinates
differ. Bias and sample-size dependence are the pooled estimators' (docs/statistics.md).
Cost: every tier once per head, so heads × the pooled tiers' work (kernel, probe folds, distances); `MAX_HEADS` bounds it by
default (a 7B model has 4-32 KV heads: above 8 the figures are computed only when asked for). Measured
on one thread, 1,500 keys per modality, 4 heads of 128 (a Qwen2.5-VL-7B layer's width): the whole
triple 5.1-6.4 s without them, 8.0-8.4 s with the kernel-mean tier and paper form per head (before
separability and support were added per head: PERFORMANCE.md has today's figure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gap import Side
from .tiers import all_tiers

MAX_HEADS = 8  # default: heads reported when the vector has at most this many (0: never)


@dataclass(frozen=True)
class HeadFigures:
    head: int
    mmd2: float  # between-prompt MMD², kernel units of this head's σ
    mmd2_low: float
    mmd2_high: float
    ratio: float  # kernel-mean ratio (its setter split's point)
    ratio_low: float  # min over real splits of the one-sided lower bound
    estimable: bool
    binding: str
    p_value: float
    verdict: str  # the asserted rule on this head alone (a figure, not the triple's verdict)
    paper_ratio: float
    paper_low: float
    auc: float = float("nan")  # separability: held-out AUC image vs text (nan: not computed, too few units)
    auc_low: float = float("nan")
    auc_high: float = float("nan")
    auc_delta: float = float("nan")  # AUC − the strongest real split's AUC
    auc_delta_low: float = float("nan")  # lower bound of the difference against every split (> 0: separable beyond them)
    image_outside: float = float("nan")  # out of support: unit-weighted share of held-out image keys outside the text keys' support
    text_outside: float = float("nan")  # the same for held-out text keys (≈ 1 − q)
    outside_delta: float = float("nan")  # image excess − the strongest real split's excess
    outside_delta_low: float = float("nan")  # lower bound against every split (> 0: outside beyond them)
    splits: int = 0  # real splits the head's tiers were compared with

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def head_slices(dim: int, heads: int) -> list[slice]:
    """Column slices of each head in a [N, heads × head_dim] vector."""
    if heads < 1 or dim % heads:
        raise ValueError(f"a vector of {dim} columns does not split into {heads} equal heads")
    w = dim // heads
    return [slice(h * w, (h + 1) * w) for h in range(heads)]


def per_head(image: Side, text: Side, heads: int, *, threshold: float, alpha: float, permutations: int,
             n_boot: int, level: float, seed: int, probe_space: str = "raw") -> list[HeadFigures]:
    """Each head's figures (see the module doc); `image`/`text` as ``gap.cross_modal_gap`` takes them,
    their vectors [n, heads × head_dim]; `probe_space`: where the separability probe runs (the triple's)."""
    names = sorted(set(image.strata) & set(text.strata))
    out = []
    for h, cut in enumerate(head_slices(int(image.x.shape[1]), heads)):
        img = Side(image.x[:, cut], image.units, {n: image.strata[n] for n in names}, image.position)
        txt = Side(text.x[:, cut], text.units, {n: text.strata[n] for n in names}, text.position)
        # the head's own mixture-kernel gap (its median σ), computed inside as for the pooled vector
        t = all_tiers(img, txt, threshold=threshold, alpha=alpha, permutations=permutations, n_boot=n_boot, level=level,
                      seed=seed, probe_space=probe_space)
        kernel, sep, sup = t.kernel, t.separability, t.support
        held_out = {}
        if sep is not None:
            held_out.update(auc=sep.cross, auc_low=sep.cross_low, auc_high=sep.cross_high, auc_delta=sep.delta,
                            auc_delta_low=sep.delta_low)
        if sup is not None:
            held_out.update(image_outside=sup.cross.test_share, text_outside=sup.cross.ref_share, outside_delta=sup.delta,
                            outside_delta_low=sup.delta_low)
        out.append(HeadFigures(
            head=h, mmd2=kernel.cross, mmd2_low=kernel.cross_low, mmd2_high=kernel.cross_high,
            ratio=kernel.point, ratio_low=kernel.low, estimable=kernel.estimable, binding=kernel.binding,
            p_value=t.gap.p_value, verdict=t.verdict, paper_ratio=t.paper.ratio, paper_low=t.paper.ratio_low,
            splits=len(kernel.splits), **{k: float(v) for k, v in held_out.items()}))
    return out


def per_head_record(figures: list[HeadFigures], heads: int, kind: str, limit: int) -> dict:
    """The record's "per head" entry; where the heads were not computed, the reason instead."""
    if not figures:
        why = ("one head: the pooled figures are the head's" if heads <= 1
               else f"{heads} heads of {kind}: per-head figures off (--ks-per-head 0, or a control)" if limit <= 0
               else f"{heads} heads of {kind} > --ks-per-head {limit}: not computed (cost: one gap per head)")
        return {"heads": heads, "kind": kind, "by_head": [], "note": why}
    holds = [f.head for f in figures if f.verdict == "holds"]
    separable = [f.head for f in figures if f.splits and f.auc_delta_low > 0.0]  # nan compares False
    outside = [f.head for f in figures if f.splits and f.outside_delta_low > 0.0]
    lows = np.array([f.ratio_low for f in figures], dtype=float)
    lows = lows[np.isfinite(lows)]  # no real split: no bound (the verdict says why)
    return {"heads": heads, "kind": kind, "by_head": [f.to_dict() for f in figures], "holds_at": holds,
            "separable_at": separable, "outside_at": outside,
            "ratio_low_range": [float(lows.min()), float(lows.max())] if len(lows) else None, "note": ""}
