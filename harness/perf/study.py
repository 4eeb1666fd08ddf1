"""One layer's intervention study next to plain forward passes over the same prompts: its cost at equal work.

The study is the intervention suite's own (``PairStudy`` with every default intervention at one layer, the
records decided); the plain side is a forward pass over every prompt in batches of the study's size, processor
included. Both are counted (``harness.perf.passes``: decoder work in plain passes, forward calls, prompts
encoded; independent of the machine's load) and timed, on the CPU by process time, on a GPU by wall time
with the device synchronized. ``suites/perf/test_intervention_perf`` (the twins and the organisms, CPU) and
``suites/perf/full_size`` (the full-size models, GPU) both measure through ``study_cost``.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence

import torch

from harness.benchmarks.sample import Sample
from harness.intervention.fit import DEFAULT
from harness.intervention.run import PairStudy, StudySettings
from harness.models.adapter import LoadedModel

from .passes import count_passes

BATCH = 8  # prompts per forward pass on both sides (the study's default batch)


def plain_passes(loaded: LoadedModel, samples: Sequence[Sample], batch_size: int = BATCH) -> None:
    """A full plain forward pass over every prompt, in batches, processor included."""
    with torch.inference_mode():
        for i in range(0, len(samples), batch_size):
            inputs, _ = loaded.adapter.encode(loaded, samples[i : i + batch_size])
            loaded.model(**inputs, use_cache=False)


def study(loaded: LoadedModel, samples: Sequence[Sample], benchmark: str, layer: int, batch_size: int = BATCH) -> list:
    """The intervention suite's study of `layer` with every default intervention: its decided records."""
    run = PairStudy.start(loaded, samples, benchmark, StudySettings(names=DEFAULT, batch_size=batch_size))
    return [run.result(layer, name) for name in DEFAULT]


def _clock(device: torch.device) -> Callable[[], float]:
    if device.type != "cuda":
        return time.process_time

    def wall() -> float:
        torch.cuda.synchronize(device)
        return time.perf_counter()

    return wall


def study_cost(loaded: LoadedModel, samples: Sequence[Sample], benchmark: str, *, rounds: int = 3,
               layer: int | None = None, batch_size: int = BATCH) -> dict:
    """The study of `layer` (default: the mid layer) next to plain passes over the same `samples`: the decoder
    work counted in plain passes, forward calls and prompts encoded of each (one counted run of each, which is
    also the warm-up), then `rounds` interleaved timed runs of each (medians; CPU seconds on the CPU, wall
    seconds on a GPU). With `rounds` 0 the counted runs are the timed ones, after a warm-up plain pass over the
    first batch (half the time, where one run of a study is long: the full-size models on a GPU)."""
    layer = loaded.num_layers // 2 if layer is None else layer
    calls = {"plain": lambda: plain_passes(loaded, samples, batch_size),
             "study": lambda: study(loaded, samples, benchmark, layer, batch_size)}
    clock = _clock(loaded.device)

    def timed(name: str) -> float:
        start = clock()
        calls[name]()
        return clock() - start

    if not rounds:
        plain_passes(loaded, samples[:batch_size], batch_size)
    counts, seconds = {}, {name: [] for name in calls}
    for name in calls:
        with count_passes(loaded) as counts[name]:
            first = timed(name)
        if not rounds:
            seconds[name].append(first)
    for _ in range(rounds):
        for name in calls:
            seconds[name].append(timed(name))
    medians = {k: statistics.median(v) for k, v in seconds.items()}
    one, counted = counts["plain"], counts["study"]
    return {"layer": layer, "interventions": list(DEFAULT), "prompts": len(samples), "batch": batch_size,
            "passes": counted.plain_passes(one), "calls": counted.calls, "plain_calls": one.calls,
            "encoded": counted.encoded, "rounds": rounds,
            "clock": "wall, device synchronized" if loaded.device.type == "cuda" else "CPU (process time)",
            "timed": f"median of {rounds} interleaved runs after a counted one" if rounds
                     else "the counted runs, after a warm-up pass over one batch",
            "study_s": medians["study"], "plain_s": medians["plain"], "time_ratio": medians["study"] / medians["plain"]}
