"""Every tier of the claim for one set of keys (docs/statistics.md "Tiers and the asserted verdict").

- paper form (``paper_form``): token-level MMD² over random halves; a replication, never evidence;
- separability (``separability``): held-out AUC image vs text against every real split;
- out of support (``support``): share of image keys outside the text keys' support, against every split;
- kernel mean (``kernel_mean``): between-prompt MMD² (mixture kernel) against every real split,
  each bounded on its own: the asserted verdict (``verdict``).

A real split is a label (category, language, ...) with two levels each held by ≥ 2 units in one
modality; position halves are never one. All tiers share one unit bootstrap (the same draws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._validate import check_seed
from .bootstrap import with_data_row
from .by_benchmark import BenchmarkSplits
from .gap import GapResult, Side, cross_modal_gap, pooled_distances
from .kernel_mean import KernelMeanTier, holds, kernel_mean_tier
from .kernels import MIXTURE_SCALES, pairwise_sq_dists
from .paper_form import PaperForm, paper_form
from .separability import FoldMaps, Separability, fold_maps, separability
from .support import SupportTier, setup, support_tier

ASSERTED = "kernel mean"  # the tier the verdict is decided by (docs/statistics.md, pre-registered)
UNDECIDED_NO_SPLIT = "undecided: no real sub-population to compare with"
UNDECIDED_UNBOUNDED = "undecided: intra-modal effects not bounded at this number of prompts"
# every split's lower bound reaches the threshold but the prompt-level test does not reject at alpha (too few
# units, or too few sign flips for p to reach alpha): the same non-pass, its own reason (since 2026-12-05)
UNDECIDED_NOT_SIGNIFICANT = "undecided: the prompt-level test does not reject at alpha"
# with two benchmarks: every within-benchmark split's bound is met, but the cross-modal MMD² is under threshold × a
# by-benchmark effect on the point (those effects are not bounded: harness.analysis.verdict), so neither holds nor absent
UNDECIDED_BY_BENCHMARK = "undecided: under threshold × a by-benchmark effect on the point (not bounded)"


@dataclass(frozen=True)
class Tiers:
    paper: PaperForm
    separability: Separability | None  # None when not asked for
    support: SupportTier | None
    kernel: KernelMeanTier  # the asserted tier
    gap: GapResult  # the mixture-kernel gap behind it (p-value, units, comparisons)
    verdict: str  # "holds", "absent" or one of the UNDECIDED_* sentences
    maps: FoldMaps | None = None  # the held-out folds' maps of the pooled keys (image rows, then text), when computed
    # the kernel-mean tier under each RBF of the mixture alone, with the rule's outcome there (readings beside
    # the verdict, never it: docs/statistics.md "Tiers"); empty where the gap kept no single-σ readings
    per_sigma: tuple["SigmaReading", ...] = ()
    # with a second benchmark: the kernel-mean tier with its by-benchmark splits bounded like every other split,
    # and what the rule would read there (a reading beside the verdict, never it: docs/statistics.md "Amendment 4")
    by_benchmark: "BenchmarkReading | None" = None


@dataclass(frozen=True)
class SigmaReading:
    scale: float  # σ = scale × σ_med
    sigma: float
    p_value: float  # the sign-flip test at this σ
    kernel: KernelMeanTier  # the tier's figures at this σ (same units and splits; one bootstrap row, so its cross_low/high are no interval)
    outcome: str  # what the verdict's rule reads at this σ alone ("holds", "absent", "undecided: ...")


@dataclass(frozen=True)
class BenchmarkReading:
    kernel: KernelMeanTier  # the tier with the by-benchmark splits among its splits (one bootstrap row, the data's)
    outcome: str  # what the verdict's rule reads there ("holds", "absent", "undecided: ...")
    points: dict  # name -> the by-benchmark split's MMD² on the data (the verdict's point check reads these)


def real_splits(units: dict, strata: dict) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """name ("image/by-category") -> [(keys of level a, keys of level b)] boolean masks per pair of
    levels held by ≥ 2 units; `units`, `strata`: modality -> [n] unit ids, modality -> {label: [n]}."""
    out = {}
    for mod in ("image", "text"):
        for label, values in sorted(strata.get(mod, {}).items()):
            values = np.asarray(values).astype(str)
            held = [lv for lv in np.unique(values) if len(np.unique(np.asarray(units[mod])[values == lv])) >= 2]
            if len(held) >= 2:
                out[f"{mod}/by-{label}"] = [(values == a, values == b) for i, a in enumerate(held) for b in held[i + 1:]]
    return out


def verdict(kernel: KernelMeanTier, p_value: float, *, threshold: float, alpha: float) -> str:
    """The asserted verdict from the kernel-mean tier (docs/statistics.md): holds, absent or undecided."""
    if not kernel.splits:
        return UNDECIDED_NO_SPLIT
    if p_value < alpha and holds(kernel, threshold):
        return "holds"
    if any(b.high < threshold for b in kernel.splits):
        return "absent"
    return UNDECIDED_NOT_SIGNIFICANT if holds(kernel, threshold) else UNDECIDED_UNBOUNDED


def asserted_tier(gap: GapResult, *, n_boot: int = 200, level: float = 0.90, seed: int = 0,
                  foreign: dict | None = None) -> KernelMeanTier:
    """The kernel-mean tier of a gap computed with the mixture kernel (``cross_modal_gap(...,
    kernel_scales=MIXTURE_SCALES)``): its cross-modal Comparison against each real split's (none where the
    gap fell back to by-position splits, which are figures only); `foreign`: further splits over other units
    (``kernel_mean.kernel_mean_tier``), e.g. the by-benchmark ones of the reading beside the verdict."""
    cross, intra = gap.comparisons
    real = {} if gap.intra_basis.startswith("position") else intra
    return kernel_mean_tier(cross, real, n_boot=n_boot, level=level, seed=seed, foreign=foreign)


def sigma_reading(r, *, threshold: float, alpha: float, level: float, seed: int) -> SigmaReading:
    """The kernel-mean tier and the rule's outcome under one RBF of the mixture (``gap.ScaleReading`` `r`, whose
    splits are the real ones only). One bootstrap row, the data's: every figure a reading keeps (M, L, the binding
    split, the outcome) comes from the data and the unbiased variance, none from resampled units."""
    cross, intra = r.comparisons
    kernel = kernel_mean_tier(cross, intra, n_boot=1, level=level, seed=seed)
    return SigmaReading(r.scale, r.sigma, r.p_value, kernel, verdict(kernel, r.p_value, threshold=threshold, alpha=alpha))


FOLDS = 5  # folds of units for the held-out tiers (separability, out of support)


def _host(x) -> np.ndarray:
    """[n, d] keys as a host array in their own dtype: a tensor on a device (`--ks-device cuda` analyses there) is
    copied to the host once, where numpy could not read it; a host tensor or array is read in place."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def all_tiers(image: Side, text: Side, *, sigma: float | None = None,
              threshold: float = 1.0, alpha: float = 0.01, permutations: int = 1000, n_boot: int = 200, level: float = 0.90,
              seed: int = 0, with_separability: bool = True, with_support: bool = True, probe_space: str = "raw",
              gap: GapResult | None = None, sq_dists=None, benchmarks: BenchmarkSplits | None = None) -> Tiers:
    """The image and text tokens with unit ids and label strata (``gap.Side``, as ``gap.cross_modal_gap``);
    `probe_space`: where the separability probe runs (``space.space_steps``; "pca50" for wide keys:
    the analysis' js_space); `gap`: the mixture-kernel gap of these very keys when the caller has it
    (the triple check computes it once for its own figures), else computed here; `sq_dists`: the pooled
    squared distances of these keys (``gap.pooled_distances``) when the caller has them: the gap's σ and kernel
    sums and the support tier's neighbour distances read the one product (else made here, once); `benchmarks`:
    the by-benchmark splits of these keys against a second benchmark's (``by_benchmark.benchmark_splits``): the
    reading that bounds them (``BenchmarkReading``)."""
    seed = check_seed(seed)
    if sq_dists is None and (gap is None or with_support):
        sq_dists = pooled_distances(image, text)  # None when too large for one block: each part then makes its own
    if gap is None:
        names = sorted(set(image.strata) & set(text.strata))
        gap = cross_modal_gap(image.only(names), text.only(names), sigma=sigma, permutations=permutations, n_boot=1, level=level, seed=seed,
                              kernel_scales=MIXTURE_SCALES, sq_dists=sq_dists)
    cross = gap.comparisons[0]
    kernel = asserted_tier(gap, n_boot=n_boot, level=level, seed=seed)
    per_sigma = tuple(sigma_reading(r, threshold=threshold, alpha=alpha, level=level, seed=seed) for r in gap.per_scale)
    bench = None
    if benchmarks is not None:
        bounded = asserted_tier(gap, n_boot=1, level=level, seed=seed, foreign=benchmarks.splits)
        bench = BenchmarkReading(bounded, verdict(bounded, gap.p_value, threshold=threshold, alpha=alpha), benchmarks.points())
    paper = paper_form(cross, n_boot=n_boot, level=level, seed=seed)
    ui, ut = np.asarray(image.units), np.asarray(text.units)
    splits = real_splits({"image": ui, "text": ut}, {"image": image.strata, "text": text.strata})
    unit_names = np.unique(np.concatenate([ui, ut]))
    m = with_data_row(len(unit_names), n_boot, seed)
    sep = sup = maps = None
    z = np.concatenate([_host(image.x), _host(text.x)])  # [N, d] pooled, in the keys' dtype (the maps choose theirs)
    ni = len(ui)
    offset = {"image": 0, "text": ni}
    idx = {n: [(np.flatnonzero(a) + offset[n.split("/")[0]], np.flatnonzero(b) + offset[n.split("/")[0]]) for a, b in p]
           for n, p in splits.items()}
    image_rows, text_rows = np.arange(ni), np.arange(ni, len(z))
    # The held-out tiers deal units into FOLDS folds: with fewer units they are not computed (None,
    # shown as such), and the kernel-mean verdict still stands on its own.
    enough = len(unit_names) >= FOLDS
    if with_separability and enough:
        unit_col = np.searchsorted(unit_names, np.concatenate([ui, ut]))  # [N] each key's column of m
        maps = fold_maps(z, unit_col, folds=FOLDS, space=probe_space, seed=seed)
        sep = separability(maps, image_rows, text_rows, idx, unit_col=unit_col, m=m, level=level, seed=seed)
    if with_support and enough:
        if sq_dists is None:
            z64 = z.astype(np.float64)
            sq_dists = pairwise_sq_dists(z64, z64)
        s = setup(sq_dists, np.concatenate([ui, ut]), folds=FOLDS, n_boot=n_boot, seed=seed)
        sup = support_tier(s, image_rows, text_rows, idx, level=level)
    return Tiers(paper, sep, sup, kernel, gap, verdict(kernel, gap.p_value, threshold=threshold, alpha=alpha), maps, per_sigma,
                 bench)
