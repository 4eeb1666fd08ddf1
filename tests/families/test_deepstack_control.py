"""The text-as-image control on families that add image features inside the decoder (deepstack: Qwen3-VL
after its first layers, Granite 4 Vision before them): under the control no image reaches the image
positions at any layer, so their keys are the same whichever images the prompts held. DiffusionGemma computes the
prompt's keys in its encoder, not in what get_decoder() returns (its canvas decoder): the control must swap there
(before 2026-12-05 it hooked the canvas decoder, which the capture never reached, and the control passed on the real
images, lower bound 14).

A control that swaps nothing is an error, not a figure."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.models.labels import IMAGE
from harness.run.controls import text_as_image

from .kit import loaded_checkpoint
from .zoo import BUILDERS


@pytest.fixture(scope="module", params=["qwen3_vl", "granite4_vision", "granite_docling", "cohere_compass", "diffusion_gemma"])
def loaded(request, tmp_path_factory):
    return loaded_checkpoint(*BUILDERS[request.param](), tmp_path_factory.mktemp(request.param))


def _image_keys(loaded, samples, layer, control: bool) -> torch.Tensor:
    with text_as_image(loaded, seed=0) if control else torch.no_grad():
        bank = capture_keys(loaded, samples, [layer], benchmark="fixture", batch_size=len(samples))
    lb = bank.layers[layer]
    return lb.vectors[lb.modality == IMAGE]


def test_no_image_reaches_the_image_positions_under_the_control(loaded):
    every = get_benchmark("fixture")((), seed=0)
    samples = every[:4]
    swapped = [replace(s, images=tuple(o.images)) for s, o in zip(samples, every[4:8])]  # other pictures, same size
    layer = loaded.num_layers - 1  # past the layers where deepstack features are added
    plain = _image_keys(loaded, samples, layer, control=False), _image_keys(loaded, swapped, layer, control=False)
    assert plain[0].shape == plain[1].shape and not torch.allclose(*plain)  # the images do reach them without it
    controlled = _image_keys(loaded, samples, layer, control=True), _image_keys(loaded, swapped, layer, control=True)
    assert torch.equal(*controlled)


def test_a_control_that_swaps_nothing_is_an_error(loaded):
    with pytest.raises(RuntimeError, match="never called, so no image position was swapped"):
        with text_as_image(loaded, seed=0):
            pass  # no capture ran inside
