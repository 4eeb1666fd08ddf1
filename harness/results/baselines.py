"""Stored baselines: each triple's figures with tolerances, compared run after run.

`<dir>/<model>.json` holds, per triple ("L3-fixture"), each figure's stored value and tolerance.
A run compares every figure and reports drift beyond tolerance showing old and new;
`--ks-update-baselines` rewrites the entries of the triples it ran. A missing entry is written:

- by default (`--ks-baselines auto`) the committed `reports/baselines` is read, and a missing entry
  is created beside the results file (`<results>.baselines/<model>.json`, outside the tracked tree)
  with a note, not a failure: a model's first run passes or fails on its verdicts alone;
- when the run names its baselines (`--ks-baselines DIR`, a regression run such as the nightly
  profile), a missing entry is created in DIR and fails, as pytest-regressions does.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import harness
from harness.atomic import write_atomic
from harness.filelock import locked
from harness.results.figures import Drift
from harness.results.records import TripleResult

# figure → (relative tolerance, absolute tolerance). Counts must match exactly; statistics may move
# within a few percent across torch versions and GPU kernels.
TOLERANCES: dict[str, tuple[float, float]] = {
    "n_image": (0.0, 0.0),
    "n_text": (0.0, 0.0),
    "mmd2": (0.05, 1e-6),
    "ratio": (0.10, 1e-6),
    "p_value": (0.0, 0.01),
    "passed": (0.0, 0.0),  # the verdict itself: a change either way is drift
}


@dataclass(frozen=True)
class BaselineStore:
    """Where baselines are read and where entries a run creates go."""

    own: Path  # where missing entries are created (and updated ones rewritten when not in `stored`)
    stored: Path | None = None  # committed baselines, searched first; None: only `own`
    strict: bool = True  # the run named its store: a missing entry fails (as pytest-regressions does)

    @property
    def search(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(d for d in (self.stored, self.own) if d is not None))


def default_store(rootdir: Path, results: Path) -> BaselineStore:
    """`--ks-baselines auto`: the committed reports/baselines, new entries beside the results file."""
    return BaselineStore(own=results.parent / (results.name + ".baselines"), stored=rootdir / "reports" / "baselines",
                         strict=False)


def baseline_path(directory: Path, model: str) -> Path:
    return directory / (re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") + ".json")


def entry_name(result: TripleResult) -> str:
    return f"L{result.layer}-{result.benchmark}"


def _within(old: float, new: float, rel: float, abs_: float) -> bool:
    if isinstance(old, float) and isinstance(new, float) and math.isnan(old) and math.isnan(new):
        return True
    return abs(new - old) <= abs_ + rel * abs(old)


def _figures(result: TripleResult) -> dict:
    return {name: {"value": getattr(result, name), "rel": rel, "abs": abs_} for name, (rel, abs_) in TOLERANCES.items()}


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _find(result: TripleResult, store: BaselineStore) -> tuple[Path, dict | None]:
    """The first file of the store holding `result`'s entry, and the entry; else where to create it."""
    for directory in store.search:
        path = baseline_path(directory, result.model)
        entry = _read(path).get("triples", {}).get(entry_name(result))
        if entry is not None:
            return path, entry
    return baseline_path(store.own, result.model), None


def check_baseline(result: TripleResult, store: BaselineStore | Path, *, update: bool = False) -> Drift:
    """Compare `result` with its stored entry, creating (or with `update`, rewriting) the entry.

    A bare directory is a named store: a missing entry is created there and fails."""
    store = store if isinstance(store, BaselineStore) else BaselineStore(own=Path(store))
    path, entry = _find(result, store)
    if entry is None or update:
        with locked(path):
            data = _read(path) or {"model": result.model, "triples": {}}
            data["harness"] = harness.__version__
            data["triples"][entry_name(result)] = {"config_id": result.config_id, "figures": _figures(result)}
            data["triples"] = dict(sorted(data["triples"].items()))
            write_atomic(path, (json.dumps(data, indent=1, sort_keys=False) + "\n").encode())
        if entry is not None:
            return Drift("updated", str(path))
        return Drift("created" if store.strict else "new", str(path))
    if entry["config_id"] != result.config_id:
        # Figures from other options (samples, seed, caps ...) are not comparable: say so, don't fail.
        return Drift("other-config", str(path))
    figures = {}
    for name, stored in entry["figures"].items():
        new = getattr(result, name)
        ok = _within(stored["value"], new, stored["rel"], stored["abs"])
        figures[name] = {"old": float(stored["value"]), "new": float(new), "tolerance": f"{stored['rel']:.0%} + {stored['abs']:g}", "ok": ok}
    return Drift("ok" if all(f["ok"] for f in figures.values()) else "drift", str(path), figures)
