"""The registry: real checkpoints, tiny twins, revision overrides and hf: names."""

from __future__ import annotations

import re

import pytest

from harness.errors import KeyspaceError
from harness.models import adapter_for, get_model_spec, model_names

REAL = {
    "llava-1.5-7b": ("llava-hf/llava-1.5-7b-hf", "llava", 32),
    "qwen2.5-vl-7b": ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl", 28),
    "qwen2-vl-7b": ("Qwen/Qwen2-VL-7B-Instruct", "qwen2-vl", 28),
    "llava-next-7b": ("llava-hf/llava-v1.6-mistral-7b-hf", "llava-next", 32),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_checkpoints(name):
    spec = get_model_spec(name)
    assert (spec.source, spec.family, spec.num_layers) == REAL[name]
    assert spec.revision and spec.default_layers
    assert adapter_for(spec.family).family == spec.family


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_checkpoints_pin_a_commit(name):
    """A branch name (main) would let the weights under a stored baseline change silently."""
    assert re.fullmatch(r"[0-9a-f]{40}", get_model_spec(name).revision)


def test_tiny_twins_are_registered():
    assert {"tiny-llava", "tiny-qwen2.5-vl", "tiny-qwen2-vl", "tiny-llava-next"} <= set(model_names())


def test_revision_override():
    spec = get_model_spec("qwen2.5-vl-7b@deadbeef")
    assert spec.revision == "deadbeef" and spec.name == "qwen2.5-vl-7b@deadbeef" and spec.family == "qwen2.5-vl"
    with pytest.raises(KeyspaceError, match="no revisions"):
        get_model_spec("tiny-llava@abc")
    with pytest.raises(KeyspaceError, match="empty revision"):
        get_model_spec("llava-1.5-7b@")


def test_hf_names(tmp_path):
    spec = get_model_spec("hf:Org/Some-VLM@v1.0")
    assert (spec.family, spec.source, spec.revision, spec.num_layers) == ("generic", "Org/Some-VLM", "v1.0", None)
    assert get_model_spec(f"hf:{tmp_path}").source == str(tmp_path.resolve())
    with pytest.raises(KeyspaceError, match="not a hub id"):
        get_model_spec("hf:just-a-name")
    with pytest.raises(KeyspaceError, match="no directory"):
        get_model_spec(f"hf:{tmp_path}/missing")


def test_unknown_name_lists_valid_ones():
    with pytest.raises(KeyspaceError, match="unknown model 'nope'; valid models: .*tiny-qwen2.5-vl"):
        get_model_spec("nope")
