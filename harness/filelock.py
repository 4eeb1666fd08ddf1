"""Advisory locks that leave no files behind.

- ``locked(path)``: an exclusive lock for one short write to `path` (an append, or a read-modify-replace
  of a file written atomically). It is taken on `path`'s folder, not on a side file, so no `.lock`
  file is ever left beside the results, and it still serialises writers of a file that is replaced by
  a rename (a lock on the file itself would stay on the old inode). Writes to files of one folder
  wait for each other; each is one fsynced line or one small JSON file.
- ``hold(path)``: a lock held for a whole run on the file itself, taken without waiting: a second live
  run on the same file is told so instead of deleting what the first one writes. The kernel drops it
  when the process ends, however it ends, so a killed run never blocks the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def locked(path: Path):
    folder = Path(path).parent
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases its lock


class HeldElsewhere(Exception):
    """Another live process holds the file (``hold``)."""


def hold(path: Path) -> IO:
    """Open `path` for appending (created when missing) and hold an exclusive lock on it until the returned
    handle is closed; `HeldElsewhere` at once when another process holds it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a", encoding="utf-8")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise HeldElsewhere(str(path)) from None
    return fh
