"""Registered hub models load offline from a hub cache holding their pinned commit, in the published layout.

The real loader (`from_pretrained` by hub id and revision) runs against a cache laid out as the hub
lays it out, with files shaped like the published checkpoints (see hub_snapshot.py) and the network
switched off; the loaded model must be the twin it was written from, and capture the same keys.
A revision that is not cached is a one-line error naming the download command.
"""

from __future__ import annotations

import huggingface_hub.constants
import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.errors import KeyspaceError
from harness.models import adapter_for, get_model_spec
from harness.models.adapter import checkpoint_num_layers
from harness.models.tiny import build_tiny

from .hub_snapshot import published_shape_files, write_snapshot

CASES = [("llava-1.5-7b", "llava"), ("qwen2.5-vl-7b", "qwen2.5-vl")]


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty hub cache, and no network: what an offline GPU machine has."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache


def _load(spec):
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


@pytest.mark.parametrize("name,family", CASES)
def test_pinned_revision_loads_offline_in_published_layout(hub_cache, tmp_path, name, family):
    spec = get_model_spec(name)
    twin_model, twin_processor = build_tiny(family, seed=0)
    files = published_shape_files(family, name, twin_model, twin_processor, tmp_path)
    write_snapshot(hub_cache, spec.source, spec.revision, files)

    loaded = _load(spec)
    twin = _load(get_model_spec(f"tiny-{family}"))
    assert type(loaded.model) is type(twin.model)
    assert type(loaded.processor).__name__ == type(twin.processor).__name__
    assert loaded.image_token_id == twin.image_token_id
    assert checkpoint_num_layers(spec) == loaded.num_layers == 4
    # Every weight came from the legacy-named shards (a name the loader failed to map would be re-initialised).
    mine, reference = loaded.model.state_dict(), twin.model.state_dict()
    assert mine.keys() == reference.keys()
    assert all(torch.equal(mine[k], reference[k]) for k in reference)

    samples = get_benchmark("fixture")((), seed=0)[:3]
    rendered = [loaded.adapter.render(loaded.processor, s) for s in samples]
    assert rendered == [twin.adapter.render(twin.processor, s) for s in samples]
    a = capture_keys(loaded, samples, [0, 3], benchmark="t")
    b = capture_keys(twin, samples, [0, 3], benchmark="t")
    for i in (0, 3):
        assert torch.equal(a.layers[i].modality, b.layers[i].modality)
        assert torch.allclose(a.layers[i].vectors, b.layers[i].vectors, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["llava-1.5-7b", "qwen2.5-vl-7b@0123456789abcdef0123456789abcdef01234567"])
def test_uncached_revision_is_one_line_naming_the_download(hub_cache, name):
    spec = get_model_spec(name)
    for attempt in (lambda: _load(spec), lambda: checkpoint_num_layers(spec)):
        with pytest.raises(KeyspaceError) as info:
            attempt()
        message = str(info.value)
        assert "\n" not in message
        assert f"not in the local Hugging Face cache ({hub_cache})" in message
        assert f"`hf download {spec.source} --revision {spec.revision}`" in message


def test_missing_local_directory_files_are_one_line(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "llava"}')
    spec = get_model_spec(f"hf:{tmp_path}")
    with pytest.raises(KeyspaceError, match="written by save_pretrained") as info:
        _load(spec)
    assert "\n" not in str(info.value)
