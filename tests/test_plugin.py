"""The plugin end to end, through pytester: options, one-line errors, results and report."""

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def suite(pytester):
    shutil.copy(ROOT / "suites" / "test_keyspace.py", pytester.path / "test_keyspace.py")
    return pytester


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--ks-models", "nope"], "unknown model 'nope'; valid models:"),
        (["--ks-benchmarks", "nope"], "unknown benchmark 'nope'; valid benchmarks: fixture"),
        (["--ks-layers", "9"], "layer 9 is outside tiny-llava's range 0..3"),
        (["--ks-samples", "0"], "--ks-samples: 0 is too small"),
        (["--ks-report", "/etc/hostname/report.html"], "--ks-report: cannot write /etc/hostname/report.html"),
        (["--ks-results", "/"], "--ks-results: / is a directory"),
        (["--ks-models", "hf:Org/Uncached"], "Org/Uncached is not in the local Hugging Face cache"),
    ],
)
def test_bad_input_is_one_line(suite, args, needle, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = suite.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and needle in errors[0], result.errlines
    assert "Traceback" not in result.stderr.str()


def test_suite_writes_results_and_report(suite):
    results, report = suite.path / "out" / "r.jsonl", suite.path / "out" / "r.html"
    run = suite.runpytest_subprocess(
        "--ks-models", "tiny-llava", "--ks-samples", "8", "--ks-layers", "0,-1", "--ks-permutations", "200",
        "--ks-baselines", "none",
        "--ks-results", str(results), "--ks-report", str(report), "-p", "no:cacheprovider",
    )
    outcomes = run.parseoutcomes()
    # One capture test and two triples ran; with 8 samples the verdicts may go either way.
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) + outcomes.get("xfailed", 0) == 3, outcomes
    table = [line.split() for line in run.outlines if line.startswith("tiny-llava ")]
    assert [row[1] for row in table] == ["0", "3"], "the terminal table lists the triples"
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert {(r["model"], r["layer"], r["benchmark"]) for r in lines} == {("tiny-llava", 0, "fixture"), ("tiny-llava", 3, "fixture")}
    for r in lines:
        for key in ("n_image", "n_text", "mmd2", "p_value", "intra", "ratio", "threshold", "passed", "seconds"):
            assert key in r
        assert r["permutations"] == 200 and r["p_value"] >= 1 / 201
    assert "<html" in report.read_text() and "tiny-llava" in report.read_text()


def test_ids_are_readable(suite):
    run = suite.runpytest_subprocess("--collect-only", "-q")
    assert "test_keyspace.py::test_keyspace[tiny-llava-L0-fixture]" in run.stdout.str()
    assert "test_keyspace.py::test_capture[tiny-llava-fixture]" in run.stdout.str()


def test_help_lists_every_option(pytester):
    """`pytest --help` renders every --ks-* option (argparse %-formats help strings)."""
    from harness.options import OPTIONS

    result = pytester.runpytest_subprocess("--help")
    assert result.ret == 0, result.stderr.str()
    text = result.stdout.str()
    assert all(f"--ks-{o.name.replace('_', '-')}" in text for o in OPTIONS)


def test_missing_checkpoint_fails_its_triples_in_one_line_and_spares_the_rest(suite, monkeypatch):
    """A registered hub model that is not cached offline: its pair fails with the download command,
    the tiny model beside it still runs, and both reach the results file."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(suite.path / "empty-hub"))
    results = suite.path / "out" / "r.jsonl"
    run = suite.runpytest_subprocess(
        "--ks-models", "llava-1.5-7b,tiny-llava", "--ks-layers", "0", "--ks-samples", "8", "--ks-permutations", "100",
        "--ks-results", str(results), "--ks-report", str(suite.path / "out" / "r.html"), "--ks-no-cache",
        "--ks-no-mechanism", "--ks-baselines", "none", "-p", "no:cacheprovider",
    )
    text = run.stdout.str()
    assert "FAILED test_keyspace.py::test_capture[llava-1.5-7b-fixture]" in text
    assert "FAILED test_keyspace.py::test_keyspace[llava-1.5-7b-L0-fixture]" in text
    assert run.parseoutcomes().get("passed", 0) >= 1  # tiny-llava's capture
    assert "hf download llava-hf/llava-1.5-7b-hf --revision b234b804b114d9e37bb655e11cbbb5f5e971b7a9" in text
    assert "Traceback" not in text and "OSError" not in text
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    status = {r["model"]: r["status"] for r in rows}
    assert status["llava-1.5-7b"] == "error" and status["tiny-llava"] in ("passed", "failed")
