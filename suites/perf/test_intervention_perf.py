"""What an intervention costs next to a plain forward pass of the same model on the same batch.

Ratios (medians, run alternately so a busy machine slows both alike; both include the processor):
- intervened forward / plain forward: one full pass with `moments` applied at the mid layer (the
  label-book lookup of each prompt plus one per-head affine map on the image keys of one layer).
  Near 1 is good.
- study of one layer / plain forward of all its prompts: cross-fitting (maps fitted on each half, each
  half measured with the other half's maps) before and after all five interventions (one pass per
  condition for keys, attention and answers, one for the hinted answers; bootstrap intervals), in
  plain forward passes over every prompt: the decoder work counted (harness.perf.passes, independent
  of the machine's load) and the CPU seconds; on fixture and world, the tiny twins and the trained
  organisms of the default run.

    pytest suites/perf/test_intervention_perf.py -m perf     # pytest-benchmark tables, ratios in extra_info
    python -m suites.perf.test_intervention_perf             # ratio lines only (from the repository root)

No assertion on time: machines differ; the figures are for reading.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.intervention.apply import LabelBook, intervene
from harness.intervention.fit import fit_interventions
from harness.models import adapter_for, get_model_spec
from harness.perf.study import study_cost as cost_of_study
from harness.perf.workloads import MODELS, batch, loaded_model, plain_forward

pytestmark = pytest.mark.perf


def _setup(name: str):
    loaded = loaded_model(name)
    layer = loaded.num_layers // 2
    bank = capture_keys(loaded, batch(), [layer], benchmark="fixture", batch_size=len(batch()))
    iv = fit_interventions(bank.layers[layer], layer, bank.num_key_value_heads, ["moments"])["moments"]
    return loaded, LabelBook().add(loaded, batch()), iv


def intervened_forward(loaded, book, iv) -> None:
    with intervene(loaded, book, [iv]):
        plain_forward(loaded)


def ratio_intervened(name: str, rounds: int = 5) -> float:
    loaded, book, iv = _setup(name)
    plain_forward(loaded), intervened_forward(loaded, book, iv)  # warm-up
    fwd, ivd = [], []
    for _ in range(rounds):
        for fn, args, out in ((plain_forward, (loaded,), fwd), (intervened_forward, (loaded, book, iv), ivd)):
            start = time.perf_counter()
            fn(*args)
            out.append(time.perf_counter() - start)
    return statistics.median(ivd) / statistics.median(fwd)


def _load(name: str):
    if name in MODELS:
        return loaded_model(name)
    spec = get_model_spec(name)  # a registered checkpoint (the organisms), in float32 on the CPU
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


def study_cost(name: str, benchmark: str = "fixture", rounds: int = 3) -> dict:
    """One layer's study (the mid layer, every intervention) next to a plain forward pass over the same
    prompts in batches of 8, processor included (harness.perf.study.study_cost): the decoder work counted in
    plain passes (harness.perf.passes), the forward calls and prompts encoded of each, and the ratio of CPU
    seconds (medians of `rounds` interleaved runs of each)."""
    c = cost_of_study(_load(name), get_benchmark(benchmark)((), seed=0), benchmark, rounds=rounds)
    return {**c, "cpu_ratio": c["time_ratio"]}


@pytest.mark.parametrize("name", list(MODELS))
def test_intervened_forward(benchmark, name):
    loaded, book, iv = _setup(name)
    benchmark.group = f"intervention-vs-forward {name}"
    benchmark.extra_info["ratio_to_forward"] = ratio_intervened(name)
    benchmark.pedantic(intervened_forward, args=(loaded, book, iv), rounds=5, warmup_rounds=1)


def main() -> None:
    torch.set_grad_enabled(False)
    for name in MODELS:
        print(f"{name}: forward with `moments` at the mid layer / plain forward = {ratio_intervened(name):.3f}")
    names = ["tiny-llava", "tiny-qwen2.5-vl", *(f"organism-{o}" for o in ("text-first", "aligned", "frozen", "joint"))]
    for name in names:
        for bench in ("fixture", "world"):
            load = os.getloadavg()[0]
            c = study_cost(name, bench)
            print(f"{name} on {bench}: study of one layer = {c['passes']:.2f} plain passes of decoder work "
                  f"({c['calls']} forward calls against {c['plain_calls']}; {c['encoded']} prompts encoded for "
                  f"{c['prompts']}), CPU seconds {c['cpu_ratio']:.1f}× a plain pass (load {load:.1f})", flush=True)


if __name__ == "__main__":
    main()
