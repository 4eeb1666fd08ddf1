"""Every record carries its schema, and no reader takes a line of another schema: the report and a merge of
shards name and skip it (a file with none readable is one line, exit 2), a run resuming or merging into its
own file refuses it in one line. Never a figure read with a default, never a control's figures on the key of
its real triple (what a lost `extra` did: later lines win per key).

The records are one real triple and its shuffled-labels control (organism-joint, layer 3) from
data/results-2026-12.jsonl, a file written before records carried their schema.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.__main__ import main
from harness.analysis.triple import AnalysisSettings, analyze_layer
from harness.errors import KeyspaceError
from harness.report.cli import load_results
from harness.results import records
from harness.results.merge import merge_files
from harness.results.records import TripleResult, append_result, parse_lines, read_results, write_results
from harness.run.controls import synthetic_bank, synthetic_strata

DATA = Path(__file__).parent / "data" / "results-2026-12.jsonl"
ROOT = Path(__file__).resolve().parents[2]
# field renamed as `sed 's/"old":/"new":/'` renames it (the first match of each line), and what the skip names
RENAMES = {
    "extra": ("extras", "unknown field extras; no extra: not a schema-2 record"),
    "mmd2": ("mmd_sq", "unknown field mmd_sq; no mmd2: not a schema-2 record"),
    "ratio": ("gap_ratio", "unknown field gap_ratio; no ratio: not a schema-2 record"),
    "p_value": ("pvalue", "unknown field pvalue; no p_value: not a schema-2 record"),
    "n_image": ("n_img", "unknown field n_img; no n_image: not a schema-2 record"),
    "tiers": ("tier", "extra holds unknown figure tier: not a schema-2 record"),
}


@pytest.fixture(scope="module")
def legacy() -> list[str]:
    """The real triple's line, then its control's, as they were written before the schema."""
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    pair = [r for r in rows if (r["model"], r["layer"]) == ("organism-joint", 3)]
    assert [r["extra"].get("control", "") for r in pair] == ["", "shuffled-labels"]
    return [json.dumps(r, ensure_ascii=False, allow_nan=True) for r in pair]


@pytest.fixture(scope="module")
def lines(legacy) -> list[str]:
    """The same two records as this harness writes them."""
    return [TripleResult.from_dict(json.loads(line)).to_json() for line in legacy]


def _renamed(lines: list[str], old: str, new: str) -> list[str]:
    return [line.replace(f'"{old}":', f'"{new}":', 1) for line in lines]


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_every_record_written_carries_the_schema(tmp_path):
    r = TripleResult(model="m", layer=1, benchmark="b", status="passed")
    append_result(tmp_path / "a.jsonl", r)
    write_results(tmp_path / "w.jsonl", [r])
    for name in ("a.jsonl", "w.jsonl"):
        (line,) = (tmp_path / name).read_text().splitlines()
        assert json.loads(line)["schema"] == records.SCHEMA and isinstance(records.SCHEMA, int)


def test_a_line_written_before_the_schema_reads_as_this_schema(legacy):
    read, problems = parse_lines(legacy)
    assert problems == [] and [r.key for r in read] == [("organism-joint", 3, "fixture", ""),
                                                        ("organism-joint", 3, "fixture", "shuffled-labels")]
    assert all(r.schema == records.SCHEMA for r in read)


@pytest.mark.parametrize("field", RENAMES)
def test_a_renamed_field_is_named_and_never_read_with_a_default(lines, field):
    new, words = RENAMES[field]
    read, problems = parse_lines(_renamed(lines, field, new))
    assert read == [] and problems == [f"line {n}: {words} (a file of another harness version?)" for n in (1, 2)]


def test_a_record_with_a_field_missing_is_skipped(lines):
    data = json.loads(lines[0])
    del data["p_value"]
    read, problems = parse_lines([json.dumps(data), lines[1]])
    assert [r.key[3] for r in read] == ["shuffled-labels"]
    assert problems == ["line 1: no p_value: not a schema-2 record (a file of another harness version?)"]


def test_a_control_that_lost_its_name_never_replaces_its_triple(lines):
    data = json.loads(lines[1])
    del data["extra"]["control"]
    read, problems = parse_lines([lines[0], json.dumps(data, allow_nan=True)])
    assert [(r.key, r.status) for r in read] == [(("organism-joint", 3, "fixture", ""), json.loads(lines[0])["status"])]
    assert problems == ["line 2: extra holds a control's expect_pass but no control name: read, it would replace the "
                        "real triple's record"]


@pytest.mark.parametrize("version", [3, 1, "2", True, None], ids=repr)
def test_a_line_of_another_schema_version_is_skipped_with_its_version(lines, version):
    data = {**json.loads(lines[0]), "schema": version}
    read, problems = parse_lines([json.dumps(data, allow_nan=True)])
    assert read == [] and problems == [
        f"line 1: results schema {json.dumps(version)}, this harness reads schema 2 (and lines without a schema, "
        "written before it): read the file with the harness version that wrote it"]


def test_a_report_of_a_file_of_another_schema_is_one_line_exit_2(tmp_path, lines, capsys):
    path = _write(tmp_path / "old.jsonl", _renamed(lines, "extra", "extras"))
    assert main(["report", str(path), "-o", str(tmp_path / "old.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and not (tmp_path / "old.html").exists()
    assert err.startswith(f"python -m harness report: error: no results in {path} (2 non-empty lines, none a TripleResult: "
                          "line 1: unknown field extras; no extra: not a schema-2 record")


def test_a_report_names_each_line_of_another_schema_and_keeps_the_rest(tmp_path, lines, capsys):
    newer = json.loads(lines[0])
    newer.update(schema=3, mmd2=-1.0)
    path = _write(tmp_path / "mixed.jsonl", [*lines, json.dumps(newer, allow_nan=True)])
    assert main(["report", str(path), "-o", str(tmp_path / "mixed.html"), "-q"]) == 0
    assert f"note: skipped {path}, line 3: results schema 3, this harness reads schema 2" in capsys.readouterr().err
    read, _ = load_results(path)
    assert [r.mmd2 for r in read] == [json.loads(line)["mmd2"] for line in lines]


def test_a_merge_of_shards_names_each_line_of_another_schema(tmp_path, lines):
    ours = _write(tmp_path / "shards" / "1.jsonl", [lines[0]])
    other = _write(tmp_path / "shards" / "2.jsonl", _renamed([lines[1]], "extra", "extras"))
    with pytest.raises(KeyspaceError, match=r"^no results in .*2.jsonl \(1 non-empty lines, none a TripleResult: line 1: "
                                            r"unknown field extras; no extra: not a schema-2 record"):
        merge_files([ours, other], load_results)  # a whole shard unreadable: the merge would lack it
    _write(other, [*_renamed([lines[1]], "extra", "extras"), lines[1]])
    results, _, notes = merge_files([ours, other], load_results)
    assert [(r.key[3], r.mmd2) for r in results] == [("", json.loads(lines[0])["mmd2"]),
                                                      ("shuffled-labels", json.loads(lines[1])["mmd2"])]
    assert f"skipped {other}, line 1: unknown field extras; no extra: not a schema-2 record (a file of another harness version?)" in notes


def test_a_run_refuses_to_keep_a_file_of_another_schema_and_skips_only_a_torn_line(tmp_path, lines):
    path = _write(tmp_path / "r.jsonl", [lines[0], *_renamed([lines[1]], "extra", "extras")])
    with pytest.raises(KeyspaceError) as e:
        read_results(path)
    assert str(e.value) == (f"{path} line 2: unknown field extras; no extra: not a schema-2 record (a file of another "
                            "harness version?); a run keeps and extends only a results file it reads whole: give another "
                            "--ks-results, or drop --ks-resume to start this one anew")
    torn = _write(tmp_path / "t.jsonl", lines)
    with torn.open("a", encoding="utf-8") as fh:
        fh.write(lines[0][:40])  # a kill mid-write: resuming is what the file is for
    assert [r.key[3] for r in read_results(torn)] == ["", "shuffled-labels"]


def test_every_figure_the_analysis_writes_is_one_of_the_schema():
    bank = synthetic_bank(seed=0)
    settings = AnalysisSettings(threshold=1.0, alpha=0.01, permutations=100, n_boot=20, tsne_cap=50)
    written = json.loads(analyze_layer(bank, 0, settings, strata=synthetic_strata(bank)).to_json())
    assert set(written["extra"]) <= records.EXTRA and records.shape_problem(written) is None


def test_resume_with_a_file_of_another_schema_is_one_line(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the subprocess runs this checkout's harness
    shutil.copy(ROOT / "suites" / "test_keyspace.py", pytester.path / "test_keyspace.py")
    results = pytester.path / "out" / "results.jsonl"
    args = ["--ks-models", "tiny-llava", "--ks-layers", "0", "--ks-samples", "6", "--ks-permutations", "100",
            "--ks-no-mechanism", "--ks-baselines", "none", "--ks-no-cache", "--ks-results", str(results),
            "--ks-report", str(results.with_suffix(".html")), "-p", "no:cacheprovider"]
    assert pytester.runpytest_subprocess(*args).ret in (0, 1)
    _write(results, _renamed(results.read_text(encoding="utf-8").splitlines(), "extra", "extras"))
    before = results.read_bytes()
    run = pytester.runpytest_subprocess(*args, "--ks-resume")
    errors = [line for line in run.errlines if line.strip()]
    assert run.ret == pytest.ExitCode.USAGE_ERROR and errors == [
        f"ERROR: {results} line 1: unknown field extras; no extra: not a schema-2 record (a file of another harness "
        "version?); a run keeps and extends only a results file it reads whole: give another --ks-results, or drop "
        "--ks-resume to start this one anew"], run.stdout.str()[-1500:]
    assert results.read_bytes() == before  # kept as it was, for the harness that can read it
