"""The workloads the timing scripts of `suites/perf` share: models, batches and the calls they time.

Each builder is cached where it loads or makes data, so a script that times several figures (the
PERFORMANCE.md writer, `python -m suites.perf.report`) builds each workload once. Nothing here runs
at import; the pytest-benchmark modules and the plain scripts of `suites/perf` both call these.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from harness.models.adapter import LoadedModel

# -- capture next to a plain forward pass at equal work (suites/perf/test_capture_perf.py, test_intervention_perf.py) --
BATCH = 4  # fixture samples per forward pass
ROUNDS = 30  # interleaved rounds behind each capture ratio (their medians)
# name → (registry name, decoder hidden size, decoder layers); "llava-1024x8" is big enough that
# the decoder, not Python overhead, dominates a forward pass on a CPU; the organisms are the default suite's models.
MODELS = {
    "tiny-llava": ("tiny-llava", None, None),
    "tiny-qwen2.5-vl": ("tiny-qwen2.5-vl", None, None),
    "llava-1024x8": ("tiny-llava", 1024, 8),
    "organism-text-first": ("organism-text-first", None, None),
    "organism-aligned": ("organism-aligned", None, None),
    "organism-frozen": ("organism-frozen", None, None),
    "organism-joint": ("organism-joint", None, None),
}


@functools.cache
def loaded_model(name: str) -> LoadedModel:
    """One of MODELS on the CPU in float32, seeded."""
    from harness.models import adapter_for, get_model_spec  # deferred: each workload loads only what it times

    registered, hidden, layers = MODELS[name]
    spec = get_model_spec(registered)
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    if hidden is not None:
        from harness.models.tiny import tiny_llava  # deferred: each workload loads only what it times

        torch.manual_seed(0)
        model, _ = tiny_llava(hidden=hidden, layers=layers)
        model = model.eval()
        loaded = dataclasses.replace(loaded, model=model, layers=loaded.adapter.decoder_layers(model))
    return loaded


@functools.cache
def batch() -> tuple:
    """The first BATCH samples of the fixture benchmark."""
    from harness.benchmarks import get_benchmark  # deferred: each workload loads only what it times

    return tuple(get_benchmark("fixture")((), seed=0)[:BATCH])


@functools.cache
def benchmark_samples() -> tuple:
    """Every sample of the fixture benchmark (72 prompts): a whole capture as the default suite runs it."""
    from harness.benchmarks import get_benchmark  # deferred: each workload loads only what it times

    return tuple(get_benchmark("fixture")((), seed=0))


def plain_forward(loaded: LoadedModel, stop_after: int | None = None, samples: tuple | None = None) -> None:
    """One forward pass over `samples` (default `batch()`), processor included, no capture; with `stop_after`,
    ended where an early-exit capture of that layer ends it (after the layer's k_proj, by the same StopForward)."""
    from harness.models.taps import run_tapped, tap  # deferred: each workload loads only what it times

    inputs, _ = loaded.adapter.encode(loaded, batch() if samples is None else samples)
    with torch.inference_mode():
        if stop_after is None:
            loaded.model(**inputs, use_cache=False)
            return
        with tap(loaded.adapter, loaded.layers, [stop_after], "keys", lambda index, states: None, stop=True):
            run_tapped(loaded, inputs, [], [stop_after], what="plain pass")


def capture(loaded: LoadedModel, layers: list[int], early_exit: bool = True, samples: tuple | None = None,
            batch_size: int = BATCH) -> None:
    """The capture of `layers` over `samples` (default `batch()`), processor included."""
    from harness.capture.keys import capture_keys  # deferred: each workload loads only what it times

    capture_keys(loaded, batch() if samples is None else samples, layers, benchmark="fixture", batch_size=batch_size,
                 early_exit=early_exit)


SUITE_BATCH = 8  # the default suite's capture batch size
WHOLE_ROUNDS = 25  # interleaved rounds of the whole-benchmark comparison (each call is 9 forward passes); 7 read ±5 %


def plain_passes(loaded: LoadedModel, stop_after: int | None = None) -> None:
    """Plain forward passes over every sample of the fixture in batches of SUITE_BATCH (what a capture of the
    whole benchmark runs, without capturing)."""
    samples = benchmark_samples()
    for i in range(0, len(samples), SUITE_BATCH):
        plain_forward(loaded, stop_after, samples[i : i + SUITE_BATCH])


def capture_ratios_whole(name: str, rounds: int = WHOLE_ROUNDS) -> dict:
    """``capture_ratios``' two overhead ratios over a whole capture (the fixture's 72 prompts in batches of
    SUITE_BATCH, as the default suite captures), where the work done once per capture (the image-position
    proof on the first batch, the bank's assembly) is spread over its batches as in a real run."""
    loaded = loaded_model(name)
    n = loaded.num_layers
    layer, layers = exit_layer(n), three_layers(n)
    samples = benchmark_samples()
    times = interleaved_seconds({
        "plain_stopped": (plain_passes, loaded, layer),
        "capture_early": (capture, loaded, [layer], True, samples, SUITE_BATCH),
        "plain_full": (plain_passes, loaded),
        "capture_full": (capture, loaded, layers, False, samples, SUITE_BATCH),
    }, rounds)
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"model": name, "layers": n, "exit_layer": layer, "three_layers": layers, "rounds": rounds,
            "prompts": len(samples), "batch": SUITE_BATCH, "seconds": medians,
            "early_exit": medians["capture_early"] / medians["plain_stopped"],
            "full": medians["capture_full"] / medians["plain_full"],
            "early_exit_paired": paired_ratio(times["capture_early"], times["plain_stopped"]),
            "full_paired": paired_ratio(times["capture_full"], times["plain_full"])}


def paired_ratio(a: list[float], b: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """(median, low, high) of the per-round ratios a_i / b_i (each pair timed side by side in one round, so a
    slower moment slows both): the median and its distribution-free interval at `level` (order statistics,
    scipy.stats.quantile_test); (median, nan, nan) where too few rounds give no interval at that level."""
    import numpy as np
    from scipy.stats import quantile_test

    r = np.asarray(a, dtype=float) / np.asarray(b, dtype=float)
    mid = float(np.median(r))
    ci = quantile_test(r, q=mid, p=0.5).confidence_interval(level)
    return mid, float(ci.low), float(ci.high)


def paired_text(ratio: tuple[float, float, float]) -> str:
    """`paired_ratio`'s (median, low, high) as "1.023 [0.994, 1.078]"."""
    mid, low, high = ratio
    return f"{mid:.3f} [{low:.3f}, {high:.3f}]"


def interleaved_seconds(calls: dict[str, tuple], rounds: int = ROUNDS) -> dict[str, list[float]]:
    """Seconds of each call (name → (function, *args)) in every round, the calls run in turn in each round so
    that a busy machine slows them alike; one warm-up round first."""
    for fn, *args in calls.values():
        fn(*args)
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, (fn, *args) in calls.items():
            start = time.perf_counter()
            fn(*args)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def interleaved_medians(calls: dict[str, tuple], rounds: int = ROUNDS) -> dict[str, float]:
    """Median seconds of each call of ``interleaved_seconds``."""
    return {name: statistics.median(s) for name, s in interleaved_seconds(calls, rounds).items()}


def three_layers(n: int) -> list[int]:
    """First, middle and last of `n` decoder layers: the default triple layers."""
    return [0, n // 2, n - 1]


def exit_layer(n: int) -> int:
    """The layer an early-exit capture stops after: a quarter of the way down."""
    return n // 4


def capture_ratios(name: str, rounds: int = ROUNDS) -> dict:
    """Capture against a plain pass at equal work, all in one interleaved run (medians of `rounds`):
    - `early_exit`: capture of layer L (= exit_layer) with early exit / a plain pass stopped after layer L;
    - `full`: capture of three_layers without early exit / a full plain pass;
    - `saving`: capture of layer L with early exit / the same capture without it (what early exit saves).
    The overhead ratios are near 1 when capture adds little to the pass it rides on."""
    loaded = loaded_model(name)
    n = loaded.num_layers
    layer, layers = exit_layer(n), three_layers(n)
    medians = interleaved_medians({
        "plain_stopped": (plain_forward, loaded, layer),
        "capture_early": (capture, loaded, [layer], True),
        "plain_full": (plain_forward, loaded),
        "capture_full": (capture, loaded, layers, False),
        "capture_layer_full": (capture, loaded, [layer], False),
    }, rounds)
    return {
        "model": name, "layers": n, "exit_layer": layer, "three_layers": layers, "rounds": rounds, "batch": BATCH,
        "seconds": medians,
        "early_exit": medians["capture_early"] / medians["plain_stopped"],
        "full": medians["capture_full"] / medians["plain_full"],
        "saving": medians["capture_early"] / medians["capture_layer_full"],
    }


def analysis_case():
    """(bank, layer, settings): tiny-llava's deepest layer over the fixture benchmark, the suite's default
    analysis settings; the triple the profile and the analysis-stage timings both time."""
    from harness.analysis.triple import AnalysisSettings  # deferred: each workload loads only what it times
    from harness.benchmarks import get_benchmark
    from harness.capture.keys import capture_keys

    loaded = loaded_model("tiny-llava")
    samples = get_benchmark("fixture")((), seed=0)
    layer = loaded.num_layers - 1
    bank = capture_keys(loaded, samples, [layer], benchmark="fixture", batch_size=8)
    return bank, layer, AnalysisSettings(threshold=1.0, alpha=0.01)


# -- the statistics engine (suites/perf/test_stats_perf.py) ---------------------------------------------
N_SIDE, DIM, PERMS = 2000, 128, 1000  # permutation test: vectors per side, dimension, permutations
TSNE_N, TSNE_DIM, BLOBS, TRUST_SUB, TRUST_K = 10_000, 50, 5, 2000, 10
N_JOBS = 2  # t-SNE threads


@functools.cache
def perm_data():
    """x, y [N_SIDE, DIM] float32 (y's mean shifted by 0.05) and their median-heuristic σ."""
    from harness.stats.kernels import median_bandwidth  # deferred: each workload loads only what it times

    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_SIDE, DIM, generator=g)
    y = torch.randn(N_SIDE, DIM, generator=g) + 0.05
    return x, y, median_bandwidth(x, y)


def run_batched(perms: int = PERMS):
    """The batched permutation null (every permutation one matrix product against one kernel)."""
    from harness.stats.mmd import mmd_permutation_null  # deferred: each workload loads only what it times

    x, y, s = perm_data()
    return mmd_permutation_null(x, y, sigma=s, permutations=perms, seed=0)


def run_loop(perms: int = PERMS):
    """The reference: one Python iteration per permutation, same data and permutations."""
    from harness.stats.mmd import mmd_permutation_loop  # deferred: each workload loads only what it times

    x, y, s = perm_data()
    return mmd_permutation_loop(x, y, sigma=s, permutations=perms, seed=0)


@functools.cache
def tsne_data(n: int = TSNE_N):
    """n points of BLOBS Gaussian blobs in TSNE_DIM dimensions, float32, and each point's blob name."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((BLOBS, TSNE_DIM)) * 3.0
    lab = rng.integers(0, BLOBS, n)
    x = (centers[lab] + rng.standard_normal((n, TSNE_DIM))).astype(np.float32)
    return x, [f"blob{i}" for i in lab]


def run_tsne(backend: str, n: int = TSNE_N):
    from harness.stats.projection import tsne_2d  # deferred: each workload loads only what it times

    x, labels = tsne_data(n)
    return tsne_2d(x, labels, seed=0, cap=n, backend=backend, n_jobs=N_JOBS)


def trust(proj) -> float:
    """Trustworthiness (TRUST_K neighbours) of a t-SNE map on a seeded TRUST_SUB-point subsample."""
    from harness.stats.projection import trustworthiness  # deferred: each workload loads only what it times

    x, _ = tsne_data(len(proj.kept_index))
    sub = np.random.default_rng(1).choice(len(proj.kept_index), min(TRUST_SUB, len(proj.kept_index)), replace=False)
    return trustworthiness(x[proj.kept_index[sub]], proj.points[sub], n_neighbors=TRUST_K)


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def permutation_figures(perms: int = PERMS) -> dict:
    """Batched vs per-permutation loop on the same data and permutations: seconds, ratio, max |Δ null|
    (the two must agree: the caller checks `max_abs_diff` and the observed statistics' `observed_diff`)."""
    perm_data()
    b, tb = _timed(run_batched, perms)
    lp, tl = _timed(run_loop, perms)
    return {"n_side": N_SIDE, "dim": DIM, "permutations": perms, "threads": torch.get_num_threads(),
            "batched_s": tb, "loop_s": tl, "ratio": tl / tb, "observed_diff": abs(float(b[0]) - float(lp[0])),
            "max_abs_diff": float((b[1] - lp[1]).abs().max())}


def tsne_figures(n: int = TSNE_N) -> dict:
    """openTSNE vs sklearn on the same n points: seconds, ratio, trustworthiness of each (k = 10)."""
    tsne_data(n)
    po, to = _timed(run_tsne, "openTSNE", n)
    ps, ts = _timed(run_tsne, "sklearn", n)
    return {"points": n, "dim": TSNE_DIM, "n_jobs": N_JOBS, "opentsne_s": to, "sklearn_s": ts, "ratio": ts / to,
            "trust_opentsne": trust(po), "trust_sklearn": trust(ps)}


# -- the default suite's wall time (suites/perf/test_suite_walltime.py) ---------------------------------
SUITE_GOAL_S = 180.0  # the default offline suite on a 2-core machine


def _timed_run(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, done


def suite_walltime(root: Path) -> dict:
    """Seconds of the default suite of the checkout at `root` (fresh key cache, so capture is timed too) and
    of the plugin import alone, and the suite's summary line."""
    startup_s, _ = _timed_run([sys.executable, "-c", "import harness.plugin"], root)
    with tempfile.TemporaryDirectory(prefix="ks-perf-") as tmp:
        cmd = [sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider", "--ks-cache", tmp,
               "--ks-results", f"{tmp}/results.jsonl", "--ks-report", f"{tmp}/report.html"]
        suite_s, done = _timed_run(cmd, root)
    if done.returncode != 0:
        raise RuntimeError(f"default suite failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    return {"suite_s": suite_s, "startup_s": startup_s, "ratio": suite_s / startup_s, "summary": summary,
            "command": "python -m pytest suites/ -q -p no:cacheprovider --ks-cache <fresh tmp dir>"}
