"""The one JSON-lines store a run appends its records to: the triples' results file, and the same for
the intervention records (any record with a ``to_json()``).

- One live run per file. The run's controlling process (not a parallel worker) holds the file for the
  whole session (``filelock.hold``), claimed before anything runs; a second live run given the same file
  is a one-line error that names the option to change, and it deletes nothing. The hold dies with the
  process, so a killed run never blocks the next one.
- A new session starts a new file at its first record (unless resuming): the held file is emptied in
  place, never before a record is ready, so a run that fails before its first record keeps the old one.
- Each process appends to its own file: the run's, or a part file per parallel (xdist) worker, which
  the controller folds into the run's file at the end (``records.merge_parts``). Every append is one
  fsynced line under ``filelock.locked``; a torn last line is moved aside first (``records.repair_tail``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.errors import KeyspaceError
from harness.filelock import HeldElsewhere, hold

from .records import append_result, part_path


@dataclass
class Store:
    path: Path  # the run's file
    option: str  # the option that names it, for messages (e.g. "--ks-results")
    worker: str | None = None  # pytest-xdist worker id of this process; None in the controlling process
    resume: bool = False  # keep what the file holds (--ks-resume) instead of starting it anew
    _held: IO | None = None
    _started: bool = False

    @property
    def own_path(self) -> Path:
        """The file this process appends to: the run's, or its worker's part file."""
        return part_path(self.path, self.worker) if self.worker else self.path

    def claim(self) -> None:
        """Hold the run's file for this run (the controlling process only; a worker's run holds it already).
        A file another live run holds is a one-line error."""
        if self.worker is not None or self._held is not None:
            return
        try:
            self._held = hold(self.path)
        except HeldElsewhere:
            raise KeyspaceError(
                f"{self.option} {self.path}: another live run is writing this file; wait for it to end, or give this "
                f"run its own {self.option} (nothing was deleted)"
            ) from None

    def append(self, record) -> str | None:
        """Append `record` (one JSON line) to this process's file, starting the file anew at the session's
        first record unless resuming; returns the line saying a torn last line was moved aside, else None."""
        replaced = None
        if not self._started:
            self.claim()
            self._started = True
            if not self.resume:
                if self._held is not None:
                    earlier = _records(self.path)
                    self._held.truncate(0)  # in place: the hold stays on this very file
                    if earlier:  # said, so a run never drops earlier results unnoticed
                        replaced = (f"{self.option} {self.path}: replaced {earlier} record(s) of an earlier run "
                                    "(--ks-resume keeps and extends them)")
                else:
                    self.own_path.unlink(missing_ok=True)  # a worker's part file of an earlier session
        torn = append_result(self.own_path, record)
        return "; ".join(n for n in (replaced, torn) if n) or None

    def release(self) -> None:
        """Let go of the run's file (at the end of the session; a process's end does it too)."""
        if self._held is not None:
            self._held.close()
            self._held = None


def _records(path) -> int:
    """Lines holding a record in the results file at `path` (0 when there is none)."""
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return 0
