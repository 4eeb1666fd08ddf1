"""The text-bias probe as the harness runs it: behaviour beside the key-space figures.

For a model trained on the organisms' world (a checkpoint under fixtures/organisms, or any folder whose
training.json names an organism), the world's held-out colour questions are asked plainly and with a
hint naming another colour (see evaluate.hint_probe). Other models get no probe: its questions and its
answer scoring assume the world's vocabulary and the organisms' prompt format.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import data, evaluate

PROBE_EVAL_IMAGES = 300  # the held-out stream the model cards' probe used (its shape scenes: 50)


def organism_plan_seed(source: str) -> int | None:
    """The world seed of an organism checkpoint folder, None for any other model."""
    record = Path(source) / "training.json"
    if not record.is_file():
        return None
    try:
        data_ = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data_.get("seed") if data_.get("organism") else None


@lru_cache(maxsize=4)
def _world(seed: int) -> data.World:
    return data.make_world(seed, n_images=0, n_text=0, n_eval=PROBE_EVAL_IMAGES)


def text_bias(model: Any, processor: Any, seed: int) -> dict:
    """The hint probe's figures (accuracy, hinted_accuracy, follows_hint, chance, n) for a loaded organism."""
    w = _world(seed)
    return {**evaluate.hint_probe(model, processor, w.eval_scenes, w.eval_images, seed=seed + 20),
            "questions": "world held-out colour-of-shape questions, plain and with a contradicting hint"}
