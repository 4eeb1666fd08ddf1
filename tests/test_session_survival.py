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


TEARER = """

import os
import signal

import harness.results.records
import harness.results.store

_writes = 0


def _append_then_die(path, result):
    # SIGKILL this process halfway through writing the Nth result line: what a crash mid-write leaves.
    global _writes
    _writes += 1
    if _writes == int(os.environ["KS_TEAR_AT"]):
        with open(path, "a", encoding="utf-8") as fh:
            line = result.to_json()
            fh.write(line[: len(line) // 2])
            fh.flush()
            os.fsync(fh.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    return harness.results.records.append_result(path, result)


if os.environ.get("KS_TEAR_AT"):
    harness.results.store.append_result = _append_then_die
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
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text() + KILLER + TEARER)
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
    assert "note: --ks-resume: kept 2 finished triple(s) of" in again.stdout and "2 of this run's 4 left to run" in again.stdout
    run_suite(tmp)  # a clean run over the same file
    assert figures(lines(results)) == figures(after), "resumed figures equal a clean run's"


def test_kill_mid_write_then_resume_keeps_every_finished_triple(tmp):
    """A kill halfway through writing the third result leaves a torn last line; resuming moves the
    fragment aside before appending, so no finished triple is fused with it, and says so in one line."""
    killed = run_suite(tmp, "-p", "no:xdist", env_extra={"KS_TEAR_AT": "3"})
    assert killed.returncode == -signal.SIGKILL
    results = tmp / "r.jsonl"
    text = results.read_text()
    assert not text.endswith("\n"), "the kill left a torn last line"
    lines_before_tear = [json.loads(line) for line in text.splitlines()[:-1]]
    assert len(lines_before_tear) == 2
    again = run_suite(tmp, "--ks-resume")
    assert again.returncode in (0, 1), again.stdout[-2000:]
    after = lines(results)  # every line parses: nothing fused with the fragment
    assert len(after) == 4 and after[:2] == lines_before_tear
    assert (tmp / "r.jsonl.torn").read_text().count("\n") == 1, "the fragment is kept aside"
    notes = [line for line in again.stdout.splitlines() if "torn by an interrupted write" in line]
    assert len(notes) == 1, again.stdout[-2000:]
    run_suite(tmp)
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


def test_append_after_a_torn_line_keeps_both_results(tmp_path):
    from harness.results.records import TripleResult, append_result, parse_lines

    path = tmp_path / "r.jsonl"
    first, second = (TripleResult(model="m", layer=i, benchmark="b", status="passed") for i in (0, 1))
    assert append_result(path, first) is None
    with path.open("a", encoding="utf-8") as fh:
        fh.write(second.to_json()[:30])  # a kill mid-write
    note = append_result(path, second)
    assert note and "torn" in note and "\n" not in note
    results, problems = parse_lines(path.read_text().splitlines())
    assert problems == [] and {r.layer for r in results} == {0, 1}
    assert (tmp_path / "r.jsonl.torn").read_text() == second.to_json()[:30] + "\n"


def test_parallel_interventions_are_merged_into_one_records_file(tmp):
    """Under xdist each worker appends its intervention records to a part file; the run ends with them in the
    records file (what `python -m harness report --interventions` reads), equal to a serial run's, and no parts."""
    shutil.copy(ROOT / "suites" / "test_intervention.py", tmp / "test_intervention.py")
    records = tmp / "iv.jsonl"
    options = ["--ks-intervene", "mean,random", "--ks-intervene-benchmarks", "fixture", "--ks-intervene-results", str(records),
               str(tmp / "test_intervention.py")]

    def outcomes() -> dict:
        rows = [json.loads(line) for line in records.read_text().splitlines()]
        return {(r["model"], r["layer"], r["intervention"]): (r["status"], r["divergence"]) for r in rows}

    serial = run_suite(tmp, "-p", "no:xdist", *options)
    assert serial.returncode in (0, 1), serial.stdout[-2000:]
    first = outcomes()
    parallel = run_suite(tmp, "-n", "2", *options)
    assert parallel.returncode in (0, 1), parallel.stdout[-2000:]
    assert not list(tmp.glob("iv.jsonl.*.part")), "worker part files are merged away"
    assert outcomes() == first and len(first) == 2


def test_resume_measures_again_a_triple_whose_second_benchmark_changed(tmp):
    """A finished triple of a one-benchmark run has no by-benchmark splits; resumed with a second benchmark it is
    measured again (its verdict checks them, and its record bounds them as a reading), saying so."""
    assert run_suite(tmp, "--ks-layers", "0").returncode in (0, 1)
    again = run_suite(tmp, "--ks-layers", "0", "--ks-resume", "--ks-benchmarks", "fixture,world")
    assert again.returncode in (0, 1), again.stdout[-2000:]
    assert ("tiny-llava L0 fixture measured again: its by-benchmark splits were against no benchmark, "
            "this run's against world") in again.stdout
    assert "kept 0 finished triple(s)" in again.stdout and "2 of this run's 2 left to run" in again.stdout
    fixture = [r for r in lines(tmp / "r.jsonl") if r["benchmark"] == "fixture" and not r["extra"].get("control")]
    assert fixture and fixture[-1]["extra"]["by_benchmark"] == "world"
    assert set(fixture[-1]["extra"]["tiers"]["kernel mean"]["by-benchmark bounded"]["splits"]) == {
        "image/by-benchmark", "text/by-benchmark"}
