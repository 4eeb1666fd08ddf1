"""Full-size measurements: capture throughput, MFU and peak memory; the permutation test at scale.

Each function returns a plain dict of figures (units in the key names) so the CLI can print it
and the PERFORMANCE.md writer can record it.
"""

from __future__ import annotations

import statistics
import time

import torch

from harness.capture.keys import capture_keys
from harness.models.labels import PAD

from .configs import full_size_spec, parameter_count
from .flops import forward_flops
from .gpu import bf16_peak
from .loaded import full_size_loaded, realistic_samples


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


def _vision_blocks(config) -> int:
    vision = config.vision_config
    return getattr(vision, "depth", None) or vision.num_hidden_layers


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def measure_permutation(
    *, keys: int, dim: int, permutations: int, device: torch.device, max_kernel_elements: int | None = None
) -> dict:
    """`harness.stats.mmd_test` on 2 × `keys` random vectors of `dim` on `device` (blocked kernel
    when N² exceeds `max_kernel_elements`); wall seconds including the median bandwidth."""
    from harness.stats import mmd_test

    g = torch.Generator().manual_seed(0)
    x = torch.randn(keys, dim, generator=g).to(device)
    y = (torch.randn(keys, dim, generator=g) + 0.01).to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    mmd_test(x[:64], y[:64], permutations=8, seed=0)  # warm-up: kernels, allocator
    _sync(device)
    start = time.perf_counter()
    result = mmd_test(x, y, permutations=permutations, seed=0, max_kernel_elements=max_kernel_elements)
    _sync(device)
    seconds = time.perf_counter() - start
    return {
        "device": _device_name(device), "keys_per_side": keys, "dim": dim, "permutations": permutations,
        "max_kernel_elements": max_kernel_elements, "seconds": seconds, "mmd2": result.mmd2, "p_value": result.p_value,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
    }
