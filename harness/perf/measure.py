"""Full-size measurements: capture throughput, MFU and peak memory; one layer's intervention study; the verdict's
own test at scale.

Each function returns a plain dict of figures (units in the key names) so the CLI can print it
and the PERFORMANCE.md writer can record it.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from harness.stats.gap import Side

from harness.capture.keys import capture_keys
from harness.models.labels import PAD

from .configs import full_size_spec, parameter_count
from .flops import forward_flops
from .gpu import bf16_peak
from .loaded import full_size_loaded, realistic_samples
from .study import study_cost


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def capture_layers(num_layers: int) -> list[int]:
    """First, middle and last decoder layer: the default triple layers; the last defeats early exit."""
    return sorted({0, num_layers // 2, num_layers - 1})


def measure_capture(
    name: str, *, device: torch.device, dtype: torch.dtype, batch: int, rounds: int,
    layers: int | None = None, vision_layers: int | None = None,
) -> dict:
    """Capture of 3 layers of `name` on `batch` realistic samples, median of `rounds` timed runs."""
    spec = full_size_spec(name)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    loaded = full_size_loaded(name, device=device, dtype=dtype, layers=layers, vision_layers=vision_layers)
    build_s = time.perf_counter() - t0
    samples = realistic_samples(name, batch)
    chosen = capture_layers(loaded.num_layers)
    inputs, labels = loaded.adapter.encode(loaded, samples)
    length = inputs["input_ids"].shape[1]
    tokens = int((labels != PAD).sum())  # real (non-pad) tokens per batch
    image_tokens = int((inputs["input_ids"] == loaded.image_token_id).sum())
    with torch.inference_mode():
        capture_keys(loaded, samples, chosen, benchmark="fixture", batch_size=batch)  # warm-up (kernels, allocator)
        times = []
        for _ in range(rounds):
            _sync(device)
            start = time.perf_counter()
            capture_keys(loaded, samples, chosen, benchmark="fixture", batch_size=batch)
            _sync(device)
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    flops = forward_flops(
        loaded.model, spec.family, batch=batch, length=length, image_px=spec.image_px,
        layers_run=max(chosen) + 1, lm_head=False,  # capture stops after the deepest chosen layer
    )
    out = {
        "model": name, "device": _device_name(device), "dtype": str(dtype).removeprefix("torch."),
        "decoder_layers": loaded.num_layers, "vision_blocks": _vision_blocks(loaded.model.config),
        "params_b": parameter_count(loaded.model) / 1e9, "build_s": build_s,
        "batch": batch, "padded_length": length, "tokens_per_batch": tokens, "image_tokens_per_batch": image_tokens,
        "layers_captured": chosen, "rounds": rounds, "capture_s": seconds,
        "tokens_per_s": tokens / seconds, "tflops_per_batch": flops.total / 1e12,
        "achieved_tflop_s": flops.total / seconds / 1e12,
        "flops_split_tflop": {k: v / 1e12 for k, v in vars(flops).items()},
    }
    peak = bf16_peak(torch.cuda.get_device_name(device)) if device.type == "cuda" else None
    out["peak_used"] = peak[1] if peak else None
    out["mfu"] = flops.total / seconds / peak[0] if peak else None
    out["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    del loaded
    return out


def measure_study(
    name: str, *, device: torch.device, dtype: torch.dtype, prompts: int, rounds: int = 1,
    layers: int | None = None, vision_layers: int | None = None,
) -> dict:
    """One layer's intervention study of `name` (the mid layer, every default intervention, as the intervention
    suite runs it) on `prompts` realistic fixture prompts, next to plain passes over the same prompts
    (``harness.perf.study.study_cost``: decoder work counted in plain passes, then `rounds` timed runs of
    each), with the peak device memory of the whole measurement (weights included)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    loaded = full_size_loaded(name, device=device, dtype=dtype, layers=layers, vision_layers=vision_layers)
    cost = study_cost(loaded, realistic_samples(name, prompts), "fixture", rounds=rounds)
    out = {"model": name, "device": _device_name(device), "dtype": str(dtype).removeprefix("torch."),
           "decoder_layers": loaded.num_layers, **cost,
           "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None}
    del loaded
    return out


def _vision_blocks(config) -> int:
    vision = config.vision_config
    return getattr(vision, "depth", None) or vision.num_hidden_layers


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def verdict_keys(*, keys: int, dim: int, prompts: int, seed: int = 0) -> dict:
    """Keys shaped as a triple's: `prompts` prompts holding keys // prompts image and as many text keys each,
    one offset per prompt shared by its tokens (sd 0.3), token noise sd 1, image keys shifted by 0.05 in every
    coordinate; each prompt has one of two categories (the real split the intra-modal effects compare).
    The two sides ``cross_modal_gap`` takes: {"image": Side, "text": Side} (float32 tensors on the CPU, unit
    ids, the category stratum)."""
    per = max(keys // prompts, 1)
    g = torch.Generator().manual_seed(seed)
    offset = 0.3 * torch.randn(prompts, dim, generator=g)  # [prompts, d]
    unit = np.repeat(np.arange(prompts), per)  # [prompts · per]
    image = offset[unit] + torch.randn(len(unit), dim, generator=g) + 0.05  # [prompts · per, d]
    text = offset[unit] + torch.randn(len(unit), dim, generator=g)
    units = np.array([f"p{u}" for u in unit])
    category = {"category": np.array([f"c{u % 2}" for u in unit])}
    return {"image": Side(image, units, category), "text": Side(text, units, dict(category))}


def measure_verdict(
    *, keys: int, dim: int, prompts: int, permutations: int, device: torch.device,
    max_kernel_elements: int | None = None, n_boot: int = 200, level: float = 0.90,
) -> dict:
    """The verdict's own test, as ``harness.analysis.triple.analyze_layer`` runs it, on `keys` image and
    `keys` text keys of `dim` from `prompts` prompts (``verdict_keys``) on `device`: the between-prompt
    mixture-kernel gap (``cross_modal_gap(..., kernel_scales=MIXTURE_SCALES)``: median-heuristic σ, the
    kernel summed over token cells, the sign-flip test over prompts with `permutations` flips, the
    intra-modal comparisons, the noise floor), then its kernel-mean tier (`n_boot` prompt-bootstrap
    replicates) and the verdict (``harness.analysis.verdict.decide_gap``). Wall seconds of each and in all."""
    from harness.analysis.verdict import decide_gap  # deferred: each measurement loads only what it times
    from harness.stats import cross_modal_gap
    from harness.stats.kernels import MIXTURE_SCALES

    blocks = {} if max_kernel_elements is None else {"max_kernel_elements": max_kernel_elements}

    def gap_of(data: dict, flips: int):
        on = {k: Side(s.x.to(device), s.units, s.strata, s.position) for k, s in data.items()}
        return cross_modal_gap(on["image"], on["text"], permutations=flips, n_boot=1, level=level, seed=0, kernel_scales=MIXTURE_SCALES, **blocks)

    data = verdict_keys(keys=keys, dim=dim, prompts=prompts)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    gap_of(verdict_keys(keys=4 * max(keys // prompts, 1), dim=dim, prompts=4, seed=1), 8)  # warm-up: kernels, allocator
    _sync(device)
    start = time.perf_counter()
    gap = gap_of(data, permutations)  # the copy to the device is timed, as the analysis' own
    _sync(device)
    gap_s = time.perf_counter() - start
    start = time.perf_counter()
    verdict, kernel = decide_gap(gap, threshold=1.0, alpha=0.01, n_boot=n_boot, level=level, seed=0)
    tier_s = time.perf_counter() - start
    return {
        "device": _device_name(device), "keys_per_side": len(data["image"].units), "dim": dim, "prompts": gap.units,
        "permutations": permutations, "n_boot": n_boot, "kernel_scales": list(MIXTURE_SCALES),
        "max_kernel_elements": max_kernel_elements, "gap_s": gap_s, "tier_s": tier_s, "seconds": gap_s + tier_s,
        "mmd2": gap.mmd2, "p_value": gap.p_value, "ratio_low": kernel.low, "verdict": verdict.outcome,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
    }
