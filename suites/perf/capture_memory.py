"""Host memory of an all-layer capture at real scale, without a model: the capture stream simulated.

    python -m suites.perf.capture_memory                           # 32 layers, 200 LLaVA-1.5-shaped prompts, default caps
    python -m suites.perf.capture_memory --max-tokens none --layers 1   # one layer's full bank, for comparison
    python -m suites.perf.capture_memory --json out.json

Each prompt is shaped like LLaVA-1.5 on a benchmark question: 576 image tokens, 150 text tokens and
20 template tokens, keys of width d = 4096 (32 heads × 128). Batches go through the capture's own
collector (`harness.capture.collector.Collector`, the code `capture_keys` runs after each forward pass),
with one [B, T, d] hook output shared by every layer standing in for the device's activations, so
what grows is only what capture keeps on the host. --max-tokens takes what --ks-max-tokens takes
(auto = balanced=--max-points).

Peak against bank, like with like: each side runs in a fresh child process, which resets its peak
resident set (/proc/self/clear_refs) just before the measured step and reads it back after (VmHWM),
less the resident set at the reset. The capture side is the whole stream and `finish`; the bank side
allocates and fills tensors of exactly the bank's shapes and nothing else. `peak_over_bank` is the first
over the second (1 = capture costs no more host memory than the bank it returns); `bank_GB` is the
bank's own bytes, summed from its tensors.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import torch

from harness.allocator import add_option as add_malloc_option, apply as apply_malloc

SHAPE = {"image": 576, "text": 150, "special": 20}  # tokens per prompt (LLaVA-1.5: one 336 px image)


def _status(field: str) -> int:
    """A /proc/self/status field in bytes (VmRSS: resident now, VmHWM: peak resident since the last reset)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> int:
    """Reset the peak resident set to the current one (Linux ≥ 4.0) and return the current one."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def stream(layers: int, prompts: int, dim: int, max_tokens: str, max_points: int, batch: int, seed: int) -> dict:
    """The capture side: the collector fed `prompts` prompts in batches, then `finish`."""
    from harness.capture.caps import parse_max_tokens  # deferred: the parent process loads no torch state
    from harness.capture.collector import Collector
    from harness.models.labels import IMAGE, SPECIAL, TEXT

    caps = parse_max_tokens(max_tokens, max_points=max_points)
    # special (BOS, "USER:" …) then the image then the question, as the LLaVA template lays them out
    row = torch.tensor([SPECIAL] * 5 + [IMAGE] * SHAPE["image"] + [TEXT] * SHAPE["text"] + [SPECIAL] * (SHAPE["special"] - 5),
                       dtype=torch.int8)
    labels = row.repeat(batch, 1)
    mask = torch.ones_like(labels, dtype=torch.long)
    states = torch.randn(batch, labels.shape[1], dim, generator=torch.Generator().manual_seed(seed))
    collector = Collector(list(range(layers)), caps, seed, prompts=prompts)
    before = _reset_peak()
    start = time.perf_counter()
    for first in range(0, prompts, batch):
        n = min(batch, prompts - first)
        collector.take(labels[:n], mask[:n], {i: states[:n] for i in range(layers)}, start=first)
    assembled = collector.finish()
    seconds = time.perf_counter() - start
    peak = _status("VmHWM") - before
    rows = {i: tuple(v.shape) for i, v in assembled.vectors.items()}
    bank_bytes = sum(v.numel() * 4 for v in assembled.vectors.values()) + len(assembled.modality) * (1 + 4 + 4)
    full_layer = prompts * sum(SHAPE.values()) * dim * 4
    return {
        "layers": layers, "prompts": prompts, "dim": dim, "max_tokens": max_tokens, "max_points": max_points,
        "kept_per_layer": assembled.kept, "dropped_per_layer": assembled.dropped, "per_prompt": caps.per_prompt(prompts),
        "bank_GB": bank_bytes / 1e9, "capture_peak_GB": peak / 1e9, "seconds": seconds, "shapes": rows,
        "full_bank_per_layer_GB": full_layer / 1e9, "full_bank_all_layers_GB": full_layer * layers / 1e9,
    }


def bank_alone(shapes: dict[int, tuple[int, int]]) -> dict:
    """The bank side: tensors of the bank's shapes (float32 vectors per layer, one set of labels), filled."""
    rows = next(iter(shapes.values()))[0]
    before = _reset_peak()
    vectors = {i: torch.ones(shape) for i, shape in shapes.items()}
    labels = (torch.ones(rows, dtype=torch.int8), torch.ones(rows, dtype=torch.int32), torch.ones(rows, dtype=torch.int32))
    peak = _status("VmHWM") - before
    del vectors, labels
    return {"bank_peak_GB": peak / 1e9}


def _with_malloc(malloc: str, fn, args) -> dict:
    apply_malloc(malloc)
    return fn(*args)


def _in_child(malloc: str, fn, *args) -> dict:
    """`fn(*args)` in a fresh process with freed memory handled as `malloc` says (``--ks-malloc``), so that
    nothing this process did weighs on its resident set."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_with_malloc, (malloc, fn, args))


def measure(layers: int, prompts: int, dim: int, max_tokens: str, max_points: int, batch: int, seed: int,
            malloc: str = "keep") -> dict:
    """Both sides, each in its own child process, and the capture's peak over the bank's."""
    figures = _in_child(malloc, stream, layers, prompts, dim, max_tokens, max_points, batch, seed)
    figures.update(_in_child(malloc, bank_alone, figures.pop("shapes")))
    figures["malloc"] = malloc
    figures["peak_over_bank"] = figures["capture_peak_GB"] / figures["bank_peak_GB"]
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m suites.perf.capture_memory", description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=32, help="decoder layers captured (default: 32, LLaVA-1.5-7B's all)")
    p.add_argument("--prompts", type=int, default=200, help="prompts in the stream (default: 200)")
    p.add_argument("--dim", type=int, default=4096, help="key width (default: 4096)")
    p.add_argument("--max-tokens", default="auto", help="as --ks-max-tokens (default: auto)")
    p.add_argument("--max-points", type=int, default=1500, help="as --ks-max-points (default: 1500)")
    p.add_argument("--batch", type=int, default=8, help="prompts per simulated forward pass (default: 8)")
    p.add_argument("--seed", type=int, default=0)
    add_malloc_option(p)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    figures = measure(args.layers, args.prompts, args.dim, args.max_tokens, args.max_points, args.batch, args.seed, args.malloc)
    print(json.dumps(figures, indent=2))
    print(f"capture peak {figures['capture_peak_GB']:.2f} GB / bank alone {figures['bank_peak_GB']:.2f} GB "
          f"= {figures['peak_over_bank']:.3f} (bank's own bytes {figures['bank_GB']:.2f} GB)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
