"""Turn one layer of a KeyBank into a TripleResult: the one place where a triple's figures are made.

The tokens are selected once (``selection``: masks, seeded subsample, units and labels); every figure
treats the unit (a prompt, or prompts sharing an image) as the independent draw (``harness.stats.gap``).
The verdict is the one of ``verdict`` (the pre-registered kernel-mean tier, docs/statistics.md): the
sign-flip p-value of the cross-modal between-prompt MMD² (mixture kernel) under alpha, and its ratio to
every real intra-modal split (by language, by category) bounded above the threshold; with two
benchmarks, the cross-modal MMD² must also reach threshold × each by-benchmark MMD² (on the point; the
same splits bounded are a reading beside it: docs/statistics.md "Amendment 4"). The other tiers
(paper form, separability, out of support), JS and probe AUC in the standardized PCA-50 space, and a
t-SNE map are reported beside it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import hashlib
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from harness.capture.keys import KeyBank, LayerBank
from harness.models.labels import MODALITY_NAMES
from harness.results.captured import SPECIAL_AS_TEXT
from harness.results.figures import JSEstimate, Mechanism, TSNEMap
from harness.results.records import TripleResult
from harness.stats import cross_modal_gap, probe_figures, tsne_2d
from harness.stats.by_benchmark import NOT_FORMED, BenchmarkSplits, benchmark_splits, combined, pairing
from harness.stats._validate import nonfinite_rows
from harness.stats.folds import merge_sharing_rows
from harness.stats.gap import pooled_distances
from harness.stats.kernels import MIXTURE_SCALES, mixture_sigmas
from harness.stats.per_head import MAX_HEADS, per_head, per_head_record
from harness.stats.tiers import all_tiers

from .key_check import key_warnings
from .selection import AnalysisError, modality_masks, select
from .tiers import MIXTURE_NAME, kernel_figures, tiers_record, verdict_message
from .verdict import decide


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything that shapes a triple's figures and verdict."""

    threshold: float  # the ratio's lower interval bound must reach this
    alpha: float  # the permutation p-value must be under this
    seed: int = 0
    permutations: int = 1000
    max_points: int = 1500  # vectors per modality used by the statistics (seeded subsample above this)
    special_as_text: bool = False  # count template/special tokens as text
    n_boot: int = 200  # bootstrap replicates of the ratio interval (resampling samples)
    level: float = 0.90  # two-sided coverage of the ratio interval: its lower bound is a one-sided 95 % bound
    js_space: str = "pca50"  # space of JS and AUC: raw, standardized or pca50
    per_head: int = MAX_HEADS  # figures per head when the vector has at most this many heads (0: never)
    tsne_cap: int = 600  # points in the t-SNE map of a triple (0: no map)
    tsne_iter: int = 250  # openTSNE iterations of the map after its 250 early-exaggeration ones (openTSNE's default: 500);
    # a picture, not a statistic: trustworthiness within 0.005 of 500 iterations (PERFORMANCE.md "Analysis stages")
    device: str | None = None  # where the MMD statistics run (e.g. "cuda"); None: on the keys' own device


def samples_digest(sample_ids) -> str:
    return hashlib.sha256("\n".join(sample_ids).encode()).hexdigest()[:16]


def _check(layer_index: int, name: str, vectors: torch.Tensor, mask: torch.Tensor, finite: bool) -> None:
    """`finite`: the whole bank is known finite (one sum proves it), so only the count is checked."""
    n = int(mask.sum())
    if n < 4:
        raise AnalysisError(f"layer {layer_index}: only {n} {name} vectors captured; need at least 4 per modality")
    bad = 0 if finite else nonfinite_rows(vectors[mask.to(vectors.device)])
    if bad:
        raise AnalysisError(
            f"layer {layer_index}: {bad} of {n} {name} vectors are not finite (overflow in low precision?); "
            "rerun with --ks-dtype float32"
        )


def _per_head(bank: KeyBank, layer: int, image, text, settings: AnalysisSettings) -> dict:
    """The record's "per head" figures (harness.stats.per_head) at `layer` (its own heads: the layers of one
    decoder may differ), or why they were not computed."""
    heads = 1 if bank.head_index is not None else bank.layout(layer)[0]
    figures = []
    if 1 < heads <= settings.per_head:
        figures = per_head(image, text, heads, threshold=settings.threshold, alpha=settings.alpha,
                           permutations=settings.permutations, n_boot=settings.n_boot, level=settings.level, seed=settings.seed,
                           probe_space=settings.js_space)
    return per_head_record(figures, heads, bank.kind, settings.per_head)


def _tsne(layer: LayerBank, settings: AnalysisSettings) -> dict | None:
    if settings.tsne_cap <= 0:
        return None
    codes, inverse = np.unique(layer.modality.cpu().numpy(), return_inverse=True)
    labels = np.array([MODALITY_NAMES[int(c)] for c in codes])[inverse.reshape(-1)].tolist()
    # on one BLAS/OpenMP thread whatever the process's count: the same points at any thread count
    # (openTSNE's sums are otherwise split over threads), and a 600-point map gains little from more
    with threadpool_limits(limits=1):
        proj = tsne_2d(layer.vectors, labels, seed=settings.seed, cap=settings.tsne_cap, n_iter=settings.tsne_iter)
    return TSNEMap(tuple((round(float(a), 3), round(float(b), 3)) for a, b in proj.points), tuple(proj.labels),
                   proj.cap, proj.method, proj.iterations).to_dict()


def by_benchmark_splits(gap, image, text, others: list[tuple[KeyBank, dict | None]], layer: int,
                        settings: AnalysisSettings) -> BenchmarkSplits:
    """The by-benchmark splits of this triple's kept keys (`image`, `text`, as `gap` read them) against the same
    layer of each of `others` (the same model on another benchmark, with ``sample_strata`` of its samples: its
    tokens selected as its own triple selects them, units as there), under the gap's mixture kernel."""
    against = {}
    for other, strata in sorted(others, key=lambda o: o[0].benchmark):  # the order given does not matter
        theirs = select(other.layers[layer], other.sample_ids, strata, max_points=settings.max_points, seed=settings.seed,
                        special_as_text=settings.special_as_text, device=settings.device)
        against[other.benchmark] = benchmark_splits(gap.comparisons[0], image, text, theirs.image, theirs.text,
                                                    widths=mixture_sigmas(gap.sigma))
    return combined(against)


def _mechanism(bank: KeyBank, layer: int) -> dict:
    """Logit gap and attention share of the layer, when the bank carries them."""
    metrics = Mechanism.from_dict(bank.mechanism.get(layer))
    if metrics is None:
        return {}
    return {
        "logit_gap": metrics.logit_gap,
        "attention_share": metrics.attention_share,
        "mechanism": metrics.to_dict(),  # also the last-token figures, image mass and share, counts
    }


def analyze_layer(
    bank: KeyBank, layer: int, settings: AnalysisSettings, *, config_id: str = "", other: KeyBank | None = None,
    strata: dict[str, dict[str, str]] | None = None, other_strata: dict[str, dict[str, str]] | None = None,
    others: list[tuple[KeyBank, dict | None]] = (),
) -> TripleResult:
    """Judge one layer of `bank`; `others` (the same model on each other benchmark, with ``sample_strata`` of its
    samples; `other` / `other_strata`: one of them) add the by-benchmark splits; `strata` (``sample_strata`` of the
    captured samples) gives the units and the real sub-populations."""
    others = [*others, *([(other, other_strata)] if other is not None else [])]
    start = time.perf_counter()
    lb = bank.layers[layer]
    image_mask, text_mask = modality_masks(lb, special_as_text=settings.special_as_text)
    finite = nonfinite_rows(lb.vectors) == 0  # one sum over the bank proves the usual case
    _check(layer, "image", lb.vectors, image_mask, finite)
    _check(layer, "text", lb.vectors, text_mask, finite)

    # The t-SNE map runs on a thread of its own beside the statistics (a second core where one is free; it
    # needs nothing they compute), both on one BLAS/OpenMP thread: the same figures and points as one after the other.
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=1) as pool:
        map_job = pool.submit(_tsne, lb, settings)
        # the statistics' vectors stay on (or go to) the analysis device; token labels are small host arrays
        sel = select(lb, bank.sample_ids, strata, max_points=settings.max_points, seed=settings.seed,
                     special_as_text=settings.special_as_text, device=settings.device)
        image, text = sel.image, sel.text
        warnings = key_warnings(image, text)
        if len(set(image.units) & set(text.units)) < 2:
            raise AnalysisError(f"layer {layer}: fewer than 2 prompts hold both image and text tokens; the prompt-level test needs at least 2")

        d2 = pooled_distances(image, text)  # one product for the gap's kernel and the support tier's neighbours
        gap = cross_modal_gap(image, text, permutations=settings.permutations, n_boot=1, level=settings.level, seed=settings.seed,
                              kernel_scales=MIXTURE_SCALES, sq_dists=d2, scale_readings=True)
        benchmarks = by_benchmark_splits(gap, image, text, others, layer, settings) if others else None
        # every tier of the claim on these keys, the mixture-kernel gap above shared (its p-value, units, comparisons)
        tiers = all_tiers(image, text, threshold=settings.threshold, alpha=settings.alpha, n_boot=settings.n_boot,
                          level=settings.level, seed=settings.seed, probe_space=settings.js_space, gap=gap, sq_dists=d2,
                          benchmarks=benchmarks)
        del d2
        by_bench = tiers.by_benchmark.points if tiers.by_benchmark is not None else {}
        intra = {**gap.intra, **by_bench}
        verdict = decide(tiers.kernel, p_value=gap.p_value, threshold=settings.threshold, alpha=settings.alpha, by_benchmark=by_bench)
        # grouped folds and kNN neighbours by prompt; prompts sharing an image (identical image keys) are one unit;
        # the map into js_space is fitted on each fold's training prompts
        groups = merge_sharing_rows(image.x, (image.units, text.units), positions=image.position)
        fit = {"groups": groups, "seed": settings.seed, "space": settings.js_space}
        # one cross-fit for JS and AUC, on the separability tier's folds and maps of these keys where it has them
        classifier, knn, auc = probe_figures(image.x, text.x, **fit, maps=tiers.maps)
        js = {e.name: e.to_dict() for e in (JSEstimate(r.bits, r.estimator, r.reason) for r in (classifier, knn))}

        heads = _per_head(bank, layer, image, text, settings)
        tsne = map_job.result()  # before the clock is read: `seconds` is the whole analysis, the map included
    passed = verdict.passed
    figures = kernel_figures(tiers.kernel, gap)
    message = "" if passed else verdict_message(verdict, tiers.kernel, gap, intra, threshold=settings.threshold, alpha=settings.alpha)
    unformed = benchmarks.unformed() if benchmarks is not None else []
    if unformed:  # the point check then stands on the splits formed (or none): said, as a capture that failed is
        unformed = [f"{NOT_FORMED}: {', '.join(unformed)} (a side held by fewer than 2 units)"]
    message = "; ".join(filter(None, [message, *unformed, *(f"key warning: {w}" for w in warnings)]))
    return TripleResult(
        model=bank.model, layer=layer, benchmark=bank.benchmark, status=verdict.status,
        n_image=gap.n_image, n_text=gap.n_text, mmd2=gap.mmd2, mmd=math.sqrt(max(gap.mmd2, 0.0)), p_value=gap.p_value,
        permutations=gap.permutations, bandwidth=gap.sigma, space="raw", intra=intra,
        ratio=figures["ratio"], threshold=settings.threshold, alpha=settings.alpha, passed=passed,
        seconds=time.perf_counter() - start, counts=bank.counts(layer), config_id=config_id,
        samples_digest=samples_digest(bank.sample_ids), message=message,
        extra={
            "kind": bank.kind,
            **({"head": bank.head_index} if bank.head_index is not None else {}),  # --ks-heads: one head's slice
            **({"text_side": SPECIAL_AS_TEXT} if settings.special_as_text else {}),  # --ks-special-as-text
            **({"key_warnings": warnings} if warnings else {}),  # harness.analysis.key_check
            "kernel": MIXTURE_NAME,
            "estimator": "between-prompt MMD² (pairs of tokens of different units, every unit weighted equally)",
            "units": gap.units,
            "intra_basis": gap.intra_basis,
            "strongest_intra": tiers.kernel.binding,
            # the benchmarks its by-benchmark splits were formed against (comma-separated, sorted: the order given does not matter)
            **({"by_benchmark": pairing(benchmarks.formed)} if benchmarks is not None and benchmarks.formed else {}),
            **({"by_benchmark_missing": unformed[0]} if unformed else {}),
            "noise_floor": gap.noise_floor,
            "null": {"mean": gap.null_mean, "std": gap.null_std, "method": "sign flips of whole units (image/text block swap)"},
            "mmd2_interval": {"low": tiers.kernel.cross_low, "high": tiers.kernel.cross_high, "level": tiers.kernel.level},
            **({"ratio_interval": figures["interval"]} if figures["interval"] else {}),
            "tiers": {**tiers_record(tiers), "verdict": verdict.outcome, "per head": heads},
            "js": js,
            "js_space": settings.js_space,
            "auc": auc,
            "tsne": tsne,
            **_mechanism(bank, layer),
        },
    )
