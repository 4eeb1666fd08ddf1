"""The workloads the timing scripts of `suites/perf` share: models, batches and the calls they time.

Each builder is cached where it loads or makes data, so a script that times several figures (the
PERFORMANCE.md writer, `python -m suites.perf.report`) builds each workload once. Nothing here runs
at import; the pytest-benchmark modules and the plain scripts of `suites/perf` both call these.
"""

from __future__ import annotations

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

# -- capture next to a plain forward pass (suites/perf/test_capture_perf.py, test_intervention_perf.py) --
BATCH = 4  # fixture samples per forward pass
# name → (registry twin, decoder hidden size, decoder layers); "llava-1024x8" is big enough that
# the decoder, not Python overhead, dominates a forward pass on a CPU.
MODELS = {
    "tiny-llava": ("tiny-llava", None, None),
    "tiny-qwen2.5-vl": ("tiny-qwen2.5-vl", None, None),
    "llava-1024x8": ("tiny-llava", 1024, 8),
}


@functools.cache
def loaded_model(name: str) -> LoadedModel:
    """One of MODELS on the CPU in float32, seeded."""
    from harness.models import adapter_for, get_model_spec  # deferred: each workload loads only what it times

    twin, hidden, layers = MODELS[name]
    spec = get_model_spec(twin)
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    if hidden is not None:
        from harness.models.tiny import tiny_llava  # deferred: each workload loads only what it times

        torch.manual_seed(0)
        model, _ = tiny_llava(hidden=hidden, layers=layers)
        model = model.eval()
        loaded = LoadedModel(
            spec=spec, adapter=loaded.adapter, model=model, processor=loaded.processor,
            layers=loaded.adapter.decoder_layers(model), image_token_id=loaded.image_token_id, marker_ids=loaded.marker_ids,
            special_ids=loaded.special_ids, device=loaded.device,
        )
    return loaded


@functools.cache
def batch() -> tuple:
    """The first BATCH samples of the fixture benchmark."""
    from harness.benchmarks import get_benchmark  # deferred: each workload loads only what it times

    return tuple(get_benchmark("fixture")((), seed=0)[:BATCH])


def plain_forward(loaded: LoadedModel) -> None:
    """One forward pass over `batch()`, processor included, no capture."""
    inputs, _ = loaded.adapter.encode(loaded, batch())
    with torch.inference_mode():
        loaded.model(**inputs, use_cache=False)


def capture(loaded: LoadedModel, layers: list[int]) -> None:
    """The capture of `layers` over `batch()`, processor included."""
    from harness.capture.keys import capture_keys  # deferred: each workload loads only what it times

    capture_keys(loaded, batch(), layers, benchmark="fixture", batch_size=BATCH)


def interleaved_ratio(loaded: LoadedModel, layers: list[int], rounds: int = 5) -> float:
    """median(capture seconds) / median(plain forward seconds), the two run alternately so that a
    busy machine slows both alike."""
    plain_forward(loaded), capture(loaded, layers)  # warm-up
    fwd, cap = [], []
    for _ in range(rounds):
        for fn, args, out in ((plain_forward, (loaded,), fwd), (capture, (loaded, layers), cap)):
            start = time.perf_counter()
            fn(*args)
            out.append(time.perf_counter() - start)
    return statistics.median(cap) / statistics.median(fwd)


def three_layers(n: int) -> list[int]:
    """First, middle and last of `n` decoder layers: the last defeats any early exit."""
    return [0, n // 2, n - 1]


def exit_layer(n: int) -> int:
    """The layer an early-exit capture stops after: a quarter of the way down."""
    return n // 4


def ratio_three_layers(name: str) -> float:
    loaded = loaded_model(name)
    return interleaved_ratio(loaded, three_layers(loaded.num_layers))


def ratio_early_exit(name: str) -> float:
    loaded = loaded_model(name)
    return interleaved_ratio(loaded, [exit_layer(loaded.num_layers)])


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
