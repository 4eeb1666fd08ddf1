"""The organisms: miniature LLaVA-1.5 checkpoints trained offline with known histories (fixtures/organisms/).

`python -m harness.organisms train` regenerates them; docs/organisms.md tells their histories.
`organism-HISTORY-sK` is seed K of a history; `organism-HISTORY` is its seed 0 (what the default run measures).
They load through the LLaVA family adapter like any local save_pretrained directory.
"""

from __future__ import annotations

from pathlib import Path

from .registry import ModelSpec, register_model

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "organisms"
HISTORIES = ("text-first", "aligned", "frozen", "joint")  # harness.organisms.build.HISTORIES (not imported: no torch here)
SEEDS = (0, 1, 2)
NAMES = tuple(f"{h}-s{k}" for k in SEEDS for h in HISTORIES)


def _register(name: str, folder: str) -> None:
    @register_model(name)
    def spec() -> ModelSpec:
        return ModelSpec(name=name, family="llava", source=str(ROOT / folder), num_layers=4, default_layers=("all",))


for _folder in NAMES:
    _register(f"organism-{_folder}", _folder)
for _history in HISTORIES:
    _register(f"organism-{_history}", f"{_history}-s0")
