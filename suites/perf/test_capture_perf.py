"""What capture costs next to a plain forward pass of the same model on the same batch.

Ratios (capture seconds / plain forward seconds, both medians, both including the processor):
- capture of 3 layers (first, mid, last): the hooks' and the bank's overhead; the last layer is
  requested, so no early exit helps here. Near 1 is good.
- early exit at layer L of N: capture of layer L alone, the pass stopped after it; ideally about
  (L + 1) / N of the decoder plus the vision tower and the processor, which no exit saves.

    pytest suites/perf -m perf                 # pytest-benchmark tables, ratios in extra_info
    python -m suites.perf.test_capture_perf    # ratio lines only (from the repository root)

No assertion on time: machines differ; the figures are for reading. The models, the batch and the
timed calls are harness.perf.workloads'.
"""

from __future__ import annotations

import pytest
import torch

from harness.perf.workloads import (
    MODELS, capture, exit_layer, loaded_model, plain_forward, ratio_early_exit, ratio_three_layers, three_layers,
)

pytestmark = pytest.mark.perf


@pytest.mark.parametrize("name", list(MODELS))
def test_plain_forward(benchmark, name):
    loaded = loaded_model(name)
    benchmark.group = f"capture-vs-forward {name}"
    benchmark.pedantic(plain_forward, args=(loaded,), rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("name", list(MODELS))
def test_capture_three_layers(benchmark, name):
    loaded = loaded_model(name)
    benchmark.group = f"capture-vs-forward {name}"
    benchmark.extra_info["ratio_to_forward"] = ratio_three_layers(name)
    benchmark.pedantic(capture, args=(loaded, three_layers(loaded.num_layers)), rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("name", list(MODELS))
def test_capture_early_exit(benchmark, name):
    loaded = loaded_model(name)
    benchmark.group = f"capture-vs-forward {name}"
    benchmark.extra_info["ratio_to_forward"] = ratio_early_exit(name)
    benchmark.pedantic(capture, args=(loaded, [exit_layer(loaded.num_layers)]), rounds=5, warmup_rounds=1)


def main() -> None:
    torch.set_grad_enabled(False)
    for name in MODELS:
        loaded = loaded_model(name)
        n = loaded.num_layers
        print(f"{name}: capture of layers {three_layers(n)} / plain forward = {ratio_three_layers(name):.3f}")
        print(f"{name}: early exit at layer {exit_layer(n)} of {n} / plain forward = {ratio_early_exit(name):.3f}")


if __name__ == "__main__":
    main()
