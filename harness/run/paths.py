"""Output paths checked before any model loads, so a bad path costs nothing."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harness.errors import KeyspaceError
from harness.results.meta import meta_path


def check_writable(path: Path, option: str) -> None:
    """One-line error unless `path` (a file to be written) can be created or replaced."""
    if path.is_dir():
        raise KeyspaceError(f"{option}: {path} is a directory; give a file path such as {path / 'report.html'}")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise KeyspaceError(f"{option}: cannot write {path} ({parent} is not writable); give a writable path")


def check_directory(path: Path, option: str) -> None:
    """One-line error unless `path` is a directory this process can write in, or one it could make.

    Tried for real, in `path` or its nearest existing ancestor (a probe file written and removed;
    nothing is created): permission bits say nothing for root, nor for /proc or a read-only mount."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise KeyspaceError(f"{option}: {existing} is a file, not a directory; give a directory path")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".ks-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        where = path if existing == path else f"{path} (in {existing})"
        raise KeyspaceError(
            f"{option}: cannot write in {where}: {exc.strerror or type(exc).__name__}; give a writable directory"
        ) from None


def check_distinct(paths: dict[str, Path]) -> None:
    """One-line error when two of the files `paths` names (what -> path) are one file: the one
    written last would replace the other (e.g. the HTML report over the results)."""
    seen: dict[Path, str] = {}
    for what, path in paths.items():
        real = Path(os.path.realpath(path))
        if real in seen:
            raise KeyspaceError(f"{what} and {seen[real]} are the same file ({path}): one would overwrite the "
                                "other; give each its own path")
        seen[real] = what


def check_outputs(cfg, icfg=None) -> None:
    """Every output path of a RunConfig (and of the intervention options), checked before any model
    loads: each writable, and no two of them, nor an output and the run's inputs, one file."""
    for path, option in ((cfg.results, "--ks-results"), (cfg.report, "--ks-report")):  # first: a directory has no sibling files
        check_writable(path, option)
        check_directory(path.parent, option)
    files = {"--ks-results": cfg.results, "--ks-report": cfg.report, "the run metadata beside --ks-results": meta_path(cfg.results)}
    if icfg is not None:
        option = "--ks-intervene-results" + (" (auto: interventions.jsonl beside --ks-results)" if icfg.results_auto else "")
        files |= {option: icfg.results, f"the interventions page beside {option}": icfg.results.with_suffix(".html")}
    check_distinct(files)
    if cfg.baselines is not None:
        option = "--ks-baselines" + ("" if cfg.baselines.strict else " (auto: new baselines go beside --ks-results)")
        check_directory(cfg.baselines.own, option)
    if cfg.cache is not None and not (cfg.cache.is_dir() and os.access(cfg.cache, os.R_OK | os.X_OK)):
        check_directory(cfg.cache, "--ks-cache")  # an existing, readable cache may be read-only (a shared mount)


def check_intervention_outputs(icfg) -> None:
    """The intervention records file (--ks-intervene-results) and its page beside it, before anything runs."""
    for path in (icfg.results, icfg.results.with_suffix(".html")):
        check_writable(path, "--ks-intervene-results")
        check_directory(path.parent, "--ks-intervene-results")
