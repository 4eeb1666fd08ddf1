"""The session with the hub benchmarks: options, load notes, the image limit, and pytest end to end."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.benchmarks import BenchmarkChoice
from harness.errors import KeyspaceError
from harness.run.options import OPTIONS, parse_config
from harness.run.plan import Pair
from harness.run.session import KeyspaceRun

from .hub_parquet import mmmu_row, png, standard_mmmu, write_mmmu

ROOT = Path(__file__).resolve().parents[2]


def config(tmp_path, **given):
    defaults = {o.name: o.default for o in OPTIONS}
    values = {**defaults, "results": str(tmp_path / "r.jsonl"), "report": str(tmp_path / "r.html"), **given}
    return parse_config(lambda name: values[name], tmp_path)


def test_options_parse_and_reject_bad_choices(tmp_path):
    cfg = config(tmp_path, **{"data-dir": str(tmp_path), "open-questions": "SKIP", "multi-image": "skip"})
    assert (cfg.data_dir, cfg.open_questions, cfg.multi_image) == (str(tmp_path), "skip", "skip")
    assert config(tmp_path, **{"data-dir": "/elsewhere"}).config_id() == config(tmp_path).config_id()
    assert config(tmp_path, **{"open-questions": "skip"}).config_id() != config(tmp_path).config_id()
    with pytest.raises(KeyspaceError, match="--ks-open-questions: 'drop' is not a choice; use keep or skip"):
        config(tmp_path, **{"open-questions": "drop"})
    with pytest.raises(KeyspaceError, match="--ks-multi-image: 'all' is not a choice; use first or skip"):
        config(tmp_path, **{"multi-image": "all"})
    sub = config(tmp_path, benchmarks="mmmu:Art,Biology,fixture")
    assert [b.text for b in sub.benchmarks] == ["mmmu:Art,Biology", "fixture"]


def test_session_notes_skipped_rows_sampling_and_image_limit(tmp_path, monkeypatch):
    write_mmmu(tmp_path, "Art", [
        mmmu_row("Art", 1, "<image 1> and <image 2>", ["a", "b"], "A", {1: png((1, 0, 0)), 2: png((2, 0, 0))}),
        mmmu_row("Art", 2, "<image 1>", ["a", "b"], "A", {1: None}),
        mmmu_row("Art", 3, "<image 1>", ["a", "b"], "A", {1: png((3, 0, 0))}),
    ])
    run = KeyspaceRun(config(tmp_path, benchmarks="mmmu:Art", samples="5", **{"data-dir": str(tmp_path)}))
    assert [s.id for s in run.samples(BenchmarkChoice("mmmu", ("Art",)))] == ["validation_Art_1", "validation_Art_3"]
    assert run.load_reports["mmmu:Art"].skipped == {"image missing or unreadable": 1}
    assert run.notes == [
        "mmmu:Art: skipped 1 row(s): 1 image missing or unreadable (e.g. validation_Art_2)",
        "mmmu:Art: asked for 5 samples, the set has 2: using all",
    ]
    single = dataclasses.replace(run.planner.spec("tiny-llava"), max_images=1)
    monkeypatch.setattr(run.planner, "spec", lambda name: single)
    fitted = run.model_samples(Pair("tiny-llava", BenchmarkChoice("mmmu", ("Art",))))
    assert [len(s.images) for s in fitted] == [1, 1] and fitted[0].meta["images_dropped"] == 1
    assert run.notes[-1].startswith("tiny-llava-mmmu:Art: 1 question(s) with more than 1 image(s)")


@pytest.mark.slow
def test_pytest_suite_runs_mmmu_from_a_local_copy(tmp_path):
    """`pytest suites/ --ks-benchmarks mmmu:Art --ks-data-dir DIR` with the tiny model runs each triple to an
    outcome (one subject and four prompts give no real sub-population: "undecided" is such an outcome, an error is not)."""
    standard_mmmu(tmp_path / "data", {"Art": 6})
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(ROOT),
           "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    env.pop("KS_DATA_DIR", None)
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "suites" / "test_keyspace.py"), "-q", "-p", "no:cacheprovider",
           "--rootdir", str(ROOT), "--ks-models", "tiny-llava", "--ks-benchmarks", "mmmu:Art", "--ks-data-dir", str(tmp_path / "data"),
           "--ks-samples", "4", "--ks-permutations", "100", "--ks-layers", "first", "--ks-baselines", "none",
           "--ks-cache", str(tmp_path / "cache"),
           "--ks-results", str(tmp_path / "r.jsonl"), "--ks-report", str(tmp_path / "r.html")]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    results = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert out.returncode in (0, 1), out.stdout[-3000:] + out.stderr[-3000:]
    assert [(r["benchmark"], r["status"]) for r in results] in (
        [("mmmu:Art", "passed")], [("mmmu:Art", "failed")], [("mmmu:Art", "undecided")]
    ), out.stdout[-3000:]
    assert "note: mmmu:Art" not in out.stdout  # nothing skipped, 4 of 6 chosen
    assert (out.returncode == 0) == (results[0]["status"] in ("passed", "undecided"))  # undecided is a skip


def test_plan_rejects_an_unknown_subject_before_loading_anything(tmp_path):
    with pytest.raises(KeyspaceError, match=r"^unknown MMMU subject\(s\) Arts; valid subjects: Accounting, "):
        KeyspaceRun(config(tmp_path, benchmarks="mmmu:Art,Arts")).plan()
    with pytest.raises(KeyspaceError, match=r"^unknown fixture subset\(s\) fr; valid subsets: en, zh$"):
        KeyspaceRun(config(tmp_path, benchmarks="fixture:fr")).plan()
    assert len(KeyspaceRun(config(tmp_path, benchmarks="mmmu:art,Biology")).plan()) == 12  # 3 tiny twins × all 4 layers (models.layers.default_words)
