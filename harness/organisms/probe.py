"""The text-bias probe as the harness runs it: behaviour beside the key-space figures.

For a model trained on the organisms' world (a checkpoint under fixtures/organisms, or any folder whose
training.json names an organism), the conflict probe (evaluate.conflict_probe) is asked on the first
SUITE_SCENES of the world's held-out probe scenes: the colour question with the image alone, with a cue
caption naming another colour, and as the cue alone. Other models get no probe: its questions and its
answer scoring assume the world's vocabulary and the organisms' prompt format.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.results.figures import TextBias

from . import data, evaluate

SUITE_SCENES = 100  # of the probe's 300 held-out scenes (× 2 languages); the full probe is in each training.json
PROBE_SEED_OFFSET = 21  # the cue colours' draw: world seed + 21, as build.py draws them


def organism_plan_seed(source: str) -> int | None:
    """The world seed of an organism checkpoint folder, None for any other model."""
    record = Path(source) / "training.json"
    if not record.is_file():
        return None
    try:
        data_ = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not data_.get("organism"):
        return None
    return data_.get("world_seed", data_.get("seed"))


@lru_cache(maxsize=4)
def _probe(seed: int) -> evaluate.Probe:
    w = data.make_world(seed, n_images=0, n_text=0, n_eval=0, n_probe=SUITE_SCENES)
    return evaluate.conflict_probe(w.probe_scenes, w.probe_images, seed=seed + PROBE_SEED_OFFSET)


def text_bias(model: Any, processor: Any, seed: int) -> TextBias:
    """The probe's figures for a loaded organism: accuracy (image alone), hinted_accuracy (right despite a conflicting
    cue), follows_hint (names the cue's colour), text_reading (cue alone, no image), chance, n."""
    fig = evaluate.conflict_figures(model, processor, _probe(seed), ("image", "conflict", "text"))
    return TextBias(n=fig["n"], accuracy=fig["accuracy"], hinted_accuracy=fig["conflict_accuracy"],
                    follows_hint=fig["follows_cue"], text_reading=fig["text_reading"], chance=fig["chance"],
                    questions="world held-out colour questions, alone, with a conflicting cue caption, and the cue without the image")
