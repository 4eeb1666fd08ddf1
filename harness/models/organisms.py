"""The organisms: miniature LLaVA-1.5 checkpoints trained offline with known histories (fixtures/organisms/).

`python -m harness.organisms train` regenerates them; docs/organisms.md tells their histories.
They load through the LLaVA family adapter like any local save_pretrained directory.
"""

from __future__ import annotations

from pathlib import Path

from .registry import ModelSpec, register_model

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "organisms"
NAMES = ("text-first", "aligned", "joint")


def _register(short: str) -> None:
    name = f"organism-{short}"

    @register_model(name)
    def spec() -> ModelSpec:
        return ModelSpec(name=name, family="llava", source=str(ROOT / short), num_layers=4, default_layers=("first", "mid", "last"))


for _short in NAMES:
    _register(_short)
