"""Run metadata recorded beside the results: versions, device, git commit, options, samples."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import torch
import transformers

import harness
from harness.analysis.triple import samples_digest
from harness.models.organisms import ROOT as ORGANISMS
from harness.results.study import summary as organisms_study
from harness.run.options import RunConfig


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


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
        "config_id": cfg.config_id(),
        "options": cfg.as_text(),
        "samples": {b: {"count": len(ids), "digest": samples_digest(ids), "ids": ids} for b, ids in samples.items()},
        **({"organisms_study": study} if study else {}),
    }
