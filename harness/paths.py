"""Output paths checked before any model loads, so a bad path costs nothing."""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import KeyspaceError


def check_writable(path: Path, option: str) -> None:
    """One-line error unless `path` (a file to be written) can be created or replaced."""
    if path.is_dir():
        raise KeyspaceError(f"{option}: {path} is a directory; give a file path such as {path / 'report.html'}")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise KeyspaceError(f"{option}: cannot write {path} ({parent} is not writable); give a writable path")
