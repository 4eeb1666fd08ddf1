"""`python -m harness report`: re-render the HTML report from a results file, without any model;
several files (the shards of one run) or a folder of them are merged into one report.

The run metadata is read from the results' sidecar (`meta.meta_path`) when present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from harness.errors import KeyspaceError
from harness.intervention.baselines import known_outcomes
from harness.intervention.results import read_intervention_files
from harness.results.records import TripleResult, parse_lines
from harness.results.baselines import BaselineStore

from .html import render_report
from .verdicts import console_verdicts
from harness.results.merge import check_one_configuration, jsonl_in, merge_files, results_files
from harness.results.meta import load_run_info, meta_path
from harness.run.paths import check_distinct

HINT = "give the .jsonl a keyspace run wrote (by default reports/results.jsonl)"


def load_results(path: Path) -> tuple[list[TripleResult], list[str]]:
    """The results in `path` (later lines win per triple) and one note per unusable line, by line number.

    A torn last line is normal after a crash and a line may have the wrong shape, so unusable lines
    are named, not fatal; a file with no usable result at all is a KeyspaceError.
    """
    if not path.exists():
        raise KeyspaceError(f"results file not found: {path}; {HINT}")
    if not path.is_file():
        raise KeyspaceError(f"results path is not a file: {path}; {HINT}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise KeyspaceError(f"results file {path} is not UTF-8 text; {HINT}") from None
    results, problems = parse_lines(lines)
    if not results:
        raise KeyspaceError(f"no results in {path} ({len(problems)} non-empty lines, none a TripleResult: "
                            f"{problems[0] if problems else 'empty'}); {HINT}")
    return results, [f"skipped {path}, {p}" for p in problems]


def report_command(results: Path | Sequence[Path], output: Path | None = None, *, meta: Path | None = None,
                   tsne_cap: int = 600, interventions: Sequence[Path] = (),
                   baselines: Path | None = None) -> tuple[Path, list[TripleResult], list[str]]:
    """Render the report for `results` (one file; or several files or folders, merged by
    harness.results.merge), with a section for the intervention records in `interventions` (files, or
    folders of *.jsonl), a failure stored in `baselines` reading as a known outcome; returns its path,
    the results and notes for the user."""
    named = [results] if isinstance(results, Path) else list(results)
    files = results_files(named)
    if meta is not None and not meta.is_file():
        raise KeyspaceError(f"run metadata file not found: {meta}; give the .meta.json written beside the results")
    if len(files) > 1 or named[0].is_dir():
        loaded, info, notes = merge_files(files, load_results)
        info = load_run_info(meta) if meta is not None else info
        meta_note = "" if info else "No run metadata: none of the results files has its .meta.json beside it."
        default_out = (named[0] if named[0].is_dir() else files[0].parent) / "report.html"
    else:
        loaded, info, notes, meta_note = _load_one(files[0], meta)
        default_out = files[0].with_suffix(".html")
    records = _interventions(interventions)
    out = output if output is not None else default_out
    inputs = [*files, *(meta_path(f) for f in files), *([meta] if meta else []), *interventions]
    check_distinct({"-o": out, **{f"the input {f}": f for f in inputs if f.is_file()}})
    try:
        path = render_report(loaded, out, run_info=info, meta_note=meta_note, tsne_cap=tsne_cap, interventions=records,
                             known=_known(records, baselines))
    except OSError as exc:
        raise KeyspaceError(f"cannot write the report to {out}: {exc.strerror or exc}; give a writable -o path") from None
    return path, loaded, notes


def _load_one(results: Path, meta: Path | None) -> tuple[list[TripleResult], dict, list[str], str]:
    loaded, notes = load_results(results)
    check_one_configuration([(results, loaded)])  # lines of two configurations in one file, as in two files
    sidecar = meta if meta is not None else meta_path(results)
    info, meta_note = {}, ""
    if sidecar.is_file():
        info = load_run_info(sidecar)
    else:
        meta_note = f"No run metadata: {sidecar} was not found (a pytest session writes it beside its results)."
        notes.append(meta_note)
    return loaded, info, notes, meta_note


def _interventions(named: Sequence[Path]) -> list:
    """The intervention records in the files (or folders of *.jsonl) named; later records win per key."""
    for path in named:
        if not path.exists():
            raise KeyspaceError(f"intervention records not found: {path}; give the .jsonl suites/test_intervention.py "
                                "wrote (by default interventions.jsonl beside the results)")
    records = read_intervention_files(f for path in named for f in (jsonl_in(path) if path.is_dir() else [path]))
    if named and not records:
        raise KeyspaceError(f"no intervention records in {', '.join(map(str, named))}; give the .jsonl "
                            "suites/test_intervention.py wrote (by default interventions.jsonl beside the results)")
    return records


def _known(records: Sequence, baselines: Path | None) -> dict:
    """harness.intervention.baselines.known_outcomes of `records` against the stored baselines in `baselines`."""
    if baselines is None or not records:
        return {}
    return known_outcomes(records, BaselineStore(own=baselines, strict=False))


def verdict_lines(results: Sequence[TripleResult], interventions: Sequence[Path] = (),
                  baselines: Path | None = None) -> list[str]:
    """The verdict sentences the console ends with: the triples', then the interventions'."""
    records = _interventions(interventions)
    return console_verdicts(results, records, _known(records, baselines))
