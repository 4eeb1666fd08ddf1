"""Stored baselines: each triple's figures with tolerances, compared run after run.

`<dir>/<model>.json` holds, per triple ("L3-fixture"), the settings it was measured under and each
stored figure's value and tolerance (``FIGURES``: the verdict's outcome and bound, its ratio, MMD²
and p-value, the token counts, and the held-out tiers' headlines). A run compares every stored figure and
reports drift beyond tolerance showing old and new; `--ks-update-baselines` rewrites the entries
of the triples it ran (saying what it changed). A missing entry is written:

- by default (`--ks-baselines auto`) the committed `reports/baselines` is read, and a missing entry
  is created beside the results file (`<results>.baselines/<model>.json`, outside the tracked tree)
  with a note, not a failure: a model's first run passes or fails on its verdicts alone;
- when the run names its baselines (`--ks-baselines DIR`, a regression run such as the nightly
  profile), a missing entry is created in DIR and fails, as pytest-regressions does.

An entry stored under other settings (seed, samples, caps ...) is not compared: a named store fails
("not-comparable"), the default store says so in a note ("other-config"); both name the settings that
differ. A file that is not a baseline file, or holds another model's baselines, is a one-line error.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import harness
from harness.atomic import write_atomic
from harness.errors import KeyspaceError
from harness.filelock import locked
from harness.results.figures import Drift
from harness.results.records import TripleResult


def _outcome(r: TripleResult) -> str:
    """The verdict's outcome ("holds", "absent", "undecided: ..."); records without tiers: from the status."""
    t = r.tiers
    return t.verdict if t is not None else ("holds" if r.passed else ("absent" if r.status == "failed" else r.status))


def _tier(r: TripleResult, tier: str, key: str) -> float:
    t = r.tiers
    value = ((t.tiers.get(tier) or {}) if t is not None else {}).get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def _low(r: TripleResult) -> float:
    ci = r.ratio_interval
    return float(ci.low) if ci is not None else float("nan")


# figure → (how it is read from a result, relative tolerance, absolute tolerance). Counts and the verdict's
# outcome must match exactly; statistics may move within a few percent across torch versions and GPU kernels.
FIGURES: dict[str, tuple[Callable[[TripleResult], object], float, float]] = {
    "outcome": (_outcome, 0.0, 0.0),  # the verdict itself: holds, absent or undecided (and why)
    "n_image": (lambda r: r.n_image, 0.0, 0.0),
    "n_text": (lambda r: r.n_text, 0.0, 0.0),
    "mmd2": (lambda r: r.mmd2, 0.05, 1e-6),
    "ratio": (lambda r: r.ratio, 0.10, 1e-6),
    "ratio_low": (_low, 0.10, 1e-6),  # the verdict's lower bound L
    "p_value": (lambda r: r.p_value, 0.0, 0.01),
    "separability_auc": (lambda r: _tier(r, "separability", "cross"), 0.0, 0.02),
    "out_of_support_excess": (lambda r: _tier(r, "out of support", "excess"), 0.0, 0.03),
}
READ_OLD = {"passed": lambda r: r.passed}  # a figure that entries written before 2026-12-05 hold (compared as stored)


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


def _within(old, new, rel: float, abs_: float) -> bool:
    if isinstance(old, str) or isinstance(new, str) or isinstance(old, bool) or isinstance(new, bool):
        return old == new
    if isinstance(old, float) and isinstance(new, float) and math.isnan(old) and math.isnan(new):
        return True
    return abs(new - old) <= abs_ + rel * abs(old)


def _value(result: TripleResult, name: str):
    read = FIGURES[name][0] if name in FIGURES else READ_OLD.get(name)
    if read is None:
        raise KeyspaceError(f"baseline figure {name!r} is not one this harness stores ({', '.join(FIGURES)}); "
                            "--ks-update-baselines rewrites the entry")
    return read(result)


def _figures(result: TripleResult) -> dict:
    return {name: {"value": _value(result, name), "rel": rel, "abs": abs_} for name, (_, rel, abs_) in FIGURES.items()}


def _read(path: Path) -> dict:
    """The baseline file's content ({} when there is none); a file that is not one is a one-line error."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyspaceError(f"baseline file {path} is not readable JSON ({exc}); fix or delete it "
                            "(--ks-update-baselines rewrites its entries)") from None
    if not isinstance(data, dict) or not isinstance(data.get("triples", {}), dict):
        raise KeyspaceError(f"baseline file {path} is not a baseline file (want an object with \"model\" and "
                            "\"triples\"); fix or delete it")
    return data


def _entry(path: Path, data: dict, result: TripleResult) -> dict | None:
    """`result`'s entry in a baseline file's `data`, checked: another model's file or a damaged entry is an error."""
    if data.get("model", result.model) != result.model:
        raise KeyspaceError(f"baseline file {path} holds baselines of {data.get('model')!r}, not {result.model!r}; "
                            f"move it to {baseline_path(path.parent, str(data.get('model')))}")
    entry = data.get("triples", {}).get(entry_name(result))
    if entry is None:
        return None
    figures = entry.get("figures") if isinstance(entry, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("config_id"), str) or not isinstance(figures, dict) or not all(
            isinstance(f, dict) and {"value", "rel", "abs"} <= f.keys() for f in figures.values()):
        raise KeyspaceError(f"baseline file {path}: entry {entry_name(result)} is damaged (want config_id and figures "
                            "of value, rel, abs); --ks-update-baselines rewrites it")
    return entry


def _find(result: TripleResult, store: BaselineStore) -> tuple[Path, dict | None]:
    """The first file of the store holding `result`'s entry, and the entry; else where to create it."""
    for directory in store.search:
        path = baseline_path(directory, result.model)
        entry = _entry(path, _read(path), result)
        if entry is not None:
            return path, entry
    return baseline_path(store.own, result.model), None


def _compare(entry: dict, result: TripleResult) -> dict:
    figures = {}
    for name, stored in entry["figures"].items():
        new = _value(result, name)
        figures[name] = {"old": stored["value"], "new": new, "tolerance": f"{stored['rel']:.0%} + {stored['abs']:g}",
                         "ok": _within(stored["value"], new, stored["rel"], stored["abs"])}
    return figures


def _differing(stored: dict | None, settings: dict | None) -> str:
    """The settings that differ between a stored entry's and this run's ("seed 0 → 1"), or why it cannot say."""
    if not stored:
        return "its settings were not recorded (an entry written before 2026-12-05)"
    if not settings:
        return "this run's settings were not given"
    keys = sorted(k for k in stored.keys() | settings.keys() if stored.get(k) != settings.get(k))
    return ", ".join(f"{k} {stored.get(k, '–')} → {settings.get(k, '–')}" for k in keys) or "none of the recorded settings"


def _paired(settings: dict | None) -> str | None:
    """The other benchmarks the triple's by-benchmark splits were formed against (``extra["by_benchmark"]``: a
    per-triple setting outside the run's config id); None where none was, or where no settings were stored."""
    return (settings or {}).get("by_benchmark")


def _comparable(entry: dict, result: TripleResult, settings: dict | None) -> bool:
    """The entry was stored under the settings of this run's triple: its config id and its by-benchmark pairing."""
    return entry["config_id"] == result.config_id and _paired(entry.get("settings")) == _paired(settings)


def check_baseline(result: TripleResult, store: BaselineStore | Path, *, update: bool = False,
                   settings: dict | None = None) -> Drift:
    """Compare `result` with its stored entry, creating (or with `update`, rewriting) the entry; `settings`:
    what shaped the figures (``RunConfig.shaping``), stored with a new entry and named when an entry's differ.

    A bare directory is a named store: a missing entry is created there and fails; an entry of other settings
    fails there too (nothing would be compared). A damaged file is a KeyspaceError naming it."""
    store = store if isinstance(store, BaselineStore) else BaselineStore(own=Path(store))
    path, entry = _find(result, store)
    if entry is None or update:
        same = entry is not None and _comparable(entry, result, settings)
        changed = _compare(entry, result) if same else {}
        with locked(path):
            data = _read(path) or {"model": result.model, "triples": {}}
            data["harness"] = harness.__version__
            data["triples"][entry_name(result)] = {"config_id": result.config_id, "settings": settings or {},
                                                  "figures": _figures(result)}
            data["triples"] = dict(sorted(data["triples"].items()))
            write_atomic(path, (json.dumps(data, indent=1, sort_keys=False) + "\n").encode())
        if entry is not None:
            note = "" if same else f"was stored under other settings ({_differing(entry.get('settings'), settings)})"
            return Drift("updated", str(path), changed, note=note)
        return Drift("created" if store.strict else "new", str(path))
    if not _comparable(entry, result, settings):
        # Figures from other options (samples, seed, caps ...) are not comparable: say which, never compare.
        note = f"stored under other settings ({_differing(entry.get('settings'), settings)})"
        return Drift("not-comparable" if store.strict else "other-config", str(path), note=note)
    figures = _compare(entry, result)
    return Drift("ok" if all(f["ok"] for f in figures.values()) else "drift", str(path), figures)
