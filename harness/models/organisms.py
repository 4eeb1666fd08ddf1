"""The organisms: miniature LLaVA-1.5 checkpoints trained offline with known histories (fixtures/organisms/).

What is committed, and what the default run measures, are the first recipe's three organisms, one seed
each: `organism-text-first`, `organism-aligned`, `organism-joint` (folders `text-first/`, `aligned/`,
`joint/`). `python -m harness.organisms train` builds the pre-registered four histories × seeds
(docs/organisms.md) as `HISTORY-sK/` folders; their pilot seed failed its acceptance checks, so none is
committed. Once built, `organism-HISTORY-sK` names seed K of a history and `organism-HISTORY` its seed 0
(in place of the first recipe's folder); before that, such a name is a one-line error naming the command.
They load through the LLaVA family adapter like any local save_pretrained directory.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import KeyspaceError

from .registry import ModelSpec, register_model

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "organisms"
HISTORIES = ("text-first", "aligned", "frozen", "joint")  # harness.organisms.build.HISTORIES (not imported: no torch here)
SEEDS = (0, 1, 2)
FIRST_RECIPE = ("text-first", "aligned", "joint")  # the committed folders (the first recipe, one seed each)
BUILD = "python -m harness.organisms train"


def _spec(name: str, folders: tuple[str, ...]) -> ModelSpec:
    """The spec of the first of `folders` that exists under ROOT; a one-line error naming the build if none does."""
    for folder in folders:
        if (ROOT / folder).is_dir():
            layers = ("first", "mid", "last") if folder in FIRST_RECIPE else ("all",)
            return ModelSpec(name=name, family="llava", source=str(ROOT / folder), num_layers=4, default_layers=layers)
    raise KeyspaceError(f"--ks-models: {name} is not built (no {ROOT / folders[0]}); build it with `{BUILD}`")


def _register(name: str, folders: tuple[str, ...]) -> None:
    @register_model(name)
    def spec() -> ModelSpec:
        return _spec(name, folders)


for _history in HISTORIES:
    for _k in SEEDS:
        _register(f"organism-{_history}-s{_k}", (f"{_history}-s{_k}",))
    # seed 0 of the pre-registered recipe once built; until then the first recipe's committed organism
    _register(f"organism-{_history}", (f"{_history}-s0", _history) if _history in FIRST_RECIPE else (f"{_history}-s0",))
