"""What capture costs next to a plain forward pass of the same model on the same batch, at equal work.

Ratios (medians of harness.perf.workloads.ROUNDS rounds, every call of a model interleaved in each round,
all including the processor; harness.perf.workloads.capture_ratios):
- early exit: capture of layer L (a quarter of the way down) with early exit / a plain pass stopped at the
  same place (after layer L's k_proj, by the same StopForward). Near 1 is good.
- full: capture of the first, middle and last layer without early exit / a full plain pass. Near 1 is good.
- saving: capture of layer L with early exit / the same capture without it: what early exit saves (the
  vision tower and the processor run in full either way).
- whole: the early-exit and full ratios over a whole capture (the fixture's 72 prompts in the suite's batches
  of 8; harness.perf.workloads.capture_ratios_whole), where what a capture does once (the image-position
  proof on its first batch, the bank's assembly) is spread over its batches as in a real run; the ratios
  above carry all of it in one batch of 4.

    pytest suites/perf -m perf                 # pytest-benchmark tables, ratios in extra_info
    python -m suites.perf.test_capture_perf    # ratio lines only (from the repository root)

No assertion on time: machines differ; the figures are for reading. The models, the batch and the
timed calls are harness.perf.workloads'.
"""

from __future__ import annotations

import os

import pytest
import torch

from harness.allocator import add_option as add_malloc_option, apply as apply_malloc
from harness.perf.workloads import MODELS, capture, capture_ratios, capture_ratios_whole, exit_layer, loaded_model, paired_text

pytestmark = pytest.mark.perf


@pytest.mark.parametrize("name", list(MODELS))
def test_capture_at_equal_work(benchmark, name):
    loaded = loaded_model(name)
    benchmark.group = f"capture {name}"
    figures = capture_ratios(name)
    benchmark.extra_info.update({k: figures[k] for k in ("early_exit", "full", "saving", "seconds")})
    whole = capture_ratios_whole(name)
    benchmark.extra_info.update({f"whole_{k}": whole[k] for k in ("early_exit", "full", "early_exit_paired", "full_paired")})
    benchmark.pedantic(capture, args=(loaded, [exit_layer(loaded.num_layers)]), rounds=5, warmup_rounds=1)


def load_average() -> str:
    return "{:.1f}".format(os.getloadavg()[0])


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="python -m suites.perf.test_capture_perf", description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=list(MODELS), help=f"models (default: all of {', '.join(MODELS)})")
    add_malloc_option(p)
    args = p.parse_args(argv)
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        p.error(f"unknown model(s) {', '.join(unknown)}; give some of {', '.join(MODELS)}")
    print(f"freed memory: {apply_malloc(args.malloc)}", flush=True)
    torch.set_grad_enabled(False)
    for name in args.models:
        start = load_average()
        f = capture_ratios(name)
        n, layer = f["layers"], f["exit_layer"]
        print(f"{name} (load {start} → {load_average()}): capture of layer {layer} of {n} with early exit / plain pass "
              f"stopped there = {f['early_exit']:.3f}; capture of {f['three_layers']} without early exit / full pass = "
              f"{f['full']:.3f}; early exit / no early exit (layer {layer}) = {f['saving']:.3f}", flush=True)
        whole = capture_ratios_whole(name)
        print(f"{name} whole fixture ({whole['prompts']} prompts, batches of {whole['batch']}, {whole['rounds']} rounds, "
              f"load {load_average()}): early exit {whole['early_exit']:.3f} (per round {paired_text(whole['early_exit_paired'])}), "
              f"full {whole['full']:.3f} (per round {paired_text(whole['full_paired'])})", flush=True)


if __name__ == "__main__":
    main()
