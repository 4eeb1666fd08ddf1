"""suites/perf/gpu_session.sh, the one command a session lent the GPU machine runs, dry-run on the CPU with the
quick plan (DEVICE=cpu QUICK=1): what it packs comes back in at most 8 files, one tar per seed holding each
process's organisms and log, and `gather` makes one organisms folder of them."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_dry_run_packs_each_seed_and_gather_reads_it_back(tmp_path):
    out = tmp_path / "session"
    env = {**os.environ, "OUT": str(out), "DEVICE": "cpu", "QUICK": "1", "SEEDS": "0", "PROCESSES": "text-first joint",
           "JOINT_GATE": "off", "ORGANISMS_S": "300"}
    run = subprocess.run(["bash", "suites/perf/gpu_session.sh"], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["logs.tgz", "organisms-s0.tar"] and len(files) <= 8
    with tarfile.open(out / "logs.tgz") as logs:
        names = logs.getnames()
    assert "steps.log" in names and "s0-text-first.log" in names and "s0-joint.log" in names
    parts = tmp_path / "back"
    with tarfile.open(out / "organisms-s0.tar") as tar:
        tar.extractall(parts, filter="data")
    assert (parts / "s0-text-first" / "text-first-s0" / "model.safetensors").is_file()
    assert (parts / "s0-joint" / "joint-s0" / "model.safetensors").is_file()
    from harness.organisms.gather import gather

    result = gather([parts / "s0-text-first", parts / "s0-joint"], tmp_path / "one", log=lambda _: None)
    assert result == {"organisms": ["joint-s0", "text-first-s0"], "evaluated_here": []}
    assert (tmp_path / "one" / "MANIFEST").is_file()


def test_an_empty_seed_list_trains_nothing_and_still_packs_its_logs(tmp_path):
    """SEEDS= (empty, not unset): no organisms, e.g. a call for the full-size step alone; the logs come back."""
    out = tmp_path / "session"
    env = {**os.environ, "OUT": str(out), "DEVICE": "cpu", "SEEDS": "", "SMOKE": "0"}
    run = subprocess.run(["bash", "suites/perf/gpu_session.sh"], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["logs.tgz"]
    with tarfile.open(out / "logs.tgz") as logs:
        assert "steps.log" in logs.getnames()
