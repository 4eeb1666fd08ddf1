"""`python -m harness report`: re-render from results (+ metadata sidecar), one-line errors, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.__main__ import main
from harness.report import meta_path, read_run_info, write_run_info
from harness.results.records import write_results

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def results_file(tmp_path, make_triple, run_info) -> Path:
    path = tmp_path / "results.jsonl"
    write_results(path, [make_triple(layer=0, tsne_n=50), make_triple(layer=2, ratio=4.0, tsne_n=50)])
    write_run_info(path, run_info)
    return path


def test_renders_from_results_and_sidecar(results_file, capsys):
    out = results_file.parent / "out" / "report.html"
    assert main(["report", str(results_file), "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "efab50c" in html and "5.23.0" in html  # from the .meta.json sidecar
    assert "No run metadata" not in html
    printed = capsys.readouterr().out
    assert "ratio [CI]" in printed and f"report: {out}" in printed


def test_default_output_is_beside_the_results(results_file):
    assert main(["report", str(results_file), "-q"]) == 0
    assert results_file.with_suffix(".html").is_file()


def test_without_sidecar_says_so(results_file, capsys):
    meta_path(results_file).unlink()
    assert main(["report", str(results_file), "-q"]) == 0
    assert "No run metadata" in results_file.with_suffix(".html").read_text(encoding="utf-8")
    assert "note: No run metadata" in capsys.readouterr().err


def test_torn_line_is_skipped_with_a_note(results_file, capsys):
    with results_file.open("a", encoding="utf-8") as fh:
        fh.write('{"model": "tiny-llava", "layer": 3, "bench')
    n = len(results_file.read_text(encoding="utf-8").splitlines())
    assert main(["report", str(results_file), "-q"]) == 0
    assert f"line {n}: not JSON" in capsys.readouterr().err


@pytest.mark.parametrize(
    "line, words",
    [
        ('{"model": "m", "layer": "x", "benchmark": "b", "status": "passed"}', 'layer is "x", not a int'),
        ('{"model": "m", "layer": 1, "benchmark": 3, "status": "passed"}', "benchmark is 3, not a str"),
        ('{"model": "m", "layer": 1, "benchmark": "b", "status": "passed", "ratio": "big"}', 'ratio is "big", not a float'),
        ('{"model": "m", "layer": 1, "benchmark": "b", "status": "passed", "intra": [1]}', "intra is [1], not a dict"),
        ('{"model": "m", "layer": true, "benchmark": "b", "status": "passed"}', "layer is true/false"),
        ('{"model": "m", "layer": 1}', "no benchmark, status"),
        ("[1, 2]", "a JSON list, not an object"),
    ],
)
def test_line_of_the_wrong_shape_is_skipped_with_its_number(results_file, capsys, line, words):
    with results_file.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    n = len(results_file.read_text(encoding="utf-8").splitlines())
    assert main(["report", str(results_file), "-q"]) == 0
    err = capsys.readouterr().err
    assert f"line {n}: {words}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "results file not found"),
        ("", "no results in"),
        ("not json\n[1, 2]\n{\"model\": \"x\"}\n", "none a TripleResult"),
        (b"\xff\xfe\x00", "not UTF-8"),
    ],
    ids=["missing", "empty", "no-triples", "binary"],
)
def test_bad_results_exit_2_with_one_line(tmp_path, capsys, content, words):
    path = tmp_path / "results.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and err.startswith("python -m harness report: error:")


@pytest.mark.parametrize("meta, words", [("[1]", "expected one JSON object"), ("{oops", "is not JSON")], ids=["list", "broken"])
def test_bad_sidecar_exits_2(results_file, capsys, meta, words):
    meta_path(results_file).write_text(meta, encoding="utf-8")
    assert main(["report", str(results_file)]) == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["report"], ["report", "r.jsonl", "--tsne-cap", "0"], ["nope"], []],
                         ids=["no-results", "bad-cap", "bad-command", "no-command"])
def test_bad_arguments_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_sidecar_round_trip(tmp_path, run_info):
    results = tmp_path / "run" / "results.jsonl"
    assert write_run_info(results, run_info) == tmp_path / "run" / "results.meta.json"
    assert read_run_info(results) == run_info
    assert read_run_info(tmp_path / "other.jsonl") == {}


def test_module_entry_point_loads_no_model(results_file):
    """`python -m harness report` in a fresh interpreter: works, and never imports torch or transformers."""
    code = ("import sys, runpy; sys.argv = ['harness', 'report', sys.argv[1], '-q'];"
            "\ntry: runpy.run_module('harness', run_name='__main__')\nexcept SystemExit as e: assert e.code in (0, None), e.code"
            "\nassert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'a model library was imported'")
    proc = subprocess.run([sys.executable, "-c", code, str(results_file)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "report:" in proc.stdout


@pytest.mark.parametrize("target", ["results", "meta"])
def test_the_report_never_overwrites_an_input(results_file, capsys, target):
    """`python -m harness report R -o R` would replace the results with HTML: refused in one line."""
    out = results_file if target == "results" else meta_path(results_file)
    before = out.read_bytes()
    assert main(["report", str(results_file), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "are the same file" in err[0]
    assert out.read_bytes() == before


def test_one_file_of_two_configurations_is_refused_like_two_files(tmp_path, make_triple, capsys):
    path = tmp_path / "mixed.jsonl"
    write_results(path, [make_triple(layer=0, config_id="aaaaaaaaaaaa"), make_triple(layer=2, config_id="bbbbbbbbbbbb")])
    assert main(["report", str(path), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different configurations (aaaaaaaaaaaa: mixed.jsonl; bbbbbbbbbbbb: mixed.jsonl)" in err[0]
    assert not path.with_suffix(".html").exists()
