"""The generic adapter on checkpoints it has no code for: local save_pretrained directories."""

from __future__ import annotations

import json

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.errors import KeyspaceError
from harness.models import adapter_for, get_model_spec
from harness.models.adapter import checkpoint_num_layers
from harness.models.tiny import build_tiny


def _load(name: str):
    spec = get_model_spec(name)
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


@pytest.mark.parametrize("family,twin", [("qwen2-vl", "tiny-qwen2-vl"), ("llava", "tiny-llava"), ("llava-next", "tiny-llava-next")])
def test_saved_checkpoint_loads_as_generic(tmp_path, family, twin):
    """A twin saved with save_pretrained and read back through hf:/dir gives the twin's own keys."""
    model, processor = build_tiny(family, seed=0)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    generic = _load(f"hf:{tmp_path}")
    reference = _load(twin)
    assert type(generic.adapter).family == "generic"
    assert type(generic.model) is type(reference.model)
    assert type(generic.processor).__name__ == type(reference.processor).__name__
    assert generic.image_token_id == reference.image_token_id
    assert checkpoint_num_layers(get_model_spec(f"hf:{tmp_path}")) == generic.num_layers == 4
    samples = get_benchmark("fixture")((), seed=0)[:2]
    a = capture_keys(generic, samples, [0, 3], benchmark="t")
    b = capture_keys(reference, samples, [0, 3], benchmark="t")
    for i in (0, 3):
        assert torch.equal(a.layers[i].modality, b.layers[i].modality)
        assert torch.allclose(a.layers[i].vectors, b.layers[i].vectors, atol=1e-6, rtol=0)


def test_remote_code_needs_the_flag(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "keyspace-custom",
        "auto_map": {"AutoConfig": "configuration_x.XConfig", "AutoModelForImageTextToText": "modeling_x.XModel"},
    }))
    spec = get_model_spec(f"hf:{tmp_path}")
    with pytest.raises(KeyspaceError, match="pass --ks-trust-remote-code") as exc:
        adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    assert "\n" not in str(exc.value)
    with pytest.raises(KeyspaceError, match="pass --ks-trust-remote-code"):
        checkpoint_num_layers(spec)
