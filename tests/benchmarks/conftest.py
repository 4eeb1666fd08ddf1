"""Benchmark tests run offline: no hub access, caches in a temporary directory."""

from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # before `datasets` is first imported (it reads this once)
os.environ["HF_DATASETS_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def offline_hub(tmp_path_factory, monkeypatch):
    """Offline, with empty caches: a copy of MMMU in the user's cache must not leak into a test."""
    import datasets
    import huggingface_hub.constants as hub

    cache = tmp_path_factory.mktemp("hf-cache")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(cache / "hub"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache / "datasets")
    monkeypatch.delenv("KS_DATA_DIR", raising=False)
