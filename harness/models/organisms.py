"""The organisms: miniature LLaVA-1.5 checkpoints trained offline with known histories (fixtures/organisms/).

Committed: amendment 3's twelve (docs/organisms.md), four histories × the three seeds its text-stage gate let
in (1, 2, 3), as `HISTORY-sK/` folders built by `python -m harness.organisms train`. `organism-HISTORY-sK`
names seed K of a history; `organism-HISTORY` names the lowest seed of it that is built (seed 1 of the
committed set: amendment 3's pilot), all 4 layers by default. A name whose folder is missing (e.g.
`organism-joint-s0`) is a one-line error naming the build command. They load through the LLaVA family
adapter like any local save_pretrained directory.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import KeyspaceError

from .registry import ModelSpec, register_model

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "organisms"
HISTORIES = ("text-first", "aligned", "frozen", "joint")  # harness.organisms.build.HISTORIES (not imported: no torch here)
SEEDS = (0, 1, 2, 3)  # build.Plan().seeds: the candidates amendment 3's gate draws from
BUILD = "python -m harness.organisms train"


def _spec(name: str, folders: tuple[str, ...]) -> ModelSpec:
    """The spec of the first of `folders` that exists under ROOT; a one-line error naming the build if none does."""
    for folder in folders:
        if (ROOT / folder).is_dir():
            return ModelSpec(name=name, family="llava", source=str(ROOT / folder), num_layers=4, default_layers=("all",))
    missing = ROOT / folders[0] if len(folders) == 1 else ROOT / f"{name.removeprefix('organism-')}-sK"
    raise KeyspaceError(f"--ks-models: {name} is not built (no {missing}); build it with `{BUILD}`")


def _register(name: str, folders: tuple[str, ...]) -> None:
    @register_model(name)
    def spec() -> ModelSpec:
        return _spec(name, folders)


for _history in HISTORIES:
    for _k in SEEDS:
        _register(f"organism-{_history}-s{_k}", (f"{_history}-s{_k}",))
    _register(f"organism-{_history}", tuple(f"{_history}-s{k}" for k in SEEDS))  # its lowest built seed
