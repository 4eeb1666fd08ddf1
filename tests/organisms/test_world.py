"""The organisms' world: answers true of their images, the fixture benchmark held out by construction."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.organisms import data, world
from harness.organisms.build import Plan

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "fixture"


def _fixture_rows():
    return [json.loads(line) for line in (FIXTURE / "questions.jsonl").read_text(encoding="utf-8").splitlines()]


def _all_world_strings(w):
    out = set(data.corpus_texts(w))
    for s in w.scenes + w.text_scenes + w.eval_scenes:
        for lang in world.LANGUAGES:
            out.add(world.caption(s, lang))
            out.update(qa.question for qa in world.questions(s, lang))
    return out


@pytest.fixture(scope="module")
def small_world():
    return data.make_world(Plan().seed, n_images=240, n_text=240, n_eval=60, n_probe=30)


def test_no_fixture_question_is_a_world_string(small_world):
    fixture_questions = {r["question"] for r in _fixture_rows()}
    assert not fixture_questions & _all_world_strings(small_world)
    # every question template of the world, whatever the scene, differs from the fixture's questions
    templates = {t for qs in world.QUESTIONS.values() for _, en, zh in qs for t in (en, zh)}
    filled = {t.format(shape=s) for t in templates for s in list(world.SHAPES) + list(world.SHAPES.values())}
    assert not fixture_questions & filled


def test_no_fixture_image_is_drawn_by_the_world():
    """The full plan's training images, pixel for pixel, against every fixture image."""
    plan = Plan()
    w = data.make_world(plan.seed, n_images=plan.n_images, n_text=0, n_eval=plan.n_eval)
    fixture = {Image.open(p).convert("RGB").tobytes() for p in (FIXTURE / "images").glob("*.png")}
    assert len(fixture) == 36
    drawn = {img.tobytes() for img in w.images + w.eval_images}
    assert not fixture & drawn


def test_held_out_scenes_are_not_training_scenes(small_world):
    """Held-out images come from their own stream: none repeats a training image."""
    train = {img.tobytes() for img in small_world.images}
    assert not any(img.tobytes() in train for img in small_world.eval_images + small_world.probe_images)
    assert {s["kind"] for s in small_world.probe_scenes} == set(world.ONE_COLOUR)


def test_a_cue_is_the_text_corpus_format_and_a_conflicting_one_changes_only_the_asked_attribute(small_world):
    rng = np.random.default_rng(0)
    for s in small_world.scenes[:60]:
        for qa in world.questions(s, "en"):
            other = world.altered(s, qa.kind, rng)
            changed = {k for k in s if s[k] != other[k]}
            assert changed == {qa.kind} and world.answer_word(other, qa.kind, "en") != qa.answer
            assert world.cued(other, qa) == f"{world.caption(other, 'en')} {qa.question}"
            assert world.answer_word(other, qa.kind, "en") in world.caption(other, "en").lower() or qa.kind == "count"
    with pytest.raises(ValueError, match="have no 'shape'"):
        world.altered({"kind": "arrow", "direction": "up", "colour": "red"}, "shape", rng)


def _dominant_colour(img, background):
    arr = np.asarray(img).reshape(-1, 3)
    far = arr[np.abs(arr.astype(int) - np.array(background)).sum(1) > 60]
    names = list(world.COLOURS)
    refs = np.array([world.COLOURS[n][0] for n in names])
    nearest = np.abs(far[:, None, :].astype(int) - refs[None]).sum(-1).argmin(1)
    return names[np.bincount(nearest, minlength=len(names)).argmax()]


def test_answers_are_true_of_their_images(small_world):
    """The colour an answer names is the colour drawn; a shape on the left has its mass on the left."""
    checked = 0
    for s, img in zip(small_world.scenes, small_world.images):
        if s["kind"] in ("shape", "count", "arrow"):
            assert _dominant_colour(img, world.BACKGROUNDS[s["bg"]]) == s["colour"], s
            checked += 1
        if s["kind"] == "shape" and s["position"] in ("left", "right"):
            arr = np.abs(np.asarray(img).astype(int) - np.array(world.BACKGROUNDS[s["bg"]])).sum(-1) > 60
            cx = np.nonzero(arr)[1].mean() / img.width
            assert (cx < 0.5) == (s["position"] == "left"), s
    assert checked > 50


def test_questions_have_their_answer_among_the_candidates(small_world):
    for s in small_world.scenes[:60]:
        for lang in world.LANGUAGES:
            for qa in world.questions(s, lang):
                assert qa.answer in qa.candidates and len(set(qa.candidates)) == len(qa.candidates)
