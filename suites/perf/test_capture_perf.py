"""What capture costs next to a plain forward pass of the same model on the same batch.

Ratios (capture seconds / plain forward seconds, both medians, both including the processor):
- capture of 3 layers (first, mid, last): the hooks' and the bank's overhead; the last layer is
  requested, so no early exit helps here. Near 1 is good.
- early exit at layer L of N: capture of layer L alone, the pass stopped after it; ideally about
  (L + 1) / N of the decoder plus the vision tower and the processor, which no exit saves.

    pytest suites/perf -m perf                 # pytest-benchmark tables, ratios in extra_info
    python suites/perf/test_capture_perf.py    # ratio lines only

No assertion on time: machines differ; the figures are for reading.
"""

from __future__ import annotations

import statistics
import sys
import time
from functools import cache
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from harness.benchmarks import get_benchmark  # noqa: E402
from harness.capture.keys import capture_keys  # noqa: E402
from harness.models import adapter_for, get_model_spec  # noqa: E402
from harness.models.adapter import LoadedModel  # noqa: E402

pytestmark = pytest.mark.perf

BATCH = 4
# name → (registry twin, decoder hidden size, decoder layers); "llava-1024x8" is big enough that
# the decoder, not Python overhead, dominates a forward pass on a CPU.
MODELS = {
    "tiny-llava": ("tiny-llava", None, None),
    "tiny-qwen2.5-vl": ("tiny-qwen2.5-vl", None, None),
    "llava-1024x8": ("tiny-llava", 1024, 8),
}


@cache
def loaded_model(name: str) -> LoadedModel:
    twin, hidden, layers = MODELS[name]
    spec = get_model_spec(twin)
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    if hidden is not None:
        from harness.models.tiny import tiny_llava

        torch.manual_seed(0)
        model, _ = tiny_llava(hidden=hidden, layers=layers)
        model = model.eval()
        loaded = LoadedModel(
            spec=spec, adapter=loaded.adapter, model=model, processor=loaded.processor,
            layers=loaded.adapter.decoder_layers(model), image_token_id=loaded.image_token_id,
            special_ids=loaded.special_ids, device=loaded.device,
        )
    return loaded


@cache
def batch() -> tuple:
    return tuple(get_benchmark("fixture")((), seed=0)[:BATCH])


def plain_forward(loaded: LoadedModel) -> None:
    inputs, _ = loaded.adapter.encode(loaded, batch())
    with torch.inference_mode():
        loaded.model(**inputs, use_cache=False)


def capture(loaded: LoadedModel, layers: list[int]) -> None:
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
    return [0, n // 2, n - 1]


def exit_layer(n: int) -> int:
    return n // 4


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


def ratio_three_layers(name: str) -> float:
    loaded = loaded_model(name)
    return interleaved_ratio(loaded, three_layers(loaded.num_layers))


def ratio_early_exit(name: str) -> float:
    loaded = loaded_model(name)
    return interleaved_ratio(loaded, [exit_layer(loaded.num_layers)])


def main() -> None:
    torch.set_grad_enabled(False)
    for name in MODELS:
        loaded = loaded_model(name)
        n = loaded.num_layers
        print(f"{name}: capture of layers {three_layers(n)} / plain forward = {ratio_three_layers(name):.3f}")
        print(f"{name}: early exit at layer {exit_layer(n)} of {n} / plain forward = {ratio_early_exit(name):.3f}")


if __name__ == "__main__":
    main()
