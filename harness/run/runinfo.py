"""Run metadata recorded beside the results: versions, device, git commit, options, samples."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import torch
import transformers

import harness
from harness.analysis.triple import samples_digest
from harness.models.organisms import ROOT as ORGANISMS
from harness.results.study import summary as organisms_study
from harness.run.options import RunConfig


def git_commit(root: Path) -> str:
    """The checkout's commit, "+ uncommitted changes" after it where tracked files differ from it (the figures
    then come from code no commit holds), "unknown" outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        commit = out.stdout.strip()
        if not commit:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True,
                               text=True, timeout=5)
        return commit + (" + uncommitted changes" if dirty.returncode == 0 and dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def utc_now() -> str:
    """The time now, UTC, to the second: "2026-12-05T08:20:13Z"."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu ({platform.processor() or platform.machine()})"


def run_info(cfg: RunConfig, samples: dict[str, list[str]]) -> dict:
    """Run metadata; where the run measures a committed organism, the organisms study's answer beside it."""
    study = organisms_study(ORGANISMS) if any(m.startswith("organism-") for m in cfg.models) else None
    return {
        "harness": harness.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "device": f"{cfg.device}: {device_name(cfg.device)}",
        "dtype": cfg.dtype,
        "seed": cfg.seed,
        "git_commit": git_commit(Path(harness.__file__).parent),
        "finished": utc_now(),  # when this metadata was written: the run's end
        "config_id": cfg.config_id(),
        "options": cfg.as_text(),
        "samples": {b: {"count": len(ids), "digest": samples_digest(ids), "ids": ids} for b, ids in samples.items()},
        **({"organisms_study": study} if study else {}),
    }
