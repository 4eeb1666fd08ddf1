"""Stored baselines: each triple's figures with tolerances, compared run after run.

`<dir>/<model>.json` holds, per triple ("L3-fixture"), each figure's stored value and tolerance.
A run compares every figure and reports drift beyond tolerance showing old and new; a missing
entry is written and reported as created (as pytest-regressions does); `--ks-update-baselines`
rewrites the entries of the triples it ran.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import harness
from harness.atomic import write_atomic
from harness.filelock import locked
from harness.results import TripleResult

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
class Drift:
    """The outcome of comparing one triple with its stored baseline."""

    status: str  # "ok", "drift", "created", "updated", or "other-config" (stored under other options: not compared)
    path: str  # the baseline file
    figures: dict = field(default_factory=dict)  # figure → {"old", "new", "tolerance", "ok"}

    @property
    def fails(self) -> bool:
        return self.status in ("drift", "created")

    def message(self) -> str:
        if self.status == "created":
            return f"baseline created: {self.path}; rerun to compare against it"
        bad = {k: v for k, v in self.figures.items() if not v["ok"]}
        return "baseline drift: " + "; ".join(
            f"{k} {v['old']:.6g} → {v['new']:.6g} (tolerance {v['tolerance']})" for k, v in bad.items()
        ) + f" [{self.path}; --ks-update-baselines rewrites it]"

    def as_dict(self) -> dict:
        return {"status": self.status, "path": self.path, "figures": self.figures}


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


def check_baseline(result: TripleResult, directory: Path, *, update: bool = False) -> Drift:
    """Compare `result` with its stored entry, creating (or with `update`, rewriting) the entry."""
    path = baseline_path(directory, result.model)
    with locked(path):
        data = json.loads(path.read_text()) if path.is_file() else {"model": result.model, "triples": {}}
        entry = data["triples"].get(entry_name(result))
        if entry is None or update:
            data["harness"] = harness.__version__
            data["triples"][entry_name(result)] = {"config_id": result.config_id, "figures": _figures(result)}
            data["triples"] = dict(sorted(data["triples"].items()))
            write_atomic(path, (json.dumps(data, indent=1, sort_keys=False) + "\n").encode())
            return Drift("updated" if entry is not None else "created", str(path))
    if entry["config_id"] != result.config_id:
        # Figures from other options (samples, seed, caps ...) are not comparable: say so, don't fail.
        return Drift("other-config", str(path))
    figures = {}
    for name, stored in entry["figures"].items():
        new = getattr(result, name)
        ok = _within(stored["value"], new, stored["rel"], stored["abs"])
        figures[name] = {"old": float(stored["value"]), "new": float(new), "tolerance": f"{stored['rel']:.0%} + {stored['abs']:g}", "ok": ok}
    return Drift("ok" if all(f["ok"] for f in figures.values()) else "drift", str(path), figures)
