"""The one JSON-lines store (harness.results.store): one live run per file, nothing deleted by a second
run, a killed run never blocking the next, no lock files left behind, concurrent appends all kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import KeyspaceError
from harness.results.records import part_path
from harness.results.store import Store


@dataclass(frozen=True)
class Line:
    n: int

    def to_json(self) -> str:
        return json.dumps({"n": self.n})


def _lines(path: Path) -> list[int]:
    return [json.loads(x)["n"] for x in path.read_text().splitlines()]


def test_a_second_live_run_on_one_file_is_one_line_and_deletes_nothing(tmp_path):
    path = tmp_path / "results.jsonl"
    first = Store(path, "--ks-results")
    first.append(Line(1))
    second = Store(path, "--ks-results")
    with pytest.raises(KeyspaceError, match=r"--ks-results .*results.jsonl: another live run is writing this file") as e:
        second.claim()
    assert "\n" not in str(e.value)
    with pytest.raises(KeyspaceError):
        second.append(Line(99))  # a run that never claimed at start is refused at its first record too
    first.append(Line(2))
    assert _lines(path) == [1, 2]
    first.release()
    second.claim()  # free once the first run has ended
    note = second.append(Line(3))
    assert _lines(path) == [3]  # a new session starts its file anew, and says what it replaced
    assert note == f"--ks-results {path}: replaced 2 record(s) of an earlier run (--ks-resume keeps and extends them)"
    assert second.append(Line(4)) is None  # said once


def test_a_claimed_file_is_kept_until_the_first_record_and_resume_keeps_it(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"n": 7}\n')
    run = Store(path, "--ks-results")
    run.claim()
    assert _lines(path) == [7]  # a run that fails before its first record keeps the previous results
    run.release()
    resumed = Store(path, "--ks-results", resume=True)
    resumed.append(Line(8))
    assert _lines(path) == [7, 8]
    resumed.release()


def test_a_killed_run_never_blocks_the_next(tmp_path):
    path = tmp_path / "results.jsonl"
    code = textwrap.dedent(f"""
        import time
        from harness.results.store import Store
        s = Store({str(path)!r}, "--ks-results")
        s.claim()
        print("held", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(KeyspaceError):
            Store(path, "--ks-results").claim()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        Store(path, "--ks-results").claim()
    finally:
        proc.kill()


def test_workers_append_to_their_part_files_and_no_lock_file_is_left(tmp_path):
    path = tmp_path / "results.jsonl"
    worker = Store(path, "--ks-results", worker="gw0")
    worker.claim()  # a worker's run is held by its controller: nothing to claim
    worker.append(Line(1))
    assert _lines(part_path(path, "gw0")) == [1] and not path.exists()
    controller = Store(path, "--ks-results")
    controller.append(Line(2))
    controller.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl", "results.jsonl.gw0.part"]


def test_concurrent_appends_keep_every_line(tmp_path):
    path = tmp_path / "shared.jsonl"
    code = textwrap.dedent(f"""
        import json, sys
        from harness.results.records import append_result
        class L:
            def __init__(self, n): self.n = n
            def to_json(self): return json.dumps({{"n": self.n, "pad": "x" * 5000}})
        for i in range(100):
            append_result(__import__("pathlib").Path({str(path)!r}), L(int(sys.argv[1]) * 1000 + i))
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(k)], env=env) for k in range(3)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    got = _lines(path)
    assert sorted(got) == sorted(k * 1000 + i for k in range(3) for i in range(100))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.jsonl"]
