"""Several results files (the shards of one run, or a folder of them) merged into one set of results.

Only files of one configuration merge: every result carries the digest of the options that shape
its figures (`TripleResult.config_id`), and two digests in one merge are a one-line error, since the
figures of different options are not comparable side by side. Where a triple appears in several
files, the last file named wins (as later lines win within one file), and a note says so. The run
metadata is the first file's, with every file's samples, and a note lists the shards present and
those missing when the files were written with `--ks-shard K/N`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

from harness.errors import KeyspaceError
from harness.results.records import TripleResult

from .meta import read_run_info

Loader = Callable[[Path], tuple[list[TripleResult], list[str]]]  # path → results, one note per unreadable line


def jsonl_in(folder: Path) -> list[Path]:
    """The *.jsonl files of `folder` in name order or, where it holds none, those of its subfolders (one folder
    per shard's outputs, as CI artifacts and array tasks leave them)."""
    return sorted(folder.glob("*.jsonl")) or sorted(folder.glob("*/*.jsonl"))


def results_files(paths: Sequence[Path]) -> list[Path]:
    """The results files named: each file as given, each folder as its `jsonl_in` files, less the intervention
    records a run writes beside its results (read with `--interventions`)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [f for f in jsonl_in(path) if not holds_interventions(f)]
            if not found:
                raise KeyspaceError(f"no results files (*.jsonl) in folder {path} or its subfolders; give the folder "
                                    "the shards' results were copied to")
            files += found
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def holds_interventions(path: Path) -> bool:
    """Whether the first line of `path` is an intervention record (`"record": "intervention"`,
    harness.intervention.results), not a triple's result."""
    try:
        with path.open(encoding="utf-8") as fh:
            first = next((line for line in fh if line.strip()), "")
        data = json.loads(first) if first else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # not ours to judge here: the results loader names what is wrong with it
    return isinstance(data, dict) and data.get("record") == "intervention"


def merge_files(files: Sequence[Path], load: Loader) -> tuple[list[TripleResult], dict, list[str]]:
    """Results of all `files` (later files win per triple), their merged run metadata, and notes."""
    loaded = []
    notes = []
    for path in files:
        if path.is_file() and not path.read_bytes().strip():  # a shard that ran nothing or died before its first triple
            notes.append(f"{path} holds no results")
            continue
        results, problems = load(path)
        notes.extend(problems)
        loaded.append((path, results))
    if not loaded:
        raise KeyspaceError(f"no results in any of {', '.join(str(p) for p in files)}; give the files the shards wrote")
    check_one_configuration(loaded)
    merged: dict[tuple, TripleResult] = {}
    repeated = 0
    for _, results in loaded:
        for r in results:
            repeated += r.key in merged
            merged[r.key] = r
    if repeated:
        notes.append(f"{repeated} triple(s) appear in more than one file; the figures of the last file named are kept")
    infos = [(path, read_run_info(path)) for path in files]
    info, info_notes = merge_run_info(infos)
    return list(merged.values()), info, notes + info_notes


def check_one_configuration(loaded: list[tuple[Path, list[TripleResult]]]) -> None:
    """One-line error when the results (of one file or several) carry more than one config id."""
    ids: dict[str, list[str]] = {}
    for path, results in loaded:
        for cid in sorted({r.config_id for r in results}):
            ids.setdefault(cid, []).append(path.name)
    if len(ids) > 1:
        listed = "; ".join(f"{cid or '(none)'}: {', '.join(names)}" for cid, names in ids.items())
        raise KeyspaceError(
            f"cannot merge results of different configurations ({listed}); merge only files one set of options wrote, "
            "such as the shards of one run"
        )


def merge_run_info(infos: Sequence[tuple[Path, dict]]) -> tuple[dict, list[str]]:
    """One run-metadata dict from each file's: the first file's, every file's samples, and notes on
    shards and on fields (versions, device, commit) where the files differ."""
    present = [(path, info) for path, info in infos if info]
    notes = []
    missing = [path.name for path, info in infos if not info]
    if missing:
        notes.append(f"no run metadata beside {', '.join(missing)}")
    if not present:
        return {}, notes
    merged = dict(present[0][1])
    samples: dict = {}
    for _, info in present:
        samples.update(info.get("samples") or {})
    merged["samples"] = samples
    for field in ("harness", "torch", "transformers", "device", "dtype", "git_commit"):
        values = list(dict.fromkeys(str(info.get(field)) for _, info in present))
        if len(values) > 1:
            merged[field] = " | ".join(values)
            notes.append(f"the files differ in {field}: {', '.join(values)}")
    finished = sorted({str(info["finished"]) for _, info in present if info.get("finished")})
    if len(finished) > 1:
        merged["finished"] = f"{finished[0]} to {finished[-1]} ({len(finished)} files)"
    shards = [str((info.get("options") or {}).get("shard", "none")) for _, info in present]
    shard_note = shards_note(shards)
    if shard_note:
        notes.append(shard_note)
    if isinstance(merged.get("options"), dict):
        merged["options"] = {**merged["options"], "shard": ", ".join(shards)}
    return merged, notes


def shards_note(shards: Sequence[str]) -> str:
    """Which shards of K/N are present and which are missing ('' when no file was a shard)."""
    parts = [s.split("/") for s in shards if "/" in s]
    if not parts:
        return ""
    counts = sorted({int(n) for _, n in parts})
    if len(counts) > 1:
        return f"the files are shards of different splits ({', '.join(shards)}); each split covers the run once"
    count = counts[0]
    have = sorted({int(k) for k, _ in parts})
    lacking = [k for k in range(1, count + 1) if k not in have]
    if lacking:
        return f"shards {', '.join(map(str, have))} of {count} present; missing {', '.join(map(str, lacking))}: the report covers part of the run"
    return f"all {count} shards present"
