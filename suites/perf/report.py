"""Regenerate PERFORMANCE.md: run every CPU benchmark of suites/perf once and write the file.

    python -m suites.perf.report            # from the repository root: writes PERFORMANCE.md there
    python -m suites.perf.report --out X.md

Scaled for a 2-core machine (< 10 min): the permutation loop runs 100 permutations (the loop is
~1 s per 5 permutations there), t-SNE 5,000 points; `pytest suites/perf -m perf` runs the full sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from harness.allocator import add_option as add_malloc_option, apply as apply_malloc
from harness.perf import workloads as w
from harness.perf.document import Figure, machine, profile_table, read_section, render
from harness.stats.projection import auto_backend
from suites.perf import full_size, profile_hotspots
from suites.perf.peers_table import TITLE as PEERS
from suites.perf.tsne_backends import TITLE as TSNE_BACKENDS

ROOT = Path(__file__).resolve().parents[2]  # the checkout: its default suite is timed, its PERFORMANCE.md written
COMMAND = "python -m suites.perf.report"
REPORT_PERMS, REPORT_TSNE_N = 100, 5000


# Hot spots that were removed, each with the profile that found it and the before/after ratio.
OPTIMISATIONS = (
    "- **Start-up of every pytest run** (the plugin loads for `tests/` too): `python -X importtime -c \"import "
    "harness.plugin\"` showed 3.2 s of 5.7 s in `harness.models.llava` importing transformers' modelling modules "
    "for the registry. Model classes are now named as strings and resolved when a checkpoint loads: 5.7 s → "
    "2.4 s (2.4× faster), measured on this machine in one sitting.\n"
    "- **MMD permutation test**: a per-permutation Python loop over the kernel matrix (the reference "
    "`mmd_permutation_loop`) was the analysis' hot spot by design of the naive method; all permutations are "
    "one batched matrix product over a kernel built once: 17× at 100 permutations and 54–93× at 1000 "
    "permutations (2 × 2000 × 128, identical null statistics).\n"
    "- **t-SNE**: the backend by the map's size (`tsne_2d`'s `auto`, `SKLEARN_FROM` = 3,000 points): openTSNE below, "
    "scikit-learn from there, the faster of the two at equal iterations and one thread (\"t-SNE backends\" below; "
    "trustworthiness within 0.002). The earlier \"openTSNE 1.4× at 5,000 points, 3.4× at 10,000\" compared "
    "750 openTSNE iterations with scikit-learn's 1,000 and does not hold at equal work.\n"
    "- **Intervention study** (`harness.intervention`): each prompt encoded once per study, one pass per condition for "
    "keys, attention and answers, the keys after a map derived from the keys before, passes with a map resumed at its "
    "layer from the states the pass without one recorded, answers in words scored after the prompt's KV cache: per "
    "layer's study 250 → 120 forward calls and 22.1–22.5 → 7.3–7.4 plain passes on the fixture, 1,308 → 288 calls "
    "and 74.4–76.1 → 10.7–12.3 plain passes on `world`; CPU 24–37× → 11.5–14.6× (fixture) and 82–106× → 19–25× "
    "(`world`), the former measured once at load 4–7, the new as medians of 3 interleaved runs at load 1.0–1.3. "
    "The 50 records of the default run and the twins are equal field by field."
)


def capture_figures() -> list[Figure]:
    """Per model three rows from one interleaved run (harness.perf.workloads.capture_ratios): capture with early
    exit against a plain pass stopped at the same layer, capture without early exit against a full pass (both at
    equal work, goal ≤ 1.05), and what early exit saves (for reading); each names the load average around it."""
    out = []
    for name in w.MODELS:
        load = os.getloadavg()[0]
        f = w.capture_ratios(name)
        n, layer, s = f["layers"], f["exit_layer"], f["seconds"]
        where = f"{name}, batch {w.BATCH}, CPU, median of {f['rounds']} interleaved, load {load:.1f} → {os.getloadavg()[0]:.1f}"
        out += [
            Figure(f"capture of layer {layer} of {n}, early exit ({where})", f"{s['capture_early'] * 1e3:.1f} ms",
                   f"plain pass stopped after layer {layer}'s k_proj: {s['plain_stopped'] * 1e3:.1f} ms", f["early_exit"],
                   "≤ 1.05", f["early_exit"] <= 1.05, "python -m suites.perf.test_capture_perf"),
            Figure(f"capture of layers {f['three_layers']}, no early exit ({where})", f"{s['capture_full'] * 1e3:.1f} ms",
                   f"full plain pass: {s['plain_full'] * 1e3:.1f} ms", f["full"], "≤ 1.05", f["full"] <= 1.05,
                   "python -m suites.perf.test_capture_perf"),
            *whole_capture_figures(name),
            Figure(f"early-exit saving, layer {layer} of {n} ({name})", f"{s['capture_early'] * 1e3:.1f} ms",
                   f"the same capture without early exit: {s['capture_layer_full'] * 1e3:.1f} ms", f["saving"],
                   "for reading (vision tower and processor run in full either way)", None,
                   "python -m suites.perf.test_capture_perf"),
        ]
    return out


def whole_capture_figures(name: str) -> list[Figure]:
    """The two overhead rows over a whole capture (the fixture's 72 prompts in the suite's batches of 8), where
    the work done once per capture is spread over its batches as in a real run; the one-batch rows above
    carry all of it in one batch of 4."""
    load = os.getloadavg()[0]
    f = w.capture_ratios_whole(name)
    n, layer, s = f["layers"], f["exit_layer"], f["seconds"]
    where = (f"{name}, whole fixture: {f['prompts']} prompts in batches of {f['batch']}, CPU, {f['rounds']} interleaved "
             f"rounds, load {load:.1f} → {os.getloadavg()[0]:.1f}")

    def paired(key: str) -> str:
        return f"; per-round ratio median {w.paired_text(f[key])} (95 %, order statistics)"

    return [
        Figure(f"whole capture of layer {layer} of {n}, early exit ({where}{paired('early_exit_paired')})",
               f"{s['capture_early'] * 1e3:.0f} ms",
               f"plain passes over the same batches, each stopped after layer {layer}'s k_proj: {s['plain_stopped'] * 1e3:.0f} ms",
               f["early_exit"], "≤ 1.05", f["early_exit"] <= 1.05, "python -m suites.perf.test_capture_perf"),
        Figure(f"whole capture of layers {f['three_layers']}, no early exit ({where}{paired('full_paired')})",
               f"{s['capture_full'] * 1e3:.0f} ms",
               f"full plain passes over the same batches: {s['plain_full'] * 1e3:.0f} ms", f["full"], "≤ 1.05", f["full"] <= 1.05,
               "python -m suites.perf.test_capture_perf"),
    ]


def stats_figures() -> list[Figure]:
    p = w.permutation_figures(REPORT_PERMS)
    t = w.tsne_figures(REPORT_TSNE_N)
    gap = abs(t["trust_opentsne"] - t["trust_sklearn"])
    return [
        Figure(
            f"MMD permutation test, batched ({p['n_side']} × 2 keys, dim {p['dim']}, {p['permutations']} permutations)",
            f"{p['batched_s']:.2f} s; null max abs diff {p['max_abs_diff']:.1e}",
            f"per-permutation Python loop, same data and permutations: {p['loop_s']:.1f} s", p["loop_s"] / p["batched_s"],
            "faster than the loop, identical statistics",
            p["max_abs_diff"] <= 1e-12 and p["observed_diff"] <= 1e-12 and p["batched_s"] < p["loop_s"],
            "python -m suites.perf.test_stats_perf",
        ),
        Figure(
            f"t-SNE, openTSNE against scikit-learn at equal iterations ({t['points']} points, {t['dim']}-d, n_jobs {t['n_jobs']}; "
            f"the default there: {auto_backend(t['points'])})",
            f"{t['opentsne_s']:.1f} s, trustworthiness {t['trust_opentsne']:.4f}",
            f"scikit-learn t-SNE: {t['sklearn_s']:.1f} s, trustworthiness {t['trust_sklearn']:.4f}", t["ratio"],
            "the default backend is the faster at equal trustworthiness (± 0.01)",
            gap <= 0.01 and (t["ratio"] > 1) == (auto_backend(t["points"]) == "openTSNE"),
            "python -m suites.perf.test_stats_perf",
        ),
    ]


# One layer's intervention study (suites/perf/test_intervention_perf.study_cost), goal per benchmark in plain passes.
STUDY_GOALS = {"fixture": 12.0, "world": 15.0}
STUDY_MODELS = ("tiny-llava", "tiny-qwen2.5-vl", "organism-text-first", "organism-aligned",
                "organism-frozen", "organism-joint")


def intervention_figures() -> list[Figure]:
    from suites.perf.test_intervention_perf import study_cost  # deferred: loads the organisms

    out = []
    for name in STUDY_MODELS:
        for bench, goal in STUDY_GOALS.items():
            load = os.getloadavg()[0]
            c = study_cost(name, bench)
            out.append(Figure(
                f"intervention study of one layer ({name}, {bench}, {c['prompts']} prompts, 5 interventions)",
                f"{c['passes']:.2f} plain passes of decoder work ({c['calls']} forward calls, {c['encoded']} prompts "
                f"encoded); CPU {c['cpu_ratio']:.1f}× (load {load:.1f})",
                f"plain forward over the same prompts, batches of 8, processor included ({c['plain_calls']} calls)",
                c["passes"], f"≤ {goal:.0f} plain passes", c["passes"] <= goal, "python -m suites.perf.test_intervention_perf",
            ))
    return out


def walltime_figure() -> Figure:
    f = w.suite_walltime(ROOT)
    return Figure(
        f"default offline suite, wall time ({f['summary']})", f"{f['suite_s']:.1f} s",
        f"`python -c \"import harness.plugin\"`: {f['startup_s']:.2f} s", f["ratio"], f"≤ {w.SUITE_GOAL_S:.0f} s on 2 cores",
        f["suite_s"] <= w.SUITE_GOAL_S, f["command"],
    )


GPU_MEASURED = Path(__file__).with_name("measured") / "full_size_gpu.json"  # a GPU session's run, committed


def gpu_part(record: dict) -> list[str]:
    """The full-size figures a GPU session measured (GPU_MEASURED: its date, machine, software and full_size's JSON)."""
    f = record["figures"]
    lines = [f"Measured {record['date']} on {record['machine']} ({record['software']}), {record['how']}:", "",
             f"    {record['command']}", "",
             "| model | decoder layers / vision blocks | params | batch × tokens (image tokens each) | captured layers | tokens/s "
             "| TFLOP/s | MFU (of the datasheet's dense bf16 peak) | peak GPU memory |", "|---|---|---|---|---|---|---|---|---|"]
    for c in f["capture"]:
        lines.append(f"| {c['model']} | {c['decoder_layers']} / {c['vision_blocks']} | {c['params_b']:.2f} B | {c['batch']} × "
                     f"{c['padded_length']} ({c['image_tokens_per_batch'] // c['batch']}) | {', '.join(map(str, c['layers_captured']))} | "
                     f"{c['tokens_per_s']:,.0f} | {c['achieved_tflop_s']:.1f} | {100 * c['mfu']:.1f} % of {c['peak_used']} | "
                     f"{c['peak_memory_gib']:.1f} GiB |")
    lines += ["", f"Random {f['settings']['dtype']} weights from the real configs, {f['settings']['rounds']} timed rounds of one "
              "batch after a warm-up; FLOPs analytic (`harness/perf/flops.py`). The capture stops after the last captured layer "
              "(the language-model head is not run), so these are whole decoder passes with three layers' keys copied out.", ""]
    for v in f.get("verdicts") or [f["verdict"]]:  # a record from before 2026-12-04's second size has one "verdict"
        goal = (f"goal ≤ {full_size.VERDICT_GOAL_S:g} s, no out-of-memory: "
                f"{'met' if v['seconds'] <= full_size.VERDICT_GOAL_S else 'not met'}" if v["keys_per_side"] <= full_size.VERDICT_GOAL_KEYS
                else f"no goal on time at this size (the ≤ {full_size.VERDICT_GOAL_S:g} s goal is at 2 × "
                     f"{full_size.VERDICT_GOAL_KEYS:,}); no out-of-memory")
        lines += [f"The verdict's own test (`harness.perf.measure.measure_verdict`) on 2 × {v['keys_per_side']:,} keys of dim {v['dim']} "
                  f"from {v['prompts']} prompts, {v['permutations']} sign flips, {v['n_boot']} bootstrap replicates: **{v['seconds']:.2f} s** "
                  f"(gap {v['gap_s']:.2f} s, tier and verdict {v['tier_s']:.2f} s), peak GPU memory {v['peak_memory_gib']:.1f} GiB; "
                  f"{goal}. On these random keys: MMD² {v['mmd2']:.2g}, p {v['p_value']:.3g}, tier lower bound {v['ratio_low']:.3g}, "
                  f"\"{v['verdict']}\".", ""]
    if not f.get("study"):
        lines += ["The intervention study at full size: not measured in that session (`suites.perf.full_size` measures it "
                  "since 2026-12-04).", ""]
        return lines
    lines += ["One layer's intervention study at full size (`harness.perf.measure.measure_study`: the intervention suite's "
              "study of the mid layer with every default intervention, fixture questions with images at the checkpoint's size) "
              f"next to plain forward passes over the same prompts, batches of 8, processor included; seconds: {f['study'][0]['clock']}, {f['study'][0]['timed']}:", "",
              "| model | layer | prompts | decoder work in plain passes | forward calls (plain) | study | plain passes | ratio "
              "| peak GPU memory |", "|---|---|---|---|---|---|---|---|---|"]
    for c in f["study"]:
        lines.append(f"| {c['model']} | {c['layer']} | {c['prompts']} | {c['passes']:.2f} | {c['calls']} ({c['plain_calls']}) | "
                     f"{c['study_s']:.1f} s | {c['plain_s']:.2f} s | {c['time_ratio']:.1f}× | {c['peak_memory_gib']:.1f} GiB |")
    lines.append("")
    return lines


NOT_MEASURED = [
    "No GPU was lent to the session that wrote this file, so **the full-size figures (tokens/s, MFU, peak GPU "
    "memory of LLaVA-1.5-7B and Qwen2.5-VL-7B in bf16, the verdict's own test at 2 × 20,000 and 2 × 50,000 keys of dim "
    "4096, the intervention study at full size) "
    "are not recorded.** On a CUDA machine they come from:",
    "",
    "    python -m suites.perf.full_size --json full_size.json",
    "",
]


def full_size_section() -> str:
    lines = gpu_part(json.loads(GPU_MEASURED.read_text(encoding="utf-8"))) if GPU_MEASURED.is_file() else list(NOT_MEASURED)
    lines += [
        "(In a session lent the GPU machine, `bash suites/perf/gpu_session.sh` runs it after the organism seeds trained "
        "on the GPU, each step under its own time limit; the figures above are kept in "
        "`suites/perf/measured/full_size_gpu.json`.)",
        "",
        "It builds both models from the real configs in `harness/models/configs/` (random bf16 weights created on "
        "the GPU), feeds one 336 px image per sample to LLaVA (576 image tokens) and one 448 px image to "
        "Qwen2.5-VL (256 merged tokens), batch 8, and reports tokens/s, achieved TFLOP/s, MFU against the dense "
        "bf16 peak of the device (H100 SXM: 989 TFLOP/s; table in `harness/perf/gpu.py`; FLOPs counted "
        "analytically as in `harness/perf/flops.py`) and `torch.cuda.max_memory_allocated`. Then the verdict's own "
        "test as `analyze_layer` runs it (`harness.perf.measure.measure_verdict`) on 2 × 20,000 and 2 × 50,000 keys of "
        "dim 4096: the between-prompt mixture-kernel gap with 1000 sign flips over 200 prompts, the intra-modal "
        "comparisons and the noise floor, then the kernel-mean tier (200 prompt-bootstrap replicates) and the verdict. "
        "Goal: ≤ 5 s at 2 × 20,000, no OOM at either size. Then each model's intervention study of its mid layer "
        "(every default intervention, the fixture's 72 questions; `harness.perf.measure.measure_study`) against plain "
        "passes over the same prompts: decoder work counted in plain passes and wall seconds of each; the study is "
        "last, the longest step, and the JSON is rewritten after each measurement so a cut run keeps what finished.",
        "",
        "The same code path at reduced scale on this CPU (real widths, vocabularies and image sizes; 2 decoder "
        "layers, 2 vision blocks, float32, batch 1) — **a proof that the path runs, not a full-size figure**:",
        "",
        "    python -m suites.perf.full_size --cpu-reduced",
        "",
    ]
    figures = full_size.run(full_size.parse_args(["--cpu-reduced"]))
    lines += [f"- {full_size.capture_line(f)}" for f in figures["capture"]]
    lines += [f"- {full_size.verdict_line(v)}" for v in figures["verdicts"]]
    return "\n".join(lines)


CAPTURE_MEASURED = (
    "Capture ratios, at equal work: per model one run in which every call is timed in turn in each of 30 "
    "rounds (medians; all include the processor). Early exit: `capture_keys` of layer L = N/4 against a plain "
    "pass ended at the same place (after layer L's k_proj, by the same StopForward, through a tap with no sink). "
    "No early exit: `capture_keys` of the first, middle and last layer with `early_exit=False` against a full "
    "plain pass (final norm and LM head included on both sides). Saving: the early-exit capture against the "
    "same capture without early exit; the vision tower and the processor run in full either way, so tiny "
    "twins cannot reach (L+1)/N; llava-1024x8 is the decoder-dominated case. Work that does not depend on "
    "the batch (the benchmark text's token count) is done once per (model, benchmark) pair, in the warm-up."
)

# Sections measured by their own scripts or written by hand: carried over as they stand (each names how it was made).
CARRIED = ("Capture at equal work", "Capture memory at real scale", PEERS, "Analysis stages", TSNE_BACKENDS,
           "Per-head figures and the thread count", "Organisms: training and the study", "The default suite's time")

HOTSPOT_READING = """
Reading (what would remove each; none of these lies in `suites/perf` or `harness/perf`, so nothing was changed here):

- **Analysis of a triple is the suite's main cost, not capture.** Under the prompt-level statistics
  its kernel sums over token cells, the JS/AUC grouped cross-fit and the t-SNE map (600 points, openTSNE)
  weigh most; the sign-flip null and the unit bootstrap are O(units²) once the cell sums exist
  ("Analysis stages" below splits the time by stage). Done: one cross-fit shared by JS and AUC (folds in
  parallel on 2 threads), a hashed duplicate-row check, σ from the kernel's own distance product, a t-SNE
  map of 250 iterations, finiteness proved by one sum. Left at one thread: five PCA-50 fits of
  ~2,400 × 4,096 (~1.8 s of the real-size triple; float32 would halve it and move the JS figures' last digits).
- **The intervention suite**: a layer's study now costs 7.3–7.4 plain passes of decoder work on the fixture
  and 10.7–12.3 on `world` (rows above; docs/interventions.md "Cost"); what is left of its passes is
  inherent (2 per condition, the first L layers once). Its CPU time beyond them (11–15× a plain pass on the
  fixture, 19–25× on `world`) is the figures: the divergence's kernel sums, sign flips and bootstrap
  intervals of 6 gaps (~40 % on tiny-llava's fixture study), the attention metrics (~10 %), and on `world`
  the options' tokens (the twins' tokenizer spells words by character). The 5 gaps after a map recompute the
  kernel block of the modality the map leaves alone; sharing it would take the next share.
- **Capture** of a decoder-dominated model is ~93 % in the model's own forward (Linear layers ~55 %, attention
  ~40 % of which RoPE `apply_rotary_pos_emb`/`rotate_half` ~12 %); the harness's hooks and bank cost the rest.
  Nothing of the harness's own is worth removing there; on a GPU the same holds with sdpa/flash attention.
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m suites.perf.report", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "PERFORMANCE.md", help="file to write (default: PERFORMANCE.md)")
    add_malloc_option(p)
    args = p.parse_args(argv)
    apply_malloc(args.malloc)  # the in-process figures (capture, statistics, interventions) run as the suite does
    start = time.perf_counter()
    info = machine()
    figures = [walltime_figure()]  # first: the suite runs in a subprocess on an idle machine
    torch.set_grad_enabled(False)
    figures += capture_figures()
    figures += stats_figures()
    figures += intervention_figures()
    fs = full_size_section()
    aw, arows = profile_hotspots.profile_analysis(top=20)
    cw, crows = profile_hotspots.profile_capture(top=12)
    sections = [
        ("Full size (GPU)", fs),
        ("Profile: analysis of one triple", "cProfile over `harness.analysis.triple.analyze_layer` (tiny-llava, deepest layer, "
         "fixture benchmark, default settings), harness functions by cumulative time:\n\n" + profile_table(aw, arows)
         + "\n\n`python -m suites.perf.profile_hotspots`"),
        ("Profile: capture", "cProfile over `harness.capture.keys.capture_keys` (llava-1024x8 twin, 3 layers, batch 4), "
         "by cumulative time:\n\n" + profile_table(cw, crows)),
        ("Hot spots", HOTSPOT_READING),
        ("Optimisations made", OPTIMISATIONS),
        ("How each figure is measured", CAPTURE_MEASURED + " Permutation test: "
         "`mmd_permutation_null` vs `mmd_permutation_loop` (same permutations, float64). t-SNE: "
         "`harness.stats.projection.tsne_2d` with each backend, trustworthiness k = 10 on 2,000 points. Suite: "
         "a fresh `--ks-cache` so capture is included. Intervention study (`suites.perf.test_intervention_perf."
         "study_cost`): the mid layer's study with all five interventions against a plain forward pass over the same "
         "prompts in batches of 8 with the processor; the passes are counted (tokens through the decoder layers' "
         "attention, `harness.perf.passes`), the CPU ratio is the median of 3 interleaved runs of each, the load "
         "is the 1-minute load average when each started."),
    ]
    # Sections measured by their own scripts (capture_memory.py, peers.py in its benchmark venv,
    # analysis_stages.py): carried over as they stand; each names the command that regenerates it.
    previous = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
    for title in CARRIED:
        body = read_section(previous, title)
        if body:
            sections.append((title, body))
    seconds = time.perf_counter() - start
    args.out.write_text(render(command=COMMAND, seconds=seconds, machine_info=info, figures=figures, sections=sections))
    print(f"wrote {args.out} in {seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
