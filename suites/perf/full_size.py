"""Full-size mode: LLaVA-1.5-7B and Qwen2.5-VL-7B from their real configs, random bf16 weights, one GPU.

    python -m suites.perf.full_size                  # on a CUDA machine: both models + the verdict's test at scale
    python -m suites.perf.full_size --cpu-reduced    # anywhere: the same code path cut down, labelled as such
    python -m suites.perf.full_size --json out.json  # also write the figures

Per model: capture of layers (0, mid, last) on a batch of realistic inputs (one 336 px image →
576 image tokens for LLaVA; one 448 px image → 256 merged tokens for Qwen2.5-VL), reported as
tokens/s (real, non-pad tokens), achieved TFLOP/s and model FLOPs utilisation against the GPU's
dense bf16 peak (analytic FLOPs, see harness.perf.flops), and peak GPU memory
(torch.cuda.max_memory_allocated, which includes the weights); then one layer's intervention study (the
mid layer, every default intervention, as the intervention suite runs it) on the fixture's 72 questions
with images at the checkpoint's size, next to plain passes over the same prompts (decoder work counted in
plain passes, wall seconds of each; harness.perf.study). Then the verdict's own test, as
harness.analysis.triple.analyze_layer runs it (harness.perf.measure.measure_verdict): the
between-prompt mixture-kernel gap with its sign-flip test over prompts (1000 flips, blocked kernel),
the intra-modal comparisons and the noise floor, then the kernel-mean tier (200 prompt-bootstrap
replicates) and the verdict, on 2 × 20,000 and 2 × 50,000 keys of dim 4096 from 200 prompts; its goal (the
one the token-level permutation test it replaces had) is ≤ 5 s at 2 × 20,000 without running out of memory.
With --json the file is rewritten after each measurement, so a run cut by a time limit keeps what finished.

Without CUDA and without --cpu-reduced it says so in one line and exits 0.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Callable

import torch

from harness.atomic import write_atomic
from harness.perf.configs import FULL_SIZE

VERDICT_GOAL_S, VERDICT_GOAL_KEYS = 5.0, 20_000  # the verdict's test at 2 × 20,000 keys of dim 4096 on one GPU
# --cpu-reduced: the real widths, vocabularies and image sizes, only the depth cut, float32, batch 1
# (no study: at real width a CPU pass over one prompt takes seconds, the study ~10 passes over each prompt)
REDUCED = dict(layers=2, vision_layers=2, dtype="float32", batch=1, rounds=1, study_prompts=0, study_rounds=1,
               verdict_keys=(2000,), verdict_dim=512, prompts=40)
FULL = dict(layers=None, vision_layers=None, dtype="bfloat16", batch=8, rounds=5, study_prompts=72, study_rounds=0,
            verdict_keys=(20_000, 50_000), verdict_dim=4096, prompts=200)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m suites.perf.full_size", description=__doc__.split("\n")[0])
    p.add_argument("--full-size", action="store_true", help="accepted for clarity; this module always runs the full-size mode")
    p.add_argument("--cpu-reduced", action="store_true", help="run on the CPU at reduced depth (2 decoder layers, 2 vision blocks, float32)")
    p.add_argument("--models", default=",".join(FULL_SIZE),
                   help=f"comma-separated, from {', '.join(FULL_SIZE)}; empty: the verdict's test alone (default: all)")
    for name in ("layers", "vision_layers", "batch", "rounds", "study_rounds", "verdict_dim", "prompts"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=None, help="override the preset (default: preset)")
    p.add_argument("--study-prompts", type=int, default=None,
                   help="fixture questions of each model's intervention study; 0: no study (default: preset, 72 on a GPU)")
    p.add_argument("--verdict-keys", type=_sizes, default=None,
                   help="keys per side of the verdict's test, comma-separated sizes (default: preset, 20000,50000 on a GPU)")
    p.add_argument("--dtype", choices=("bfloat16", "float16", "float32"), default=None, help="weights dtype (default: preset)")
    p.add_argument("--permutations", type=int, default=1000, help="sign flips of the verdict's test (default: 1000)")
    p.add_argument("--n-boot", type=int, default=200, help="prompt-bootstrap replicates of its kernel-mean tier (default: 200)")
    p.add_argument("--max-kernel-elements", type=int, default=None, help="kernel block bound of cross_modal_gap (default: its own, 64e6)")
    p.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file (default: none)")
    p.add_argument("--record", type=Path, default=None,
                   help="also write them with the date, machine and software, as suites/perf/measured/full_size_gpu.json "
                        "keeps them for suites.perf.report (default: none)")
    return p.parse_args(argv)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive whole numbers separated by commas, e.g. 20000,50000")
    return sizes


def settings(args: argparse.Namespace) -> dict:
    preset = dict(REDUCED if args.cpu_reduced else FULL)
    for key in preset:
        value = getattr(args, key)
        if value is not None:
            preset[key] = value
    return preset


def run(args: argparse.Namespace, progress: Callable[[dict], None] = lambda figures: None) -> dict | None:
    """The figures, or None when there is no CUDA device and no reduced run was asked for; `progress` is
    called with the figures so far after each measurement."""
    from harness.perf.measure import measure_capture, measure_study, measure_verdict

    if args.cpu_reduced:
        device, label = torch.device("cpu"), "CPU, REDUCED SCALE (real widths, depth cut) — not the full-size figures"
    elif torch.cuda.is_available():
        device, label = torch.device("cuda"), "full size, one GPU"
    else:
        return None
    s = settings(args)
    dtype = getattr(torch, s["dtype"])
    torch.set_grad_enabled(False)
    figures = {"label": label, "settings": s, "capture": [], "study": [], "verdicts": []}

    def done(part: str, fig: dict, line: str) -> None:
        figures[part].append(fig)
        print(line, flush=True)
        progress(figures)
        if device.type == "cuda":
            torch.cuda.empty_cache()

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for name in models:
        fig = measure_capture(name, device=device, dtype=dtype, batch=s["batch"], rounds=s["rounds"], layers=s["layers"],
                              vision_layers=s["vision_layers"])
        done("capture", fig, capture_line(fig))
    for keys in s["verdict_keys"]:
        fig = measure_verdict(keys=keys, dim=s["verdict_dim"], prompts=s["prompts"], permutations=args.permutations,
                              n_boot=args.n_boot, device=device, max_kernel_elements=args.max_kernel_elements)
        done("verdicts", fig, verdict_line(fig))
    for name in models if s["study_prompts"] else ():
        fig = measure_study(name, device=device, dtype=dtype, prompts=s["study_prompts"], rounds=s["study_rounds"],
                            layers=s["layers"], vision_layers=s["vision_layers"])
        done("study", fig, study_line(fig))
    return figures


def capture_line(f: dict) -> str:
    mfu = f"{100 * f['mfu']:.1f} % of {f['peak_used']}" if f["mfu"] is not None else "n/a (no GPU peak for this device)"
    mem = f"{f['peak_memory_gib']:.1f} GiB" if f["peak_memory_gib"] is not None else "n/a (CPU)"
    return (
        f"{f['model']} [{f['decoder_layers']} decoder layers, {f['vision_blocks']} vision blocks, {f['params_b']:.2f} B params, "
        f"{f['dtype']}, {f['device']}]: capture of layers {f['layers_captured']}, batch {f['batch']} × {f['padded_length']} tokens "
        f"({f['image_tokens_per_batch'] // f['batch']} image tokens each): {f['tokens_per_s']:.0f} tokens/s, "
        f"{f['achieved_tflop_s']:.2f} TFLOP/s, MFU {mfu}, peak memory {mem}"
    )


def _peak(f: dict) -> str:
    """", peak memory X GiB" where the device reports it, else nothing."""
    return f", peak memory {f['peak_memory_gib']:.1f} GiB" if f["peak_memory_gib"] is not None else ""


def study_line(f: dict) -> str:
    return (
        f"{f['model']} [{f['dtype']}, {f['device']}]: intervention study of layer {f['layer']} ({', '.join(f['interventions'])}) "
        f"on {f['prompts']} fixture prompts = {f['passes']:.2f} plain passes of decoder work ({f['calls']} forward calls against "
        f"{f['plain_calls']}; {f['encoded']} prompts encoded), {f['study_s']:.1f} s against {f['plain_s']:.2f} s for the plain "
        f"passes ({f['time_ratio']:.1f}×; {f['clock']}, {f['timed']}){_peak(f)}"
    )


def verdict_line(v: dict) -> str:
    return (
        f"verdict's test (between-prompt mixture-kernel gap, {v['permutations']} sign flips; kernel-mean tier, "
        f"{v['n_boot']} bootstrap replicates) on 2 × {v['keys_per_side']} keys of dim {v['dim']} from {v['prompts']} prompts "
        f"on {v['device']}: {v['seconds']:.2f} s (gap {v['gap_s']:.2f} s, tier and verdict {v['tier_s']:.2f} s; "
        f"goal ≤ {VERDICT_GOAL_S:g} s at 2 × {VERDICT_GOAL_KEYS:,} × 4096 on a GPU){_peak(v)}"
    )


def record(figures: dict, wall_s: float) -> dict:
    """The figures with what a reader needs beside them (date, machine, software, how they were made): the form
    suites/perf/measured/full_size_gpu.json keeps and suites.perf.report renders."""
    import datetime

    return {"date": datetime.date.today().isoformat(), **_machine(),
            "how": f"a step of `bash suites/perf/gpu_session.sh` (whole command {wall_s:.0f} s)",
            "command": "python -m suites.perf.full_size --json full_size.json", "figures": figures}


@functools.cache
def _machine() -> dict:
    """The machine and software of this run, read once (the record is rewritten after each measurement)."""
    import os
    import subprocess

    import tokenizers
    import transformers

    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU named"
    return {"machine": f"the GPU machine lent to that session: {gpu or 'no GPU named'}, {os.cpu_count()} cores",
            "software": f"torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}"}


def main(argv: list[str] | None = None) -> int:
    import time

    start = time.perf_counter()
    args = parse_args(argv)

    def write(figures: dict) -> None:  # after each measurement: a run cut by a time limit keeps what finished
        if args.json:
            write_atomic(args.json, json.dumps(figures, indent=2).encode())
        if args.record:
            write_atomic(args.record, (json.dumps(record(figures, time.perf_counter() - start), indent=1) + "\n").encode())

    figures = run(args, progress=write)
    if figures is None:
        print("full-size mode: no CUDA device here, nothing measured (add --cpu-reduced for a scaled-down CPU run)")
        return 0
    write(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
