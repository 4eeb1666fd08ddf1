"""Weights a checkpoint lacks are drawn at random when transformers loads it (its load report is a log line). Keys
from random weights would be a confident figure of nothing: a weight upstream of the keys that was not read is a
one-line error; an output head that was not read (keys are the checkpoint's, answers are not) is a note of the run."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from harness.errors import KeyspaceError
from harness.models import adapter_for, get_model_spec
from harness.models.tiny import build_tiny


def _checkpoint_without(tmp_path, *dropped: str):
    """The tiny LLaVA twin saved as a user's checkpoint, with the tensors whose names contain every one of `dropped`
    left out."""
    model, processor = build_tiny("llava", seed=0)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    path = tmp_path / "model.safetensors"
    tensors = load_file(path)
    kept = {k: v for k, v in tensors.items() if not all(d in k for d in dropped)}
    assert len(kept) < len(tensors)
    save_file(kept, path, metadata={"format": "pt"})
    return get_model_spec(f"hf:{tmp_path}")


def _load(spec):
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


def test_a_key_weight_drawn_at_random_stops_the_load_in_one_line(tmp_path):
    spec = _checkpoint_without(tmp_path, "language_model", "layers.1.self_attn.k_proj")
    with pytest.raises(KeyspaceError, match=r"1 weight\(s\) of LlavaForConditionalGeneration are not in the checkpoint .* drawn at "
                                            r"random when it loaded \(e\.g\. .*layers\.1\.self_attn\.k_proj\.weight\), so its keys "
                                            r"would come from random weights") as caught:
        _load(spec)
    assert "\n" not in str(caught.value)


def test_an_output_head_drawn_at_random_is_a_note_and_the_keys_are_read(tmp_path):
    spec = _checkpoint_without(tmp_path, "lm_head")
    loaded = _load(spec)
    (note,) = loaded.load_notes
    assert "its output head (lm_head.weight) is not in the checkpoint" in note and "answers read from its logits" in note


def test_a_whole_checkpoint_loads_without_notes(tmp_path):
    model, processor = build_tiny("llava", seed=0)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    assert _load(get_model_spec(f"hf:{tmp_path}")).load_notes == ()
