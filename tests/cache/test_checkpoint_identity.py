"""A local checkpoint's key follows what is in its directory, and which image backend runs here."""

from __future__ import annotations

import os

import pytest

from cache_banks import make_bank, make_config
from harness.capture import cache_key
from harness.capture.cache import fetch
from harness.capture.cache_key import key_for
from harness.models import get_model_spec


@pytest.fixture
def checkpoint(tmp_path):
    directory = tmp_path / "ckpt"
    directory.mkdir()
    (directory / "config.json").write_text('{"model_type": "llava"}')
    (directory / "preprocessor_config.json").write_text('{"image_processor_type": "CLIPImageProcessor"}')
    (directory / "model.safetensors").write_bytes(b"\0" * 4096)
    return directory


def _key(directory, tmp_path):
    return key_for(get_model_spec(f"hf:{directory}"), make_config(tmp_path).capture_options, "fixture", ["a"], [0])


def test_the_key_names_the_image_processor_and_backend(checkpoint, tmp_path, monkeypatch):
    key = _key(checkpoint, tmp_path)
    assert key.checkpoint["image_processor"] == "CLIPImageProcessor"
    assert key.checkpoint["image_backend"] == cache_key.image_backend()
    monkeypatch.setattr(cache_key, "image_backend", lambda: "torchvision 0.0-other")
    assert _key(checkpoint, tmp_path).digest != key.digest


def test_small_files_by_content(checkpoint, tmp_path):
    key = _key(checkpoint, tmp_path)
    assert _key(checkpoint, tmp_path).digest == key.digest  # reading does not change it
    (checkpoint / "config.json").write_text('{"model_type": "llavb"}')  # same size, other bytes
    assert _key(checkpoint, tmp_path).digest != key.digest


def test_large_files_by_size_and_modification_time(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_key, "HASHED_UP_TO", 1024)  # the 4 KiB weights count as large
    weights = checkpoint / "model.safetensors"
    key = _key(checkpoint, tmp_path)
    weights.write_bytes(b"\1" * 4096)  # same size: only the time tells
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert _key(checkpoint, tmp_path).digest != key.digest


def test_a_checkpoint_changed_in_place_is_recaptured(checkpoint, tmp_path):
    captures = []

    def capture():
        captures.append(1)
        return make_bank()

    root = tmp_path / "cache"
    fetch(root, _key(checkpoint, tmp_path), capture, label="c")
    _, notes = fetch(root, _key(checkpoint, tmp_path), capture, label="c")
    assert len(captures) == 1 and "from cache" in notes[-1]
    (checkpoint / "model.safetensors").write_bytes(b"\1" * 4096)  # retrained in place
    fetch(root, _key(checkpoint, tmp_path), capture, label="c")
    assert len(captures) == 2
