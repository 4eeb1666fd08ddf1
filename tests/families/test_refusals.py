"""Families the harness cannot measure are refused in one line that says why, through `hf:DIR` as a user
runs them; a hybrid decoder's non-attention layer is refused naming its attention layers."""

from __future__ import annotations

import json

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.errors import KeyspaceError
from harness.models import adapter_for, get_model_spec
from harness.models.processors import torchvision_available

from . import zoo_batch_a
from .kit import loaded_checkpoint
from .refused import REFUSED, REFUSED_NEEDS_TORCHVISION
from .zoo import BUILDERS


@pytest.fixture(scope="module")
def samples():
    every = get_benchmark("fixture")((), seed=0)
    return [every[0], every[40]]


def test_a_video_only_processor_without_torchvision_names_torchvision(tmp_path):
    """InstructBLIP-Video's processor holds a video processor (nested in processor_config.json, as transformers 5 saves
    it) and no image processor: without torchvision nothing can be built for images, and the line says torchvision (it
    said "cannot load DIR (Can't load image processor ...)")."""
    if torchvision_available():
        pytest.skip("torchvision is installed here: the processor builds, and the family is refused as video-only")
    model, tok = zoo_batch_a.instructblipvideo_model()
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    video = {"video_processor_type": "InstructBlipVideoVideoProcessor", "size": {"height": 32, "width": 32}, "do_resize": True}
    (tmp_path / "processor_config.json").write_text(
        json.dumps({"processor_class": "InstructBlipVideoProcessor", "num_query_tokens": 4, "video_processor": video}))
    spec = get_model_spec(f"hf:{tmp_path}")
    with pytest.raises(KeyspaceError, match=r"^the processor of .* needs torchvision, which is not installed here; ") as caught:
        adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("family", sorted(REFUSED))
def test_family_is_refused_in_one_line_saying_why(family, samples, tmp_path):
    if family in REFUSED_NEEDS_TORCHVISION and not torchvision_available():
        pytest.skip(f"{family}: its processor needs torchvision, which is not installed here")
    build, reason = REFUSED[family]
    with pytest.raises(KeyspaceError, match=reason) as caught:  # from the config, when loaded (Fuyu, Kosmos-2) or at capture
        loaded = loaded_checkpoint(*build(), tmp_path)
        layers = loaded.attention_layers or list(range(loaded.num_layers))
        capture_keys(loaded, samples, [layers[0]], benchmark="t", batch_size=len(samples))
    assert "\n" not in str(caught.value)


def test_hybrid_layers_without_keys_are_refused_naming_the_attention_layers(samples, tmp_path):
    loaded = loaded_checkpoint(*BUILDERS["qwen3_5"](), tmp_path)
    assert loaded.attention_layers == [1, 3]
    with pytest.raises(KeyspaceError, match=r"layer 0 of .* is not a self-attention layer.*self-attention layers are 1, 3"):
        capture_keys(loaded, samples, [0, 1], benchmark="t", batch_size=len(samples))


def test_queries_of_a_gated_attention_are_refused_naming_the_rotated_ones(samples, tmp_path):
    """Qwen3.5's q_proj writes each head's query and its output gate: it cannot be cut into query heads."""
    loaded = loaded_checkpoint(*BUILDERS["qwen3_5"](), tmp_path)
    with pytest.raises(KeyspaceError, match=r"q_proj writes 128 numbers per token, not 4 heads × 16 .*capture rotated-queries"):
        capture_keys(loaded, samples, [1], benchmark="t", kind="queries", batch_size=len(samples))
    bank = capture_keys(loaded, samples, [1], benchmark="t", kind="rotated-queries", batch_size=len(samples))
    assert bank.layout(1) == (4, 16) and bank.layers[1].vectors.shape[1] == 64


def test_labels_that_differ_from_the_written_positions_stop_the_capture_with_the_counts(samples, monkeypatch):
    """One special token relabelled image: the proof on the first batch sees one more label than writes."""
    from harness.models.labels import IMAGE, SPECIAL

    spec = get_model_spec("tiny-llava")
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    encode = type(loaded.adapter).encode

    def one_more_image(self, loaded, chunk):
        batch, labels = encode(self, loaded, chunk)
        first_special = (labels[0] == SPECIAL).nonzero()[0, 0]
        labels[0, first_special] = IMAGE
        return batch, labels

    monkeypatch.setattr(type(loaded.adapter), "encode", one_more_image)
    written = 2 * 64  # tiny-llava: 64 image tokens per prompt
    with pytest.raises(KeyspaceError, match=rf"the labels say {written + 1} image tokens in the first batch, the model wrote "
                                            rf"vision features at {written} positions \({written} in both\)"):
        capture_keys(loaded, samples, [0], benchmark="t", batch_size=len(samples))
