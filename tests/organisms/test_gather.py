"""`python -m harness.organisms gather` (amendment 4): one organisms folder from several train processes' folders,
with the evaluation a cut process did not reach done here, equal to what the process would have written."""

import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_gather_merges_the_parts_and_evaluates_what_a_cut_process_saved(tmp_path, one_thread):
    from harness.organisms.build import QUICK, manifest_text, train_seed
    from harness.organisms.checkpoint import write_record
    from harness.organisms.gather import gather

    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    train_seed(0, a, replace(QUICK, histories=("text-first",)), None)
    records, laps = train_seed(0, b, replace(QUICK, histories=("joint",), text_gate=None), None)
    assert [s["stage"] for s in records["joint-s0"]["history"]] == ["joint-mixed"]  # no gate: no text stage of its own
    # b's process cut after its first save: the record without the evaluation, no card
    full = json.loads((b / "joint-s0" / "training.json").read_text())
    write_record(b / "joint-s0", "", {k: v for k, v in full.items() if k not in ("heldout", "conflict_probe")})
    (a / "timing.json").write_text('{"wall_s": 1.0}\n')
    said: list[str] = []
    assert gather([a, b], out, log=said.append) == {"organisms": ["joint-s0", "text-first-s0"], "evaluated_here": ["joint-s0"]}
    got = json.loads((out / "joint-s0" / "training.json").read_text())
    assert got["heldout"] == full["heldout"] and got["conflict_probe"] == full["conflict_probe"]
    assert "cut by a time limit" in got["evaluated_by_gather"]["why"] and (out / "joint-s0" / "README.md").read_text()
    assert _sha(out / "joint-s0" / "model.safetensors") == _sha(b / "joint-s0" / "model.safetensors")
    assert json.loads((out / "text-first-s0" / "training.json").read_text()) == json.loads((a / "text-first-s0" / "training.json").read_text())
    assert (out / "MANIFEST").read_text() == manifest_text(out)
    assert json.loads((out / "timing.json").read_text())["parts"] == {str(a): {"wall_s": 1.0}, str(b): None}
    assert any("joint-s0: evaluated here" in line for line in said)
    # weights held against a manifest: the gathered one names them; a changed digest is "different"
    from harness.organisms.gather import check_weights

    assert check_weights(out, out / "MANIFEST") == {"joint-s0": "same", "text-first-s0": "same"}
    lines = [line for line in (out / "MANIFEST").read_text().splitlines() if "  text-first-s0/" not in line]
    edited = tmp_path / "EDITED"
    edited.write_text("\n".join("0" * 64 + line[64:] if line.endswith("joint-s0/model.safetensors") else line for line in lines) + "\n")
    assert check_weights(out, edited) == {"joint-s0": "different", "text-first-s0": "new"}
    # the same organism twice, nothing to gather, a filled --out: one line each
    with pytest.raises(SystemExit, match="joint-s0 is in both"):
        gather([b, b], tmp_path / "o2")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no organism"):
        gather([tmp_path / "empty"], tmp_path / "o3")
    with pytest.raises(SystemExit, match="exists already"):
        gather([a], out)


def test_gather_and_the_gate_switch_are_one_line_on_bad_input(tmp_path):
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "gather", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode != 0 and run.stderr.strip().splitlines()[-1].startswith("gather: ") and "is not a folder" in run.stderr
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "gather", str(tmp_path), "--out", str(tmp_path / "o"),
                          "--expect", str(tmp_path / "NOPE")], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--expect: " in run.stderr and "is not a file; give a MANIFEST" in run.stderr
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--text-gate", "none"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--text-gate: 'none' is not a share; give a number from 0 to 1, e.g. 0.8, or off" in run.stderr
