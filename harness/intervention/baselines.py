"""Stored outcomes of the intervention tests, so a known outcome reads as known run after run.

A check that fails on a model is a finding about that model (on a trained organism, a random
direction of the mean shift's norm may move attention as much as the mean shift does), not a defect of
the harness; the triple suite treats a known absent finding the same way (harness.results.baselines). Each
model's outcomes sit beside its triple baselines, in `<baselines dir>/interventions/<model>.json`,
keyed "L2-world-random": {"status", "failed_checks"}.

- A failed test whose stored entry names the same failed checks is expected: the suite shows it as
  xfail with the stored outcome; any other failure fails. A pass is a pass whatever is stored.
- `--ks-update-baselines` writes the outcome of every intervention test that ran (the directory the
  entry was found in, else the committed one under `--ks-baselines auto`, else the named one).
- `--ks-baselines none`: no outcome is read or written.
"""

from __future__ import annotations

import json
from pathlib import Path

import harness
from harness.atomic import write_atomic
from harness.results.baselines import BaselineStore, baseline_path
from harness.filelock import locked

from .results import InterventionResult

SUBDIR = "interventions"


def entry_name(r: InterventionResult) -> str:
    return f"L{r.layer}-{r.benchmark}-{r.intervention}"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def stored_outcome(r: InterventionResult, store: BaselineStore | None) -> dict | None:
    """The stored outcome of `r`'s test, or None."""
    for directory in store.search if store is not None else ():
        entry = _read(baseline_path(directory / SUBDIR, r.model)).get(entry_name(r))
        if entry is not None:
            return entry
    return None


def expected_failure(r: InterventionResult, store: BaselineStore | None) -> str | None:
    """Why a failed `r` is expected (the stored outcome failed the same checks), else None."""
    if r.status != "failed":
        return None
    entry = stored_outcome(r, store)
    if entry is None or entry.get("status") != "failed" or sorted(entry.get("failed_checks", [])) != sorted(r.failed_checks):
        return None
    return f"as in the stored baseline ({', '.join(r.failed_checks)} failed there too): {r.message}"


def known_outcomes(records, store: BaselineStore | None) -> dict[tuple, str]:
    """Record key → why its failure is the stored, expected outcome, for each such record (for the report)."""
    return {r.key: why for r in records if (why := expected_failure(r, store))}


def write_outcome(r: InterventionResult, store: BaselineStore) -> Path:
    """Store `r`'s outcome (see the module doc for where)."""
    found = next((d for d in store.search if entry_name(r) in _read(baseline_path(d / SUBDIR, r.model))), None)
    directory = found or store.stored or store.own
    path = baseline_path(directory / SUBDIR, r.model)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        data = _read(path)
        data[entry_name(r)] = {"status": r.status, "failed_checks": sorted(r.failed_checks),
                               "harness": harness.__version__}
        write_atomic(path, (json.dumps(dict(sorted(data.items())), indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    return path
