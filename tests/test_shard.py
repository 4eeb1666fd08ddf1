"""--ks-shard K/N: which part of the run a shard takes, and that the shards' results equal the serial run's."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.benchmarks import BenchmarkChoice
from harness.errors import KeyspaceError
from harness.run.options import OPTIONS, parse_config
from harness.run.plan import Triple
from harness.run.session import KeyspaceRun
from harness.run.shard import Shard, Sharding, assign, parse_shard, shard_arg

ROOT = Path(__file__).resolve().parents[1]


def run_with(**overrides) -> KeyspaceRun:
    values = {o.name: o.default for o in OPTIONS} | {k.replace("_", "-"): v for k, v in overrides.items()}
    return KeyspaceRun(parse_config(values.__getitem__, ROOT))


@pytest.mark.parametrize("text, shard", [("1/3", Shard(1, 3)), (" 3/3 ", Shard(3, 3)), ("1/1", Shard(1, 1)),
                                         ("none", None), ("", None)])
def test_parse(text, shard):
    assert parse_shard(text) == shard


@pytest.mark.parametrize("text, words", [
    ("0/3", "shards count from 1"), ("4/3", "K > N"), ("2", "is not K/N"), ("a/b", "is not K/N"),
    ("-1/3", "is not K/N"), ("1/0", "N = 0"), ("1/3/4", "is not K/N"),
])
def test_bad_value_is_one_line(text, words):
    with pytest.raises(KeyspaceError) as info:
        parse_shard(text)
    message = str(info.value)
    assert message.startswith("--ks-shard:") and words in message and "\n" not in message


def test_as_an_argparse_type():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ks-shard", type=shard_arg, default="none")
    assert parser.parse_args(["--ks-shard", " 2/5"]).ks_shard == "2/5"
    with pytest.raises(argparse.ArgumentTypeError, match="--ks-shard: '6/5' has K > N"):
        shard_arg("6/5")


def test_bad_value_ends_pytest_in_one_line(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's plugin, whichever one is installed
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--ks-shard", "0/4")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and "--ks-shard: '0/4' has K = 0" in errors[0], result.errlines
    assert "Traceback" not in result.stderr.str()


def _plan(models: int, benchmarks: int, layers=lambda m: 1 + m % 4) -> list[Triple]:
    return [Triple(f"m{m}", layer, BenchmarkChoice(f"b{b}")) for m in range(models) for b in range(benchmarks) for layer in range(layers(m))]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 40])
def test_shards_cover_the_plan_once_and_keep_pairs_whole(count):
    plan = _plan(models=11, benchmarks=1)
    parts = [Sharding(plan, Shard(k, count)).mine() for k in range(1, count + 1)]
    assert sorted(t.id for p in parts for t in p) == sorted(t.id for t in plan)  # every triple, once
    owners = {}
    for k, part in enumerate(parts):
        for t in part:
            assert owners.setdefault(t.pair, k) == k  # all layers of a pair in one shard


def test_with_several_benchmarks_a_models_pairs_stay_together():
    """Each triple's by-benchmark baseline reads its model's bank on another benchmark: same shard."""
    plan = _plan(models=5, benchmarks=2)
    for k in (1, 2, 3):
        part = Sharding(plan, Shard(k, 3), benchmarks=2).mine()
        models = {t.model for t in part}
        assert {t.id for t in part} == {t.id for t in plan if t.model in models}


def test_balanced_by_cost():
    """Largest first to the least-loaded shard: loads differ by at most the largest unit's cost."""
    costs = {f"u{i}": c for i, c in enumerate([32, 32, 16, 8, 8, 4, 3, 2, 2, 1, 1, 1])}
    owner = assign(costs, 3)
    loads = [sum(c for u, c in costs.items() if owner[u] == k) for k in (1, 2, 3)]
    assert loads == [37, 37, 36]
    assert max(loads) - min(loads) <= max(costs.values())


def test_assignment_does_not_depend_on_plan_order():
    plan = _plan(models=9, benchmarks=1)
    forward = {t.id for t in Sharding(plan, Shard(2, 4)).mine()}
    backward = {t.id for t in Sharding(plan[::-1], Shard(2, 4)).mine()}
    assert forward == backward


def test_samples_weigh_every_layer_the_same():
    plan = _plan(models=6, benchmarks=1)
    assert Sharding(plan, Shard(1, 2), samples=50).owner == Sharding(plan, Shard(1, 2)).owner


def test_default_run_splits_into_its_three_pairs_with_controls_following_them():
    whole = run_with()
    runs = [run_with(shard=f"{k}/3") for k in (1, 2, 3)]
    assert len({r.cfg.config_id() for r in [whole, *runs]}) == 1  # shards merge: same configuration
    assert sorted(t.id for r in runs for t in r.plan()) == sorted(t.id for t in whole.plan())
    assert [len(r.pairs()) for r in runs] == [1, 1, 1]
    controls = [r.control_plan() for r in runs]
    assert sorted(c.id for cs in controls for c in cs) == sorted(c.id for c in whole.control_plan())
    for run, cases in zip(runs, controls):
        for case in cases:
            if case.triple is None:
                assert str(run.cfg.shard) == "1/3"  # the synthetic control runs in shard 1
            else:
                assert case.triple.pair in run.pairs()  # a control runs where its pair is captured


def test_more_shards_than_pairs_leaves_some_empty():
    runs = [run_with(shard=f"{k}/5") for k in range(1, 6)]
    assert sorted(len(r.plan()) for r in runs) == [0, 0, 4, 4, 4]  # every layer of a 4-layer twin
    assert sum(len(r.control_plan()) for r in runs) == len(run_with().control_plan())
    plan = [t for r in runs for t in r.plan()]
    assert [Sharding(plan, Shard(k, 5)).empty_note() for k in range(1, 6)] == ["", "", ""] + [
        f"shard {k}/5 holds no pair of this run: 3 pairs over 5 shards" for k in (4, 5)]
    assert Sharding(plan, None).empty_note() == ""
    two = Sharding(_plan(models=2, benchmarks=2), Shard(3, 3), benchmarks=2)
    assert two.empty_note() == "shard 3/3 holds no model of this run: 2 models over 3 shards"


def test_an_empty_shard_writes_an_empty_results_file_the_merge_counts_as_present(tmp_path):
    """pytest says only "got empty parameter set" for a shard with no pair; the run says why in one line
    and leaves an empty results file with its run metadata, so the merge lists the shard as present."""
    from harness.report.cli import load_results
    from harness.results.merge import merge_files
    from harness.results.meta import read_run_info, write_run_info
    from harness.results.records import TripleResult, append_result

    empty = tmp_path / "results-5.jsonl"
    args = [*COMMON, "--ks-shard", "5/5", "--ks-results", str(empty), "--ks-report", str(tmp_path / "report-5.html")]
    proc = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    notes = [line for line in proc.stdout.splitlines() if "holds no pair" in line]
    assert notes == [f"note: shard 5/5 holds no pair of this run: 3 pairs over 5 shards; wrote an empty {empty} "
                     "and its run metadata, so a merge lists this shard as present"], proc.stdout
    assert empty.read_bytes() == b"" and read_run_info(empty)["options"]["shard"] == "5/5"

    full = tmp_path / "results-1.jsonl"
    append_result(full, TripleResult(model="tiny-llava", layer=0, benchmark="fixture", status="passed"))
    write_run_info(full, {**read_run_info(empty), "options": {"shard": "1/5"}})
    results, _, notes = merge_files([full, empty], load_results)
    assert len(results) == 1 and f"{empty} holds no results" in notes
    assert "shards 1, 5 of 5 present; missing 2, 3, 4: the report covers part of the run" in notes


COMMON = [
    "suites/test_keyspace.py", "suites/test_keyspace_controls.py", "-p", "no:cacheprovider", "-q",
    "--ks-models", "tiny-llava,tiny-qwen2.5-vl,tiny-qwen2-vl", "--ks-layers", "0", "--ks-samples", "12", "--ks-permutations", "200", "--ks-baselines", "none", "--ks-no-cache",
]


def _pytest(out: Path, name: str, *extra: str) -> subprocess.Popen:
    args = [*COMMON, "--ks-results", str(out / f"{name}.jsonl"), "--ks-report", str(out / f"{name}.html"), *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = (out.parent / f"{name}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _figures(path: Path) -> dict:
    """Every recorded field of every triple, timings aside."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        data.pop("seconds")
        data["extra"].pop("capture_seconds", None)
        out[(data["model"], data["layer"], data["benchmark"], data["extra"].get("control", ""))] = data
    return out


@pytest.mark.slow
def test_three_shards_merged_equal_the_serial_run(tmp_path):
    """The default suite (layer 0, 12 samples) as 3 shard processes and as one process: merged, same figures."""
    shards, serial = tmp_path / "shards", tmp_path / "serial"
    procs = [_pytest(shards, f"s{k}", "--ks-shard", f"{k}/3") for k in (1, 2, 3)]
    procs.append(_pytest(serial, "serial"))
    for proc in procs:
        assert proc.wait(timeout=900) in (0, 1), (tmp_path / "serial.log").read_text()  # 1: some verdicts fail at 12 samples
    from harness.__main__ import main

    assert main(["report", str(shards), "-o", str(tmp_path / "merged.html"), "-q"]) == 0
    merged = {}
    for k in (1, 2, 3):
        part = _figures(shards / f"s{k}.jsonl")
        assert not merged.keys() & part.keys()  # no triple ran twice
        merged |= part
    expected = _figures(serial / "serial.jsonl")
    assert len(expected) == 10  # 3 triples + 3 × 2 controls + the synthetic control
    assert all(r["status"] != "error" for r in expected.values())
    # the default capture keeps a reservoir balanced across prompts, stated in each result: 1500 / 12 prompts
    sampling = expected[("tiny-llava", 0, "fixture", "")]["extra"]["capture_sampling"]
    assert sampling == {"seed": 0, "balanced": {"per_modality": 1500, "prompts": 12, "per_prompt": 125}}
    assert merged == expected
    html = (tmp_path / "merged.html").read_text(encoding="utf-8")
    assert all(f"{m}" in html for m in ("tiny-llava", "tiny-qwen2-vl", "tiny-qwen2.5-vl"))


def test_a_shard_reads_the_key_cache_a_whole_run_wrote():
    """The shard option shapes neither figures nor captures: same config id, same cache key."""
    from harness.capture.cache_key import key_for

    whole, part = run_with(), run_with(shard="2/3")
    spec = whole.planner.spec("tiny-llava")
    keys = [key_for(spec, r.cfg.capture_options, "fixture", ["a", "b"], [0]).digest for r in (whole, part)]
    assert keys[0] == keys[1]


def test_intervention_cases_follow_their_models_shard(tmp_path):
    """The intervention suite's cases of a model run in the shard that owns the model's pair: the
    shards together plan every case once, each with its model's triples."""
    from harness.intervention.suite import InterventionSession
    from harness.intervention.options import INTERVENTION_OPTIONS, parse_intervention_config

    values = {o.name: o.default for o in INTERVENTION_OPTIONS} | {"intervene-benchmarks": "fixture,world"}
    icfg = parse_intervention_config(values.__getitem__, tmp_path, run_results=tmp_path / "results.jsonl")
    whole = InterventionSession(run_with(), icfg).plan()
    parts = [(r, InterventionSession(r, icfg).plan()) for r in (run_with(shard=f"{k}/3") for k in (1, 2, 3))]
    assert sorted(c.id for _, cases in parts for c in cases) == sorted(c.id for c in whole)
    for run, cases in parts:
        assert {c.model for c in cases} <= {p.model for p in run.pairs()}
