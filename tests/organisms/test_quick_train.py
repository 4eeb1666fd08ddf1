"""`python -m harness.organisms train --quick` end to end: a reduced set, trained, saved, loadable, manifest true."""

import subprocess
import sys
from pathlib import Path

import pytest

from harness.organisms.build import QUICK, manifest_lines, organisms

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_train_end_to_end(tmp_path):
    out = tmp_path / "organisms"
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--quick", "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (out / "MANIFEST").read_text().splitlines() == manifest_lines(out)
    for name in organisms(QUICK):
        assert (out / name / "model.safetensors").is_file() and (out / name / "README.md").is_file()
        assert f"{name}: held-out accuracy" in run.stdout
    from harness.organisms.checkpoint import load

    model, processor = load(out / "joint-s0")
    assert processor.tokenizer.convert_tokens_to_ids("<image>") == model.config.image_token_id


def test_bad_jobs_is_one_line():
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--jobs", "0"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--jobs: 0 is not a process count" in run.stderr
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--seeds", "0,x"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--seeds: '0,x' is not a list of seeds" in run.stderr
