"""`python -m harness report A.jsonl B.jsonl …` or `report FOLDER/`: shards merged into one report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from harness.__main__ import main
from harness.report import write_run_info
from harness.results.merge import shards_note
from harness.results.records import write_results


def _write(path: Path, results, info: dict | None, shard: str = "none") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_results(path, results)
    if info is not None:
        write_run_info(path, {**info, "options": {**info["options"], "shard": shard},
                              "samples": {path.stem: {"count": 1, "digest": "x"}}})
    return path


@pytest.fixture
def shards(tmp_path, make_triple, run_info) -> Path:
    folder = tmp_path / "shards"
    _write(folder / "s1.jsonl", [make_triple("tiny-llava", 0, tsne_n=30), make_triple("tiny-llava", 2, tsne_n=30)], run_info, "1/2")
    _write(folder / "s2.jsonl", [make_triple("tiny-qwen2.5-vl", 0, ratio=3.0, tsne_n=30)], run_info, "2/2")
    return folder


def test_a_folder_of_shards_renders_one_report(shards, capsys):
    assert main(["report", str(shards)]) == 0
    out = capsys.readouterr()
    html = (shards / "report.html").read_text(encoding="utf-8")
    assert "tiny-llava" in html and "tiny-qwen2.5-vl" in html
    printed = out.out.splitlines()
    assert sum(("tiny-llava " in l or "tiny-qwen2.5-vl " in l) for l in printed) == 3  # one console row per triple
    assert "note: all 2 shards present" in out.err


def test_files_named_one_by_one_merge_too(shards, tmp_path, capsys):
    out = tmp_path / "merged.html"
    assert main(["report", str(shards / "s1.jsonl"), str(shards / "s2.jsonl"), "-o", str(out), "-q"]) == 0
    assert out.is_file() and f"report: {out}" in capsys.readouterr().out


def test_merged_metadata_keeps_every_shards_samples(shards):
    from harness.report.cli import report_command

    _, results, notes = report_command([shards], shards / "r.html")
    assert len(results) == 3
    html = (shards / "r.html").read_text(encoding="utf-8")
    assert "s1" in html and "s2" in html  # the samples table lists both files' benchmarks
    assert notes == ["all 2 shards present"]


def test_different_configurations_are_refused_in_one_line(shards, make_triple, run_info, capsys):
    _write(shards / "s3.jsonl", [replace(make_triple("tiny-qwen2-vl", 0, tsne_n=30), config_id="0123456789ab")], run_info)
    assert main(["report", str(shards)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot merge results of different configurations" in err
    assert "0123456789ab: s3.jsonl" in err and "fe2a809a26b3: s1.jsonl, s2.jsonl" in err
    assert not (shards / "report.html").exists()


def test_a_triple_in_two_files_keeps_the_last_and_says_so(shards, make_triple, run_info, capsys):
    _write(shards / "s3.jsonl", [make_triple("tiny-llava", 0, ratio=2.0, tsne_n=30)], run_info, "2/2")
    assert main(["report", str(shards), "-q"]) == 0
    assert "1 triple(s) appear in more than one file" in capsys.readouterr().err


def test_a_missing_shard_is_noted(shards, capsys):
    (shards / "s2.jsonl").unlink()
    assert main(["report", str(shards), "-q"]) == 0
    assert "shards 1 of 2 present; missing 2" in capsys.readouterr().err


@pytest.mark.parametrize("shards_seen, note", [
    (["none", "none"], ""),
    (["1/3", "3/3", "2/3"], "all 3 shards present"),
    (["1/3", "1/2"], "shards of different splits"),
])
def test_shards_note(shards_seen, note):
    assert (note in shards_note(shards_seen)) and (bool(note) == bool(shards_note(shards_seen)))


def test_an_empty_folder_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"no results files (*.jsonl) in folder {tmp_path}" in err


def test_a_missing_file_among_several_is_one_line(shards, tmp_path, capsys):
    assert main(["report", str(shards / "s1.jsonl"), str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "results file not found" in err


def test_files_without_metadata_merge_with_a_note(tmp_path, make_triple, capsys):
    a = _write(tmp_path / "a.jsonl", [make_triple("tiny-llava", 0, tsne_n=30)], None)
    b = _write(tmp_path / "b.jsonl", [make_triple("tiny-llava", 2, tsne_n=30)], None)
    assert main(["report", str(a), str(b), "-q"]) == 0
    assert "no run metadata beside a.jsonl, b.jsonl" in capsys.readouterr().err
    assert "No run metadata" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_an_empty_shard_file_is_skipped_with_a_note(shards, capsys):
    (shards / "s3.jsonl").write_text("", encoding="utf-8")
    assert main(["report", str(shards), "-q"]) == 0
    assert "s3.jsonl holds no results" in capsys.readouterr().err


def test_the_intervention_records_in_a_results_folder_are_not_taken_for_results(shards, capsys):
    """A run puts interventions.jsonl beside its results; the folder merges without it, and
    `--interventions` of the same folder finds the records."""
    from harness.intervention.results import InterventionResult
    from harness.results.records import append_result

    append_result(shards / "interventions.jsonl", InterventionResult(
        model="tiny-llava", layer=0, benchmark="fixture", intervention="mean", status="error", message="boom"))
    assert main(["report", str(shards), "-q"]) == 0
    assert "interventions.jsonl" not in capsys.readouterr().err
    assert main(["report", str(shards), "--interventions", str(shards), "-q"]) == 0
    assert 'id="interventions"' in (shards / "report.html").read_text(encoding="utf-8")


def test_a_folder_of_shard_folders_renders_one_report(tmp_path, make_triple, run_info, capsys):
    """One folder per shard, each with its results.jsonl (and interventions.jsonl) as a CI artifact or an array
    task leaves them: the parent folder is enough."""
    root = tmp_path / "artifacts"
    _write(root / "shard-1" / "results.jsonl", [make_triple("tiny-llava", 0, tsne_n=30)], run_info, "1/2")
    _write(root / "shard-2" / "results.jsonl", [make_triple("tiny-qwen2.5-vl", 0, tsne_n=30)], run_info, "2/2")
    from tests.report.conftest import record

    (root / "shard-2" / "interventions.jsonl").write_text(record("mean", model="tiny-qwen2.5-vl").to_json() + "\n",
                                                          encoding="utf-8")
    assert main(["report", str(root), "--interventions", str(root)]) == 0
    html = (root / "report.html").read_text(encoding="utf-8")
    assert "tiny-llava" in html and "tiny-qwen2.5-vl" in html and 'id="interventions"' in html
    assert "note: all 2 shards present" in capsys.readouterr().err
