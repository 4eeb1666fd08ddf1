"""Turn one layer of a KeyBank into a TripleResult: the one place where the finding is decided.

The verdict: the lower bound of the bootstrap interval of ratio = cross-modal MMD² / strongest
intra-modal MMD² (random-half and by-sample baselines of each modality, one kernel for all)
must reach the threshold, and the permutation p-value of the cross-modal MMD² must be under alpha.
JS divergence (two named estimators) and a linear-probe AUC, in the standardized PCA-50 space,
and a t-SNE map are reported beside it.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import torch

from harness.capture import KeyBank, LayerBank
from harness.labels import IMAGE, MODALITY_NAMES, SPECIAL, TEXT
from harness.results import TripleResult
from harness.stats import bootstrap_ratio_interval, js_classifier, js_knn, mmd_test, probe_auc, tsne_2d
from harness.stats.folds import merge_sharing_rows


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
    tsne_cap: int = 600  # points in the t-SNE map of a triple (0: no map)


class AnalysisError(Exception):
    """A triple that cannot be judged (empty modality, non-finite keys); recorded as an error."""


def samples_digest(sample_ids) -> str:
    return hashlib.sha256("\n".join(sample_ids).encode()).hexdigest()[:16]


def _keep(n: int, cap: int, gen: torch.Generator) -> torch.Tensor | slice:
    """Rows to keep of `n`: all of them, or a seeded sorted subsample of `cap`."""
    return slice(None) if n <= cap else torch.randperm(n, generator=gen)[:cap].sort().values


def _masks(layer: LayerBank, settings: AnalysisSettings) -> tuple[torch.Tensor, torch.Tensor]:
    text = layer.modality == TEXT
    if settings.special_as_text:
        text |= layer.modality == SPECIAL
    return layer.modality == IMAGE, text


def _check(layer_index: int, name: str, x: torch.Tensor) -> None:
    if x.shape[0] < 4:
        raise AnalysisError(f"layer {layer_index}: only {x.shape[0]} {name} vectors captured; need at least 4 per modality")
    bad = int((~torch.isfinite(x).all(dim=1)).sum())
    if bad:
        raise AnalysisError(
            f"layer {layer_index}: {bad} of {x.shape[0]} {name} vectors are not finite (overflow in low precision?); "
            "rerun with --ks-dtype float32"
        )


def _tsne(layer: LayerBank, settings: AnalysisSettings) -> dict | None:
    if settings.tsne_cap <= 0:
        return None
    labels = [MODALITY_NAMES[int(m)] for m in layer.modality]
    proj = tsne_2d(layer.vectors, labels, seed=settings.seed, cap=settings.tsne_cap)
    return {
        "points": [[round(float(a), 3), round(float(b), 3)] for a, b in proj.points],
        "labels": list(proj.labels),
        "cap": proj.cap,
        "method": proj.method,
    }


def by_benchmark_baselines(
    bank: KeyBank, other: KeyBank, layer: int, settings: AnalysisSettings, sigma: float
) -> dict[str, float]:
    """MMD² between the keys of one modality on two benchmarks (same kernel as the cross-modal test)."""
    gen = torch.Generator().manual_seed(settings.seed)
    out = {}
    for name, mask_index in (("image", 0), ("text", 1)):
        a = bank.layers[layer].vectors[_masks(bank.layers[layer], settings)[mask_index]]
        b = other.layers[layer].vectors[_masks(other.layers[layer], settings)[mask_index]]
        if a.shape[0] < 2 or b.shape[0] < 2:
            continue
        a = a[_keep(len(a), settings.max_points, gen)]
        b = b[_keep(len(b), settings.max_points, gen)]
        out[f"{name}/by-benchmark"] = mmd_test(a, b, permutations=0, bandwidth=sigma, seed=settings.seed).mmd2
    return out


def _mechanism(bank: KeyBank, layer: int) -> dict:
    """Logit gap and attention share of the layer, when the bank carries them."""
    metrics = bank.mechanism.get(layer) or {}
    if not metrics:
        return {}
    return {
        "logit_gap": metrics["logit_gap"],
        "attention_share": metrics["attention_share"],
        "mechanism": metrics,  # also the last-token figures, image mass and share, counts
    }


def analyze_layer(
    bank: KeyBank, layer: int, settings: AnalysisSettings, *, config_id: str = "", other: KeyBank | None = None
) -> TripleResult:
    """Judge one layer of `bank`; `other` (the same model on another benchmark) adds by-benchmark baselines."""
    start = time.perf_counter()
    lb = bank.layers[layer]
    image_mask, text_mask = _masks(lb, settings)
    _check(layer, "image", lb.vectors[image_mask])
    _check(layer, "text", lb.vectors[text_mask])

    gen = torch.Generator().manual_seed(settings.seed)
    image_rows = _keep(int(image_mask.sum()), settings.max_points, gen)
    image, image_groups = lb.vectors[image_mask][image_rows], lb.sample[image_mask][image_rows]
    text_rows = _keep(int(text_mask.sum()), settings.max_points, gen)
    text, text_groups = lb.vectors[text_mask][text_rows], lb.sample[text_mask][text_rows]

    cross = mmd_test(image, text, permutations=settings.permutations, seed=settings.seed)
    interval = bootstrap_ratio_interval(
        image, text, image_groups.numpy(), text_groups.numpy(), n_boot=settings.n_boot, level=settings.level,
        seed=settings.seed, sigma=cross.bandwidth, max_points=image.shape[0] + text.shape[0],
    )
    intra = {
        "image/random": interval.intra_image_random,
        "image/by-sample": interval.intra_image_sample,
        "text/random": interval.intra_text_random,
        "text/by-sample": interval.intra_text_sample,
    }
    by_bench = by_benchmark_baselines(bank, other, layer, settings, cross.bandwidth) if other is not None else {}
    intra.update(by_bench)
    # grouped folds and kNN neighbours by prompt; prompts sharing an image (identical image keys) are one unit;
    # the map into js_space is fitted on each fold's training prompts
    groups = merge_sharing_rows(image, (image_groups.numpy(), text_groups.numpy()), positions=lb.position[image_mask][image_rows].numpy())
    fit = {"groups": groups, "seed": settings.seed, "space": settings.js_space}
    js = {r.estimator.split("-")[0]: {"bits": r.bits, "estimator": r.estimator, "reason": r.reason}
          for r in (js_classifier(image, text, **fit), js_knn(image, text, **fit))}
    auc = probe_auc(image, text, **fit)

    # The by-benchmark baseline needs keys of two benchmarks, which one bootstrap over one benchmark's
    # samples cannot resample; it enters the verdict as a point check on the same threshold.
    beats_benchmarks = all(cross.mmd2 >= settings.threshold * v for v in by_bench.values())
    passed = bool(interval.low >= settings.threshold and cross.p_value < settings.alpha and beats_benchmarks)
    message = "" if passed else (
        f"ratio {interval.ratio:.3g} [{interval.low:.3g}, {interval.high:.3g}] (lower bound must be ≥ {settings.threshold:g}), "
        f"p {cross.p_value:.3g} (need < {settings.alpha:g}); MMD² {cross.mmd2:.4g}; intra "
        + ", ".join(f"{k} {v:.3g}" for k, v in intra.items())
        + ("" if beats_benchmarks else f"; MMD² under {settings.threshold:g} × the by-benchmark baseline")
    )
    return TripleResult(
        model=bank.model, layer=layer, benchmark=bank.benchmark, status="passed" if passed else "failed",
        n_image=cross.n_x, n_text=cross.n_y, mmd2=cross.mmd2, mmd=cross.mmd, p_value=cross.p_value,
        permutations=cross.permutations, bandwidth=cross.bandwidth, space="raw", intra=intra,
        ratio=interval.ratio, threshold=settings.threshold, alpha=settings.alpha, passed=passed,
        seconds=time.perf_counter() - start, counts=bank.counts(layer), config_id=config_id,
        samples_digest=samples_digest(bank.sample_ids), message=message,
        extra={
            "kind": bank.kind,
            "kernel": cross.kernel,
            "ratio_interval": {"low": interval.low, "high": interval.high, "level": interval.level,
                               "n_boot": interval.n_boot, "method": interval.method,
                               "floored_fraction": interval.floored_fraction},
            "js": js,
            "js_space": settings.js_space,
            "auc": auc,
            "tsne": _tsne(lb, settings),
            **_mechanism(bank, layer),
        },
    )
