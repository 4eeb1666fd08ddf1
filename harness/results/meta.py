"""Run metadata saved beside the results, so a report can be re-rendered later without a model.

A results file `reports/results.jsonl` gets its metadata in `reports/results.meta.json`: one JSON
object (versions, device, git commit, seed, options, sample ids digest per benchmark) as built by
`harness.run.runinfo.run_info`.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import KeyspaceError


def meta_path(results: Path) -> Path:
    """Where the run metadata of `results` lives: same folder, same stem, `.meta.json`."""
    results = Path(results)
    return results.with_name(results.stem + ".meta.json")


def write_run_info(results: Path, info: dict) -> Path:
    """Write `info` next to `results` (see `meta_path`) and return its path."""
    path = meta_path(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return path


def read_run_info(results: Path) -> dict:
    """The metadata saved beside `results`; {} when none was saved. A damaged file is an error."""
    path = meta_path(results)
    if not path.is_file():
        return {}
    return load_run_info(path)


def load_run_info(path: Path) -> dict:
    """Read one run-metadata JSON file; anything but a JSON object is a one-line KeyspaceError."""
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyspaceError(f"cannot read run metadata {path}: {exc.__class__.__name__}; give a readable .meta.json file") from None
    except json.JSONDecodeError as exc:
        raise KeyspaceError(f"run metadata {path} is not JSON (line {exc.lineno}: {exc.msg}); expected one JSON object") from None
    if not isinstance(info, dict):
        raise KeyspaceError(f"run metadata {path} holds a {type(info).__name__}; expected one JSON object")
    return info
