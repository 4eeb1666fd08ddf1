"""Host memory of an all-layer capture at real scale, without a model: the capture stream simulated.

    python -m suites.perf.capture_memory                           # 32 layers, 200 LLaVA-1.5-shaped prompts, default caps
    python -m suites.perf.capture_memory --max-tokens none --layers 1   # one layer's full bank, for comparison
    python -m suites.perf.capture_memory --json out.json

Each prompt is shaped like LLaVA-1.5 on a benchmark question: 576 image tokens, 150 text tokens and
20 template tokens, keys of width d = 4096 (32 heads × 128). Batches go through the capture's own
collector (`harness.capture.keys.Collector.take`, the code `capture_keys` runs after each forward pass),
with one [B, T, d] hook output shared by every layer standing in for the device's activations, so
what grows is only what capture keeps on the host. Peak host memory is the process's peak resident
set (ru_maxrss) minus its resident set before the stream; the bank's own size is summed from its
tensors. --max-tokens takes what --ks-max-tokens takes (auto = balanced=--max-points).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import psutil
import torch

from harness.capture.keys import Collector, parse_max_tokens
from harness.models.labels import IMAGE, SPECIAL, TEXT

SHAPE = {"image": 576, "text": 150, "special": 20}  # tokens per prompt (LLaVA-1.5: one 336 px image)


def stream(layers: int, prompts: int, dim: int, max_tokens: str, max_points: int, batch: int, seed: int) -> dict:
    caps = parse_max_tokens(max_tokens, max_points=max_points)
    # special (BOS, "USER:" …) then the image then the question, as the LLaVA template lays them out
    row = torch.tensor([SPECIAL] * 5 + [IMAGE] * SHAPE["image"] + [TEXT] * SHAPE["text"] + [SPECIAL] * (SHAPE["special"] - 5))
    labels = row.repeat(batch, 1)
    mask = torch.ones_like(labels)
    states = torch.randn(batch, labels.shape[1], dim, generator=torch.Generator().manual_seed(seed))
    collector = Collector(list(range(layers)), caps, seed)
    before = psutil.Process().memory_info().rss
    start = time.perf_counter()
    for first in range(0, prompts, batch):
        n = min(batch, prompts - first)
        collector.take(labels[:n], mask[:n], {i: states[:n] for i in range(layers)}, start=first, prompts=prompts)
    banks, kept, dropped = collector.finish()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    bank_bytes = sum(t.numel() * t.element_size() for b in banks.values()
                     for t in (b.vectors, b.modality, b.sample, b.position))
    full_layer = prompts * sum(SHAPE.values()) * dim * 4
    return {
        "layers": layers, "prompts": prompts, "dim": dim, "max_tokens": max_tokens, "max_points": max_points,
        "kept_per_layer": kept, "dropped_per_layer": dropped, "per_prompt": caps.per_prompt(prompts),
        "bank_GB": bank_bytes / 1e9, "peak_host_GB": (peak - before) / 1e9, "seconds": seconds,
        "full_bank_per_layer_GB": full_layer / 1e9, "full_bank_all_layers_GB": full_layer * layers / 1e9,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m suites.perf.capture_memory", description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=32, help="decoder layers captured (default: 32, LLaVA-1.5-7B's all)")
    p.add_argument("--prompts", type=int, default=200, help="prompts in the stream (default: 200)")
    p.add_argument("--dim", type=int, default=4096, help="key width (default: 4096)")
    p.add_argument("--max-tokens", default="auto", help="as --ks-max-tokens (default: auto)")
    p.add_argument("--max-points", type=int, default=1500, help="as --ks-max-points (default: 1500)")
    p.add_argument("--batch", type=int, default=8, help="prompts per simulated forward pass (default: 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    figures = stream(args.layers, args.prompts, args.dim, args.max_tokens, args.max_points, args.batch, args.seed)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
