"""The baseline cycle through pytest: created → compared → drift fails → --ks-update-baselines rewrites."""

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_create_compare_drift_regenerate(pytester):
    shutil.copy(ROOT / "suites" / "test_keyspace.py", pytester.path / "test_keyspace.py")
    store = pytester.path / "baselines"
    args = ["--ks-models", "tiny-llava", "--ks-layers", "0", "--ks-permutations", "200", "--ks-no-mechanism",
            "--ks-baselines", str(store), "--ks-cache", str(pytester.path / "cache"), "-p", "no:cacheprovider"]

    created = pytester.runpytest_subprocess(*args)
    assert created.ret == 1 and "baseline created:" in created.stdout.str()

    same = pytester.runpytest_subprocess(*args)
    assert same.ret == 0, same.stdout.str()[-1500:]

    path = store / "tiny-llava.json"
    data = json.loads(path.read_text())
    data["triples"]["L0-fixture"]["figures"]["mmd2"]["value"] *= 2
    path.write_text(json.dumps(data))
    drifted = pytester.runpytest_subprocess(*args)
    assert drifted.ret == 1 and "baseline drift: mmd2" in drifted.stdout.str()

    rewritten = pytester.runpytest_subprocess(*args, "--ks-update-baselines")
    assert rewritten.ret == 0 and "baseline rewritten: mmd2" in rewritten.stdout.str()  # a note says what it changed
    assert pytester.runpytest_subprocess(*args).ret == 0

    # --ks-resume keeps the finished record but compares it with THIS run's store: a drift there still fails
    data = json.loads(path.read_text())
    data["triples"]["L0-fixture"]["figures"]["mmd2"]["value"] *= 2
    path.write_text(json.dumps(data))
    resumed = pytester.runpytest_subprocess(*args, "--ks-resume")
    assert resumed.ret == 1 and "baseline drift: mmd2" in resumed.stdout.str(), resumed.stdout.str()[-1500:]

    # other settings against a named store: nothing compared, so the run fails and says which setting differs
    other = pytester.runpytest_subprocess(*args, "--ks-permutations", "100")
    assert other.ret == 1 and "baseline not compared: stored under other settings (permutations 200 → 100)" in other.stdout.str()

    # a damaged baseline file: one line naming it; the triple's figures are still recorded and reported
    path.write_text("{trunc")
    damaged = pytester.runpytest_subprocess(*args)
    out = damaged.stdout.str()
    assert damaged.ret == 1 and f"baseline file {path} is not readable JSON" in out and "Traceback" not in out
    records = [json.loads(line) for line in (pytester.path / "reports" / "results.jsonl").read_text().splitlines()]
    assert [r["extra"]["baseline_drift"]["status"] for r in records] == ["unreadable"] and records[0]["mmd2"] > 0
    assert (pytester.path / "reports" / "report.html").is_file()


def test_first_run_without_stored_baselines_is_judged_on_its_verdicts(pytester):
    """By default (--ks-baselines auto) a model with no stored baseline is not failed for it: the entry is
    created beside the results file with a note, nothing is written into the tree, and the next run compares."""
    shutil.copy(ROOT / "suites" / "test_keyspace.py", pytester.path / "test_keyspace.py")
    results = pytester.path / "out" / "r.jsonl"
    args = ["--ks-models", "tiny-llava", "--ks-layers", "0,1", "--ks-permutations", "200", "--ks-no-mechanism",
            "--ks-results", str(results), "--ks-report", str(results.with_suffix(".html")),
            "--ks-cache", str(pytester.path / "cache"), "-p", "no:cacheprovider"]
    first = pytester.runpytest_subprocess(*args)
    statuses = [json.loads(line)["status"] for line in results.read_text().splitlines()]
    outcomes = first.parseoutcomes()  # "undecided" triples are skips, never passes or failures
    assert outcomes.get("failed", 0) == statuses.count("failed"), first.stdout.str()[-1500:]
    assert outcomes.get("skipped", 0) == statuses.count("undecided"), first.stdout.str()[-1500:]
    stored = pytester.path / "out" / "r.jsonl.baselines" / "tiny-llava.json"
    assert f"note: tiny-llava: no stored baseline: created {stored}" in first.stdout.str()
    assert set(json.loads(stored.read_text())["triples"]) == {"L0-fixture", "L1-fixture"}
    assert not (pytester.path / "reports").exists(), "nothing is written into the working tree"
    again = pytester.runpytest_subprocess(*args)
    drift = {json.loads(line)["extra"]["baseline_drift"]["status"] for line in results.read_text().splitlines()}
    assert drift == {"ok"} and "no stored baseline" not in again.stdout.str()
