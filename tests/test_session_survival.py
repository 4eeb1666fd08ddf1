"""Results survive: resume after a kill, resume refuses foreign configurations, xdist equals serial."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--ks-models", "tiny-llava", "--ks-samples", "6", "--ks-permutations", "100", "--ks-layers", "all", "--ks-baselines", "none", "-p", "no:cacheprovider", "-q"]


KILLER = """

import os
import signal

_finished = 0


def pytest_runtest_teardown(item):
    # SIGKILL this very process after the Nth triple test, so the kill lands mid-run every time.
    global _finished
    if "test_keyspace[" in item.nodeid and os.environ.get("KS_KILL_AFTER"):
        _finished += 1
        if _finished == int(os.environ["KS_KILL_AFTER"]):
            os.kill(os.getpid(), signal.SIGKILL)
"""


def run_suite(tmp: Path, *extra: str, env_extra: dict | None = None):
    cmd = [sys.executable, "-m", "pytest", str(tmp / "test_keyspace.py"), "--rootdir", str(tmp),
           "--ks-results", str(tmp / "r.jsonl"), "--ks-report", str(tmp / "r.html"), "--ks-cache", str(tmp / "cache"),
           *FAST, *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def tmp(tmp_path):
    shutil.copy(ROOT / "suites" / "test_keyspace.py", tmp_path / "test_keyspace.py")
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text() + KILLER)
    return tmp_path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def figures(rows):
    return sorted((r["model"], r["layer"], r["benchmark"], r["mmd2"], r["p_value"], r["ratio"], r["n_image"]) for r in rows)


def test_kill_then_resume_finishes_only_what_is_missing(tmp):
    killed = run_suite(tmp, "-p", "no:xdist", env_extra={"KS_KILL_AFTER": "2"})
    assert killed.returncode == -signal.SIGKILL
    results = tmp / "r.jsonl"
    before = lines(results)
    assert len(before) == 2, "the kill landed after the second of four triples"
    again = run_suite(tmp, "--ks-resume")
    assert again.returncode in (0, 1), again.stdout[-2000:]  # 1: a verdict failed; the run itself finished
    after = lines(results)
    assert len(after) == 4  # tiny-llava has 4 layers
    assert after[: len(before)] == before, "finished triples are kept as they were"
    run_suite(tmp)  # a clean run over the same file
    assert figures(lines(results)) == figures(after), "resumed figures equal a clean run's"


def test_resume_refuses_results_of_another_configuration(tmp):
    assert run_suite(tmp).returncode in (0, 1)
    other = run_suite(tmp, "--ks-resume", "--ks-seed", "1")
    assert other.returncode == 4
    assert "--ks-resume:" in other.stderr and "another configuration" in other.stderr


def test_parallel_run_equals_serial(tmp):
    serial = run_suite(tmp, "-p", "no:xdist")
    assert serial.returncode in (0, 1), serial.stdout[-2000:]
    first = figures(lines(tmp / "r.jsonl"))
    parallel = run_suite(tmp, "-n", "2")
    assert parallel.returncode in (0, 1), parallel.stdout[-2000:]
    assert figures(lines(tmp / "r.jsonl")) == first
    assert not list(tmp.glob("r.jsonl.*.part")), "worker part files are merged away"
    assert "tiny-llava" in (tmp / "r.html").read_text()
