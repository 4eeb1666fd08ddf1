"""Turn one layer of a KeyBank into a TripleResult: the one place where the finding is decided."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import torch

from harness.capture import KeyBank, LayerBank
from harness.labels import IMAGE, SPECIAL, TEXT
from harness.results import TripleResult
from harness.stats import mmd_test


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything that shapes a triple's figures and verdict."""

    threshold: float  # the ratio cross / strongest intra-modal baseline must reach this
    alpha: float  # the permutation p-value must be under this
    seed: int = 0
    permutations: int = 1000
    max_points: int = 1500  # vectors per modality used by the statistics (seeded subsample above this)
    special_as_text: bool = False  # count template/special tokens as text


class AnalysisError(Exception):
    """A triple that cannot be judged (empty modality, non-finite keys); recorded as an error."""


def samples_digest(sample_ids) -> str:
    return hashlib.sha256("\n".join(sample_ids).encode()).hexdigest()[:16]


def _subsample(x: torch.Tensor, cap: int, generator: torch.Generator) -> torch.Tensor:
    if x.shape[0] <= cap:
        return x
    idx = torch.randperm(x.shape[0], generator=generator)[:cap]
    return x[idx.sort().values]


def _random_halves(x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    idx = torch.randperm(x.shape[0], generator=generator)
    half = x.shape[0] // 2
    return x[idx[:half]], x[idx[half : 2 * half]]


def modality_vectors(layer: LayerBank, settings: AnalysisSettings) -> tuple[torch.Tensor, torch.Tensor]:
    image = layer.vectors[layer.modality == IMAGE]
    text_mask = layer.modality == TEXT
    if settings.special_as_text:
        text_mask |= layer.modality == SPECIAL
    return image, layer.vectors[text_mask]


def analyze_layer(bank: KeyBank, layer: int, settings: AnalysisSettings, *, config_id: str = "") -> TripleResult:
    start = time.perf_counter()
    image, text = modality_vectors(bank.layers[layer], settings)
    base = dict(
        model=bank.model, layer=layer, benchmark=bank.benchmark, threshold=settings.threshold,
        alpha=settings.alpha, counts=bank.counts(layer), config_id=config_id,
        samples_digest=samples_digest(bank.sample_ids),
    )
    for name, x in (("image", image), ("text", text)):
        if x.shape[0] < 4:
            raise AnalysisError(f"layer {layer}: only {x.shape[0]} {name} vectors captured; need at least 4 per modality")
        bad = (~torch.isfinite(x).all(dim=1)).sum().item()
        if bad:
            raise AnalysisError(f"layer {layer}: {bad} {name} vectors are not finite (overflow in {x.dtype}?); rerun with --ks-dtype float32")

    gen = torch.Generator().manual_seed(settings.seed)
    image = _subsample(image, settings.max_points, gen)
    text = _subsample(text, settings.max_points, gen)
    cross = mmd_test(image, text, permutations=settings.permutations, seed=settings.seed)
    # Intra-modal baselines use the cross-modal kernel, so all figures are on one scale.
    intra = {}
    for name, x in (("image", image), ("text", text)):
        a, b = _random_halves(x, gen)
        intra[f"{name}/random"] = mmd_test(a, b, permutations=0, bandwidth=cross.bandwidth, seed=settings.seed).mmd2
    strongest = max(intra.values())
    # A baseline at or under the estimator's noise would make the ratio explode; floor it at the
    # standard deviation of the permutation null of the cross-modal MMD² (the noise at this size).
    denominator = max(strongest, cross.null_std)
    ratio = cross.mmd2 / denominator
    passed = bool(ratio >= settings.threshold and cross.p_value < settings.alpha)
    message = "" if passed else (
        f"ratio {ratio:.3g} (need ≥ {settings.threshold:g}), p {cross.p_value:.3g} (need < {settings.alpha:g}); "
        f"MMD² {cross.mmd2:.4g}, intra " + ", ".join(f"{k} {v:.3g}" for k, v in intra.items())
    )
    return TripleResult(
        **base, status="passed" if passed else "failed", n_image=cross.n_x, n_text=cross.n_y,
        mmd2=cross.mmd2, mmd=cross.mmd, p_value=cross.p_value, permutations=cross.permutations,
        bandwidth=cross.bandwidth, space="raw", intra=intra, ratio=ratio, passed=passed,
        seconds=time.perf_counter() - start, message=message,
        extra={"denominator": denominator, "denominator_floored": strongest < cross.null_std, "kernel": cross.kernel},
    )
