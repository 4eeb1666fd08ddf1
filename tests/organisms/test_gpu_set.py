"""The GPU-trained set of amendment 4 (fixtures/organisms-gpu: records, manifests and the pooled study, no
weights): every committed file is what its manifest says, the pooled study is of the pooled manifest, and that
manifest is the committed CPU set's and the GPU set's, file for file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness.models.organisms import ROOT

GPU = ROOT.parent / "organisms-gpu"
pytestmark = pytest.mark.skipif(not (GPU / "study-pooled.json").is_file(), reason="no GPU-trained set committed")


def _lines(path: Path) -> dict[str, str]:
    return {rel: digest for digest, rel in (line.split("  ", 1) for line in path.read_text().splitlines())}


def test_the_committed_records_are_the_ones_the_manifest_names():
    manifest = _lines(GPU / "MANIFEST")
    committed = sorted(p.relative_to(GPU).as_posix() for p in GPU.glob("*-s*/*") if p.is_file())
    assert committed and all(rel in manifest for rel in committed)
    for rel in committed:
        assert hashlib.sha256((GPU / rel).read_bytes()).hexdigest() == manifest[rel], rel
    for rel in manifest:  # the weights are named, though not committed
        assert rel.split("/")[1] in ("README.md", "chat_template.jinja", "config.json", "generation_config.json",
                                     "model.safetensors", "processor_config.json", "tokenizer.json", "tokenizer_config.json",
                                     "training.json")


def test_the_pooled_study_is_of_the_committed_cpu_set_and_this_gpu_set():
    study = json.loads((GPU / "study-pooled.json").read_text())
    assert hashlib.sha256((GPU / "MANIFEST-pooled").read_bytes()).hexdigest() == study["manifest_sha256"]
    assert _lines(GPU / "MANIFEST-pooled") == {**_lines(ROOT / "MANIFEST"), **_lines(GPU / "MANIFEST")}
    devices = {name: m["training_device"] for name, m in study["organisms"].items()}
    assert {n for n, d in devices.items() if d == "cuda"} == {p.parent.name for p in GPU.glob("*-s*/training.json")}
    for name in (n for n, d in devices.items() if d == "cuda"):
        record = json.loads((GPU / name / "training.json").read_text())
        assert record["environment"]["training_device"]["device"] == "cuda"
    assert set(study["decision_by_device"]) == {"cpu", "cuda"}
    # reading (a) is the committed CPU study's decision in every answer and count
    committed = json.loads((ROOT / "study.json").read_text())["decision"]
    cpu = study["decision_by_device"]["cpu"]
    assert cpu["q1"]["answer"] == committed["q1"]["answer"] and cpu["q2"]["answer"] == committed["q2"]["answer"]
    assert cpu["q2"]["intervention"] == committed["q2"]["intervention"]
    assert cpu["q1"]["layers_text_first_above_joint"] == committed["q1"]["layers_text_first_above_joint"]
