"""Getting benchmark rows the way users of the hub datasets do, and what a loader reports back.

A hub benchmark is read with `datasets.load_dataset(repo, config, split=...)`, so the hub cache
and `HF_HUB_OFFLINE` behave as users expect. A local copy (`--ks-data-dir` or env `KS_DATA_DIR`)
is a directory laid out like the hub repository, read with `load_dataset("parquet", ...)`:

    <dir>/MMMU/MMMU/Art/validation-00000-of-00001.parquet     (or <dir>/Art/... for a bare snapshot)
    <dir>/lmms-lab/MMBench/cn/dev-00000-of-00001.parquet       (or <dir>/cn/...)

`hf download MMMU/MMMU --repo-type dataset --local-dir <dir>/MMMU/MMMU` makes one.
"""

from __future__ import annotations

import io
import logging
import os
from contextlib import contextmanager
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from harness.errors import KeyspaceError
from harness.hub_access import hub_or_cache, hub_unreachable

OPEN_QUESTIONS = ("keep", "skip")  # --ks-open-questions
DATA_DIR_ENV = "KS_DATA_DIR"


@dataclass(frozen=True)
class LoadOptions:
    """How a loader reads its rows; the defaults suit every benchmark."""

    data_dir: Path | None = None  # local copy laid out like the hub; None: env KS_DATA_DIR, else the hub (cache)
    open_questions: str = "keep"  # MMMU's open (non-multiple-choice) questions: keep or skip

    def __post_init__(self) -> None:
        if self.open_questions not in OPEN_QUESTIONS:
            raise KeyspaceError(
                f"--ks-open-questions: {self.open_questions!r} is not a policy; use {' or '.join(OPEN_QUESTIONS)}"
            )

    @property
    def local_root(self) -> Path | None:
        if self.data_dir is not None:
            return Path(self.data_dir).expanduser()
        env = os.environ.get(DATA_DIR_ENV, "").strip()
        return Path(env).expanduser() if env else None


@dataclass
class LoadReport:
    """What a loader left out and why: rows skipped per reason (counts of dataset rows)."""

    skipped: Counter = field(default_factory=Counter)  # reason -> rows
    examples: dict[str, str] = field(default_factory=dict)  # reason -> the first row id skipped for it

    def skip(self, reason: str, row_id: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, row_id)

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def note(self) -> str | None:
        """One line for the run's notes, or None when nothing was skipped."""
        if not self.skipped:
            return None
        parts = [f"{n} {reason} (e.g. {self.examples[reason]})" for reason, n in sorted(self.skipped.items())]
        return f"skipped {self.total_skipped} row(s): " + "; ".join(parts)

    def to_dict(self) -> dict:
        return {"skipped": dict(self.skipped), "examples": dict(self.examples)}


def load_rows(repo: str, config: str, split: str, options: LoadOptions, columns: tuple[str, ...] = ()) -> Any:
    """The rows of one hub config and split as a `datasets.Dataset`, images left undecoded.

    Images come back as `{"bytes": ..., "path": ...}` so that one unreadable image costs one row
    (see `decode_image`), not the whole load. `columns` are the ones the loader reads without a
    default: a file without one of them (another dataset, another version's schema) is a one-line
    error naming the file and the missing columns.
    """
    import datasets

    root = options.local_root
    try:
        with _quiet_datasets():  # its own log of a failure would repeat, in many lines, the one line raised below
            ds = _load(datasets, repo, config, split, root)
    except KeyspaceError:
        raise
    except Exception as exc:  # datasets raises many kinds (offline, not found, unreadable parquet): one line each
        raise KeyspaceError(load_failure(repo, config, split, root, exc)) from None
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise KeyspaceError(schema_failure(repo, config, split, root, missing, ds.column_names))
    for name, feature in ds.features.items():
        if isinstance(feature, datasets.Image) and feature.decode:
            ds = ds.cast_column(name, datasets.Image(decode=False))
    return ds


@contextmanager
def _quiet_datasets():
    logger = logging.getLogger("datasets")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _load(datasets, repo: str, config: str, split: str, root: Path | None):
    if root is not None:
        files = local_files(root, repo, config, split)
        return datasets.load_dataset("parquet", data_files={split: [str(f) for f in files]}, split=split)
    with hub_or_cache():  # no hub: the cached copy, or the one-line error at once (not after 23 s of retries)
        return datasets.load_dataset(repo, config, split=split)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0].strip()[:200]}" if text else type(exc).__name__


def load_failure(repo: str, config: str, split: str, root: Path | None, exc: BaseException) -> str:
    """One line saying why a benchmark's rows did not load and what would load them."""
    download = f"hf download {repo} --repo-type dataset"
    if root is not None:
        return (f"cannot read the local copy of {repo} ({config}, {split}) under {root}: {_first_line(exc)}; "
                f"replace the unreadable parquet file(s) with a fresh `{download} --local-dir {root / repo}`")
    offline = hub_unreachable()
    return (f"cannot load the hub dataset {repo} ({config}, {split}){f' offline ({offline})' if offline else ''}: "
            f"{_first_line(exc)}; pre-download it with `{download}` where the hub is reachable, "
            f"or point --ks-data-dir (env {DATA_DIR_ENV}) at a local copy laid out like the hub repository")


def schema_failure(repo: str, config: str, split: str, root: Path | None, missing: list[str], found: list[str]) -> str:
    """One line naming the file(s) whose columns are not the benchmark's, and which columns are missing."""
    if root is not None:
        where = ", ".join(str(f) for f in local_files(root, repo, config, split))
        fix = f"replace it with a fresh `hf download {repo} --repo-type dataset --local-dir {root / repo}`"
    else:
        where = f"the hub dataset {repo} ({config}, {split})"
        fix = f"re-download it with `hf download {repo} --repo-type dataset`"
    shown = ", ".join(found[:12]) + (", ..." if len(found) > 12 else "")
    return (f"{where} is not {repo}'s {split} split: it has no column {', '.join(repr(c) for c in missing)} "
            f"(its columns: {shown or 'none'}); {fix}")


def local_files(root: Path, repo: str, config: str, split: str) -> list[Path]:
    """The parquet shards of `config`/`split` under `root` (repo-nested first, then a bare snapshot)."""
    candidates = [root / repo / config, root / config]
    for folder in candidates:
        files = sorted(folder.glob(f"{split}-*.parquet"))
        if files:
            return files
    raise KeyspaceError(
        f"no {split}-*.parquet under {candidates[0]} (nor {candidates[1]}); lay the local copy out like the hub, "
        f"e.g. `hf download {repo} --repo-type dataset --local-dir {root / repo}`"
    )


def decode_image(value: Any) -> Image.Image | None:
    """An RGB image from a hub image cell (`{"bytes", "path"}`, a PIL image), or None if missing or unreadable."""
    if value is None:
        return None
    if isinstance(value, Image.Image):
        return value.convert("RGB")
    data, path = value.get("bytes"), value.get("path")
    try:
        if data:
            with Image.open(io.BytesIO(data)) as img:
                return img.convert("RGB")
        if path and Path(path).is_file():
            with Image.open(path) as img:
                return img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # PIL's UnidentifiedImageError is an OSError; truncated data raises OSError too
    return None


def is_missing(value: Any) -> bool:
    """True for the ways the hub datasets spell an absent text cell: None, NaN, "nan", "" (MMBench's missing options)."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    return str(value).strip().lower() in ("", "nan")
