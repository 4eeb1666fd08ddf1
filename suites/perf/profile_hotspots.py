"""Where the time goes: cProfile over the analysis of one triple and over one capture.

- analysis: `harness.analysis.triple.analyze_layer` on tiny-llava's deepest layer over the fixture
  benchmark with the suite's default settings (1000 permutations, 200 bootstrap replicates,
  1500 points per modality, JS + probe AUC in PCA-50, a 600-point t-SNE map);
- capture: `harness.capture.keys.capture_keys` of layers (0, mid, last) of the 1024 × 8 LLaVA twin
  on 4 fixture samples (the decoder, not Python, should dominate).

Each row: a function, its cumulative seconds and share of the profiled call's wall time.

    python -m suites.perf.profile_hotspots    # from the repository root
"""

from __future__ import annotations

import cProfile
import pstats
import time
from pathlib import Path

import torch

from harness.analysis.triple import analyze_layer
from harness.perf.workloads import analysis_case, batch, capture, loaded_model, three_layers

# Functions whose cumulative time is worth naming: the harness's own steps and the libraries they call.
WATCH = ("harness/", "sklearn/", "openTSNE/", "torch/nn/", "transformers/models/", "transformers/processing",
         "transformers/image_processing", "transformers/tokenization", "{built-in method torch.", "{method '")


ROOT = Path(__file__).resolve().parents[2].as_posix() + "/"  # this checkout, not named in the document


def _relative(where: str) -> str:
    """A profiled file as the document names it: relative to the checkout, or to site-packages."""
    return where.removeprefix(ROOT).split("site-packages/")[-1]


def _rows(prof: cProfile.Profile, wall: float, top: int, watch: tuple[str, ...]) -> list[dict]:
    stats = pstats.Stats(prof)
    rows = []
    for (path, line, func), (_, calls, tottime, cumtime, _) in stats.stats.items():
        where = path.replace("\\", "/")
        if not any(w in where or w in func for w in watch):
            continue
        short = _relative(where)
        rows.append({"function": f"{short}:{line}({func})" if line else func, "calls": calls, "cum_s": cumtime, "own_s": tottime,
                     "share": cumtime / wall})
    rows.sort(key=lambda r: r["cum_s"], reverse=True)
    return rows[:top]


def profiled(fn, *args, top: int = 15, watch: tuple[str, ...] = WATCH, **kwargs) -> tuple[float, list[dict]]:
    """(wall seconds of fn(*args), the top rows by cumulative time)."""
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    fn(*args, **kwargs)
    prof.disable()
    wall = time.perf_counter() - start
    return wall, _rows(prof, wall, top, watch)


def profile_analysis(top: int = 15) -> tuple[float, list[dict]]:
    bank, layer, settings = analysis_case()
    analyze_layer(bank, layer, settings)  # warm-up: imports and first-call costs are not the steady state
    # the harness's own steps only: each row is one stage of the analysis and what it costs
    return profiled(analyze_layer, bank, layer, settings, top=top, watch=("harness/",))


def profile_capture(top: int = 15) -> tuple[float, list[dict]]:
    loaded = loaded_model("llava-1024x8")
    batch()
    capture(loaded, three_layers(loaded.num_layers))  # warm-up
    return profiled(capture, loaded, three_layers(loaded.num_layers), top=top)


def print_rows(title: str, wall: float, rows: list[dict]) -> None:
    print(f"{title}: {wall:.2f} s")
    for r in rows:
        print(f"  {100 * r['share']:5.1f} %  {r['cum_s']:7.3f} s cum  {r['own_s']:7.3f} s own  {r['calls']:6d} calls  {r['function']}")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    print_rows("analysis of one triple (tiny-llava, deepest layer, fixture)", *profile_analysis())
    print_rows("capture of 3 layers (llava-1024x8, batch 4)", *profile_capture())
