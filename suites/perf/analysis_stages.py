"""Where the analysis of one triple spends its time, and how each stage grows with the points used.

`harness.analysis.triple.analyze_layer` with the suite's settings (1000 permutations, 200 bootstrap
replicates, JS + probe AUC in PCA-50, a 600-point t-SNE map) on a synthetic bank of 200 prompts
(60 image and 40 text tokens each, one offset per prompt shared by its tokens, image tokens shifted),
with `max_points` = 1500, 3000 and 6000 vectors per modality, at d = 128 and d = 4096 (a
LLaVA-shaped key width). Each stage is timed inside the real call, by wrapping the functions that
`analyze_layer` and `cross_modal_gap` call (restored afterwards):

- pooled squared distances: `gap.pooled_distances`, the one product of the pooled keys that the gap's σ
  and kernel sums and the support tier's neighbour distances read;
- gap statistic + test: `cross_modal_gap` from its start to the bootstrap (median-heuristic σ, the
  pooled kernel summed over token cells, the per-unit Grams, the sign-flip test, the intra-modal
  comparisons); the kernel (σ + `CellGram`) is also shown on its own;
- bootstrap: `ratio_interval`; noise floor: the rest of `cross_modal_gap` after it;
- JS/AUC: `probe_figures` (both JS estimators and the probe AUC from one grouped cross-fit; its folds
  are fitted in parallel where torch has more than one thread); t-SNE: the map, on a thread of its own beside
  the statistics (what it adds to the triple is the wait for it after them); rest:
  everything else.

Growth exponent: the least-squares slope of log(seconds) on log(points per modality). Each figure is
the median of `--repeats` calls after one warm-up call; no timed call reuses the warm-up's probe fits
(a suite analyses each triple once). Stage tables: the threads the process was given
(OMP_NUM_THREADS); the targets of issue 18 (a twin's triple ≤ 1 s, a real-size triple ≤ 3 s) are
also timed at each of `--threads` (torch and BLAS thread pools set in-process).

    nice -n 5 python -m suites.perf.analysis_stages --update PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from harness.perf.document import update_section
from harness.perf.workloads import analysis_case
from harness.allocator import add_option as add_malloc_option, apply as apply_malloc

POINTS = (1500, 3000, 6000)
DIMS = (128, 4096)
PROMPTS, IMAGE_PER_PROMPT, TEXT_PER_PROMPT = 200, 60, 40
STAGES = ("pooled squared distances (shared by the gap and the support tier)", "gap statistic + test",
          "  of which kernel (σ + cell sums)", "tiers (bounds, separability, support)",
          "  of which probe maps (PCA per fold)", "JS/AUC", "per head", "t-SNE (its own thread, beside the statistics)",
          "  waiting for the map after the statistics", "rest")
TITLE = "Analysis stages"
TARGETS = (("twin", "a twin's triple (tiny-llava, deepest layer)", 1.0), ("real", "real-size triple (d = 4096, 1,500 points)", 3.0))


def bank(dim: int, seed: int = 0):
    """A KeyBank of PROMPTS prompts: image tokens N(offset + 0.2, I), text tokens N(offset, I), offset sd 0.3 per prompt."""
    from harness.capture.keys import KeyBank, LayerBank
    from harness.models.labels import IMAGE, TEXT

    gen = torch.Generator().manual_seed(seed)
    per = IMAGE_PER_PROMPT + TEXT_PER_PROMPT
    modality = torch.tensor([IMAGE] * IMAGE_PER_PROMPT + [TEXT] * TEXT_PER_PROMPT, dtype=torch.int8).repeat(PROMPTS)
    sample = torch.arange(PROMPTS, dtype=torch.int32).repeat_interleave(per)
    offsets = 0.3 * torch.randn(PROMPTS, dim, generator=gen)
    vectors = offsets[sample.long()] + torch.randn(PROMPTS * per, dim, generator=gen)
    vectors += 0.2 * (modality == IMAGE).unsqueeze(1).float()
    layer = LayerBank(vectors=vectors, modality=modality, sample=sample,
                      position=torch.arange(per, dtype=torch.int32).repeat(PROMPTS))
    return KeyBank(model="synthetic", benchmark="synthetic", kind="keys", sample_ids=tuple(f"p{i}" for i in range(PROMPTS)),
                   layers={0: layer}, num_key_value_heads=1, head_dim=dim)


@contextlib.contextmanager
def stage_clock():
    """While active, the functions analyze_layer calls record (name, start, end); yields the list."""
    import harness.analysis.triple as analysis
    import harness.stats.gap as gap
    import harness.stats.tiers as tiers

    marks: list[tuple[str, float, float]] = []

    def wrap(module, attr, name):
        inner = getattr(module, attr)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                marks.append((name, start, time.perf_counter()))

        return inner, timed

    targets = [(analysis, "pooled_distances", "pooled"), (analysis, "cross_modal_gap", "gap"), (analysis, "all_tiers", "tiers"), (analysis, "probe_figures", "js"),
               (analysis, "_per_head", "heads"), (analysis, "_tsne", "tsne"),
               (tiers, "fold_maps", "maps"),
               (gap, "pooled_sq_dists", "kernel"), (gap, "median_bandwidth", "kernel"),
               (gap, "median_bandwidth_from", "kernel"), (gap, "CellGram", "kernel")]
    saved = []
    for module, attr, name in targets:
        inner, timed = wrap(module, attr, name)
        saved.append((module, attr, inner))
        setattr(module, attr, timed)
    try:
        yield marks
    finally:
        for module, attr, inner in saved:
            setattr(module, attr, inner)


def split(marks, total: float) -> dict[str, float]:
    """Stage seconds of one analyze_layer call from its marks; a sub-stage counts only inside its stage's
    own call (the per-head figures run the same functions once per head, counted under "per head")."""
    def within(name, outer):
        (_, o0, o1), = [m for m in marks if m[0] == outer]
        return sum(e - s for m, s, e in marks if m == name and o0 <= s and e <= o1)

    top = {n: sum(e - s for m, s, e in marks if m == n) for n in ("pooled", "gap", "tiers", "js", "heads", "tsne")}
    out = {STAGES[0]: top["pooled"], "gap statistic + test": top["gap"], "  of which kernel (σ + cell sums)": within("kernel", "gap"),
           "tiers (bounds, separability, support)": top["tiers"], "  of which probe maps (PCA per fold)": within("maps", "tiers"),
           "JS/AUC": top["js"], "per head": top["heads"],
           "t-SNE (its own thread, beside the statistics)": top["tsne"]}
    # the map runs beside the statistics: what it adds is the wait for it after the last of them
    stats_end = max((e for m, _, e in marks if m in ("pooled", "gap", "tiers", "js", "heads")), default=0.0)
    out["  waiting for the map after the statistics"] = max(0.0, max((e for m, _, e in marks if m == "tsne"), default=0.0) - stats_end)
    out["rest"] = total - sum(v for n, v in top.items() if n != "tsne") - out["  waiting for the map after the statistics"]
    out["total"] = total
    return out


def timed_stages(keys, layer: int, settings, repeats: int) -> dict[str, float]:
    """Median stage seconds of `repeats` analyze_layer calls after one warm-up call."""
    from harness.analysis.triple import analyze_layer

    result = analyze_layer(keys, layer, settings)  # warm-up: imports and first-call costs
    runs = []
    for _ in range(repeats):
        with stage_clock() as marks:
            start = time.perf_counter()
            analyze_layer(keys, layer, settings)
            runs.append(split(marks, time.perf_counter() - start))
    return {**{k: float(np.median([r[k] for r in runs])) for k in runs[0]}, "n_image": result.n_image, "n_text": result.n_text}


def measure(dim: int, points: int, repeats: int) -> dict[str, float]:
    from harness.analysis.triple import AnalysisSettings

    return timed_stages(bank(dim), 0, AnalysisSettings(threshold=1.0, alpha=0.01, max_points=points), repeats)


def measure_twin(repeats: int) -> dict[str, float]:
    """The triple `profile_hotspots` profiles: tiny-llava's deepest layer over the fixture benchmark, default settings."""
    keys, layer, settings = analysis_case()
    return timed_stages(keys, layer, settings, repeats)


ONE_CORE = "1 core"  # the targets' column with the whole process pinned to one core


def measure_targets(repeats: int, threads: list[int]) -> dict:
    """{threads: {"twin": seconds, "real": seconds, "load": (start, end)}}: the two target triples, whole
    calls, with torch's and the BLAS libraries' thread pools set to each count in turn. With 1 among the
    counts, also ONE_CORE: one thread as well, the process pinned to one core (Linux), so that the map,
    which runs on a thread of its own beside the statistics, shares that core instead of taking a free one."""
    from threadpoolctl import threadpool_limits

    def timed(t: int) -> dict:
        torch.set_num_threads(t)
        with threadpool_limits(limits=t):
            load = os.getloadavg()[0]
            got = {"twin": measure_twin(repeats)["total"], "real": measure(4096, POINTS[0], repeats)["total"]}
            return {**got, "load": [load, os.getloadavg()[0]]}

    out, before = {}, torch.get_num_threads()
    try:
        for t in threads:
            out[str(t)] = timed(t)
            print(f"targets at {t} thread(s): {out[str(t)]}", file=sys.stderr, flush=True)
        if 1 in threads and hasattr(os, "sched_setaffinity"):
            cpus = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {min(cpus)})
            try:
                out[ONE_CORE] = timed(1)
            finally:
                os.sched_setaffinity(0, cpus)
            print(f"targets on {ONE_CORE}: {out[ONE_CORE]}", file=sys.stderr, flush=True)
    finally:
        torch.set_num_threads(before)
    return out


def _column(count: str) -> str:
    if count == ONE_CORE:
        return "1 thread, pinned to 1 core (the map shares it)"
    if count == "1":
        return "1 thread (the map on a thread of its own beside it)"
    return f"{count} threads"


def slope(points, seconds) -> float:
    """Least-squares slope of log(seconds) on log(points): the growth exponent."""
    return float(np.polyfit(np.log(points), np.log(np.maximum(seconds, 1e-6)), 1)[0])


def section(figures: dict) -> str:
    lines = [
        f"`analyze_layer` with the suite's settings on a synthetic bank of {PROMPTS} prompts ({IMAGE_PER_PROMPT} image + "
        f"{TEXT_PER_PROMPT} text tokens each), `max_points` = points per modality; median of {figures['repeats']} calls "
        f"after a warm-up, one BLAS/torch thread (OMP_NUM_THREADS={figures['threads']}; the t-SNE map runs on a thread of its own beside the statistics, so a second core, where free, takes it), load average {figures['load_start']:.1f} "
        f"at the start and {figures['load_end']:.1f} at the end on 2 shared cores; freed memory: "
        f"{figures.get('malloc', 'system (before --malloc existed)')} (`--ks-malloc`, as the suite). Exponent: slope of log seconds on "
        "log points (1 = linear, 2 = quadratic).",
    ]
    targets = figures.get("targets")
    if targets:
        counts = list(targets)
        lines += ["", "**Targets** (whole `analyze_layer` calls, seconds; load average at the start and end of each column):", "",
                  "| triple | target | " + " | ".join(_column(t) for t in counts) + " |",
                  "|---|---|" + "---|" * len(counts)]
        for key, name, limit in TARGETS:
            lines.append(f"| {name} | ≤ {limit:g} s | " + " | ".join(
                f"{targets[t][key]:.2f} s ({'met' if targets[t][key] <= limit else 'not met'})" for t in counts) + " |")
        lines.append("| load average | | " + " | ".join(f"{targets[t]['load'][0]:.1f} → {targets[t]['load'][1]:.1f}" for t in counts) + " |")
    twin = figures.get("twin")
    if twin:
        lines += ["", f"**A twin's triple** (tiny-llava, deepest layer, fixture benchmark, default settings; "
                      f"{twin['n_image']:,} image and {twin['n_text']:,} text vectors), seconds per stage:", "",
                  "| " + " | ".join(s.strip() for s in (*STAGES, "total")) + " |", "|---" * (len(STAGES) + 1) + "|",
                  "| " + " | ".join(f"{twin[s]:.2f}" for s in (*STAGES, "total")) + " |"]
    for dim, rows in figures["dims"].items():
        pts = [int(p) for p in rows]
        lines += ["", f"**d = {dim}**", "", "| stage | " + " | ".join(f"{p:,} pts" for p in pts) + " | exponent |",
                  "|---|" + "---|" * (len(pts) + 1)]
        for stage in (*STAGES, "total"):
            secs = [rows[str(p)][stage] for p in pts]
            name = f"&nbsp;&nbsp;{stage.strip()}" if stage.startswith("  ") else (f"**{stage}**" if stage == "total" else stage)
            # a stage under 10 ms at some size (e.g. no wait for the map) has no meaningful growth
            exponent = f"{slope(pts, secs):.2f}" if len(pts) > 1 and min(secs) >= 0.01 else "–"
            lines.append(f"| {name} | " + " | ".join(f"{s:.2f} s" for s in secs) + f" | {exponent} |")
    lines += ["", "Regenerate:", "", "    nice -n 5 python -m suites.perf.analysis_stages --update PERFORMANCE.md"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m suites.perf.analysis_stages", description=__doc__.split("\n")[0])
    p.add_argument("--points", default=",".join(map(str, POINTS)), help="points per modality, comma-separated")
    p.add_argument("--dims", default=",".join(map(str, DIMS)), help="key widths, comma-separated")
    p.add_argument("--no-twin", action="store_true", help="leave out the tiny-llava twin's triple")
    p.add_argument("--threads", default="1,2", help="thread counts the two target triples are timed at (default: 1,2; '' for none)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per case (median reported; default: 3)")
    add_malloc_option(p)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--from-json", type=Path, default=None, help="render figures a previous --json run wrote")
    p.add_argument("--update", type=Path, default=None, metavar="PERFORMANCE.md", help="write the section into this file")
    args = p.parse_args(argv)
    if args.from_json:
        figures = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        torch.set_grad_enabled(False)
        malloc = apply_malloc(args.malloc).split(" (")[0]
        figures = {"threads": os.environ.get("OMP_NUM_THREADS"), "repeats": args.repeats, "load_start": os.getloadavg()[0],
                   "malloc": malloc, "dims": {}}
        if not args.no_twin:
            figures["twin"] = measure_twin(args.repeats)
            print(f"twin: {figures['twin']}", file=sys.stderr, flush=True)
        for dim in (int(d) for d in args.dims.split(",")):
            rows = figures["dims"][str(dim)] = {}
            for points in (int(n) for n in args.points.split(",")):
                rows[str(points)] = measure(dim, points, args.repeats)
                print(f"d={dim} points={points}: " + ", ".join(f"{k.strip()} {v:.2f}" for k, v in rows[str(points)].items()),
                      file=sys.stderr, flush=True)
        counts = [int(t) for t in args.threads.split(",") if t.strip()]
        if counts:
            figures["targets"] = measure_targets(args.repeats, counts)
        figures["load_end"] = os.getloadavg()[0]
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if args.update:
        args.update.write_text(update_section(args.update.read_text(encoding="utf-8"), TITLE, section(figures)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
