"""The attention-bias knob on image keys (harness.organisms.attention_bias) against known answers: a bias of 0
is the plain model and a bias of −10⁴ is the image masked out of attention, on the KV-cached scorer and on the
full passes alike, with padded batches; text-only prompts are untouched; a bias moves the answers."""

import numpy as np
import pytest

from harness.organisms import evaluate
from harness.organisms.attention_bias import biased


@pytest.fixture(scope="module")
def items(tiny):
    w, _, _ = tiny
    probe = evaluate.conflict_probe(w.probe_scenes, w.probe_images, seed=1)
    return {c: probe.items(c) for c in ("image", "conflict", "text", "masked")}


@pytest.mark.parametrize("scorer", [evaluate.scores, evaluate.full_scores])
def test_a_zero_bias_is_the_plain_model(tiny, items, scorer):
    _, model, processor = tiny
    everything = [it for c in ("image", "conflict", "text", "masked") for it in items[c]]
    plain = scorer(model, processor, everything)
    with biased(model, 0.0):
        got = scorer(model, processor, everything)
    for g, p in zip(got, plain):
        np.testing.assert_allclose(g, p, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scorer", [evaluate.scores, evaluate.full_scores])
def test_a_very_negative_bias_is_the_image_masked(tiny, items, scorer):
    _, model, processor = tiny
    masked = scorer(model, processor, items["masked"])
    with biased(model, -1e4):
        got = scorer(model, processor, items["image"])
    for g, m in zip(got, masked):
        np.testing.assert_allclose(g, m, rtol=1e-4, atol=1e-4)


def test_a_bias_moves_image_answers_and_leaves_text_only_prompts(tiny, items):
    _, model, processor = tiny
    plain_image, plain_text = evaluate.scores(model, processor, items["image"]), evaluate.scores(model, processor, items["text"])
    with biased(model, 2.0):
        image, text = evaluate.scores(model, processor, items["image"]), evaluate.scores(model, processor, items["text"])
    assert max(np.abs(a - b).max() for a, b in zip(image, plain_image)) > 1e-3
    for a, b in zip(text, plain_text):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_only_the_chosen_layers_are_biased(tiny, items):
    _, model, processor = tiny
    with biased(model, 2.0, layers=[0]):
        first = evaluate.scores(model, processor, items["image"][:4])
    with biased(model, 2.0):
        every = evaluate.scores(model, processor, items["image"][:4])
    assert max(np.abs(a - b).max() for a, b in zip(first, every)) > 1e-4


def test_the_intervention_arm_reports_every_bias_beside_the_maps(tiny, monkeypatch):
    from harness.organisms import intervene
    from harness.organisms.intervene import BIASES, fitting_items, intervention_arm

    monkeypatch.setattr(intervene, "BANDS", {"early": (0,), "late": (1,)})  # the tiny decoder has 2 layers
    w, model, processor = tiny
    probe = evaluate.conflict_probe(w.probe_scenes, w.probe_images, seed=1)
    arm = intervention_arm(model, processor, fitting_items(w.eval_scenes, w.eval_images), probe)
    for b in BIASES:
        run = arm["runs"][f"bias@all,b={b:+g}"]
        assert set(run) == {"follows_cue", "accuracy"} and run["follows_cue"]["n"] == len(probe.questions)
    assert "keys" in arm["runs"]["ot@all"]
