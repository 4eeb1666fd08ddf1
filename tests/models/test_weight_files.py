"""Weight files checked from their safetensors headers and sizes alone, before any model loads."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from harness.errors import KeyspaceError
from harness.models.hub import check_weights, safetensors_problem
from harness.models.registry import ModelSpec

SPEC = ModelSpec(name="hf:ckpt", family="generic", source="/nowhere")


@pytest.fixture
def whole(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"a": torch.zeros(64), "b": torch.ones(8, 8)}, str(path))
    return path


def test_a_whole_file_has_no_problem(whole):
    assert safetensors_problem(whole) is None
    check_weights(SPEC, whole.parent)


@pytest.mark.parametrize("keep, needle", [(None, "truncated: "), (20, "truncated: its header alone"), (3, "shorter than")])
def test_a_cut_file_is_named_in_one_line(whole, keep, needle):
    data = whole.read_bytes()
    whole.write_bytes(data[: (len(data) - 100) if keep is None else keep])
    with pytest.raises(KeyspaceError) as info:
        check_weights(SPEC, whole.parent)
    message = str(info.value)
    assert "\n" not in message and str(whole) in message and needle in message


def test_a_header_that_is_not_json(whole):
    whole.write_bytes((8).to_bytes(8, "little") + b"\xff" * 8)
    assert "not the JSON of a safetensors file" in safetensors_problem(whole)


def test_a_shard_named_by_the_index_but_absent(whole):
    index = whole.parent / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors"}}))
    with pytest.raises(KeyspaceError, match="model-00001-of-00002.safetensors: missing"):
        check_weights(SPEC, whole.parent)
