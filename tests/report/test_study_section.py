"""The organisms study beside a run: the committed study.json read back (its answers equal the study's own
decision), matched against the organisms' manifest, shown in the report with a warning where it is not
theirs, a clear line where it cannot be read, and recorded in the run metadata only for organism runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.models.organisms import ROOT
from harness.report import render_html
from harness.results.study import STUDY, summary

pytestmark = pytest.mark.skipif(not (ROOT / STUDY).is_file(), reason="no committed organisms study")


@pytest.fixture
def copy(tmp_path) -> Path:
    """A folder holding the committed study and manifest (not the checkpoints: the summary reads only these)."""
    folder = tmp_path / "fixtures" / "organisms"
    folder.mkdir(parents=True)
    for name in (STUDY, "MANIFEST"):
        shutil.copy(ROOT / name, folder / name)
    return folder


def test_the_committed_study_reads_back_with_its_own_answers():
    study = json.loads((ROOT / STUDY).read_text(encoding="utf-8"))
    s = summary(ROOT)
    assert s["matches"] and s["source"] == "fixtures/organisms/study.json"
    assert s["q1"]["answer"] == study["decision"]["q1"]["answer"] and s["q2"]["answer"] == study["decision"]["q2"]["answer"]
    assert s["organisms"] == sorted(study["organisms"]) and len(s["histories"]) == 4
    assert [a["organism"] for a in s["arms"]] == sorted(n for n, m in study["organisms"].items() if "intervention" in m)
    per_layer = study["decision"]["q1"]["per_layer"]
    assert [d["value"] for d in s["q1"]["per_layer"]] == [per_layer[k]["diff"] for k in sorted(per_layer, key=int)]


def test_a_study_of_other_files_is_flagged_not_shown_as_theirs(copy, results, run_info):
    assert summary(copy)["matches"]
    (copy / "MANIFEST").write_text((copy / "MANIFEST").read_text() + "0" * 64 + "  extra/file\n")
    s = summary(copy)
    assert not s["matches"]
    html = render_html(results, run_info={**run_info, "organisms_study": s})
    assert "made from other files than the organisms" in html and "WARNING: of other files" in html


def test_the_report_states_both_answers_with_their_figures(results, run_info):
    s = summary(ROOT)
    html = render_html(results, run_info={**run_info, "organisms_study": s})
    assert 'id="study"' in html and "made from other files" not in html
    assert f"key-space gap tracks history: {s['q1']['answer']}" in html
    assert f"text reliance caused by where image keys lie: {s['q2']['answer']}" in html
    for arm in s["arms"]:
        assert f"<td>{arm['organism']}" in html
    plain = render_html(results, run_info=run_info)
    assert 'id="study"' not in plain and "organisms study" not in plain


@pytest.mark.parametrize("damage", ["{not json", json.dumps({"organisms": {}})])
def test_an_unreadable_study_is_one_line_in_the_report(copy, damage, results, run_info):
    (copy / STUDY).write_text(damage)
    s = summary(copy)
    assert "problem" in s and "\n" not in s["problem"] and "python -m harness.organisms study" in s["problem"]
    html = render_html(results, run_info={**run_info, "organisms_study": s})
    assert "unreadable" in html


def test_no_study_no_summary(tmp_path):
    assert summary(tmp_path) is None


def _config(tmp_path: Path, models: str):
    from harness.run.options import OPTIONS, parse_config

    values = {opt.name: opt.default for opt in OPTIONS}
    values.update(models=models, results=str(tmp_path / "results.jsonl"), report=str(tmp_path / "report.html"))
    return parse_config(lambda name: values[name], tmp_path)


def test_run_metadata_carries_the_study_for_organism_runs_only(tmp_path):
    from harness.run.runinfo import run_info as info_of

    organisms, twins = _config(tmp_path, "organism-joint"), _config(tmp_path, "tiny-llava")
    assert info_of(organisms, {})["organisms_study"]["matches"]
    assert "organisms_study" not in info_of(twins, {})


def test_a_study_without_the_alignment_arm_says_so(copy, results, run_info):
    """Amendment 4: a set with fewer than two aligned seeds reads the rule without the alignment arm; the report
    names the reason where the arm's figures would stand."""
    study = json.loads((copy / STUDY).read_text(encoding="utf-8"))
    study["decision"]["q2"]["aligned_minus_text_first"] = "not run (0 aligned seeds; it needs 2)"
    (copy / STUDY).write_text(json.dumps(study), encoding="utf-8")
    s = summary(copy)
    assert "problem" not in s and s["q2"]["aligned_not_run"].startswith("not run (0 aligned seeds")
    html = render_html(results, run_info={**run_info, "organisms_study": s})
    assert "alignment arm not run (0 aligned seeds; it needs 2)" in html


@pytest.mark.skipif(not (ROOT.parent / "organisms-gpu" / "study-pooled.json").is_file(), reason="no amended study committed")
def test_amendment_4s_readings_stand_beside_the_committed_answer(tmp_path, results, run_info):
    """The pooled study beside the organisms' folder: its three readings side by side, the pooled one first; a
    pooled study of other files than its manifest is flagged; a folder with none beside it shows none."""
    s = summary(ROOT)
    pooled = json.loads((ROOT.parent / "organisms-gpu" / "study-pooled.json").read_text(encoding="utf-8"))
    a = s["amended"]
    assert a["matches"] and a["n"] == len(pooled["organisms"])
    assert [r["reading"] for r in a["readings"]][0] == "pooled (the amended answer)"
    assert a["readings"][0]["q1"] == pooled["decision"]["q1"]["answer"] and a["readings"][0]["q2"] == pooled["decision"]["q2"]["answer"]
    assert any("aligned_not_run" in r for r in a["readings"])  # the GPU seeds alone have no aligned history
    html = render_html(results, run_info={**run_info, "organisms_study": s})
    assert "Amendment 4" in html and "pooled (the amended answer)" in html and "GPU-trained seeds alone" in html
    assert "with amendment 4" in html and f"({a['n']} organisms)" in html and "made from other files than its committed manifest" not in html
    # a tampered pooled manifest: flagged
    folder = tmp_path / "fixtures" / "organisms"
    gpu = tmp_path / "fixtures" / "organisms-gpu"
    shutil.copytree(ROOT.parent / "organisms-gpu", gpu)
    folder.mkdir(parents=True)
    for name in (STUDY, "MANIFEST"):
        shutil.copy(ROOT / name, folder / name)
    assert summary(folder)["amended"]["matches"]
    (gpu / "MANIFEST-pooled").write_text((gpu / "MANIFEST-pooled").read_text() + "0" * 64 + "  extra/file\n")
    flagged = summary(folder)
    assert not flagged["amended"]["matches"]
    assert "made from other files than its committed manifest" in render_html(results, run_info={**run_info, "organisms_study": flagged})
    shutil.rmtree(gpu)
    assert "amended" not in summary(folder)
