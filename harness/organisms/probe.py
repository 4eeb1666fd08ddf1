"""The text-bias probe as the harness runs it: behaviour beside the key-space figures.

For a model trained on the organisms' world (a checkpoint under fixtures/organisms, or any folder whose
training.json names an organism), the conflict probe (evaluate.conflict_probe) is asked on the first
SUITE_SCENES of the world's held-out probe scenes: the colour question with the image alone, with a cue
caption naming another colour, and as the cue alone. Other models get no probe: its questions and its
answer scoring assume the world's vocabulary and the organisms' prompt format.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from harness.atomic import write_atomic
from harness.capture.cache import read_plain
from harness.results.figures import TextBias

from . import data, evaluate

SUITE_SCENES = 100  # of the probe's 300 held-out scenes (× 2 languages); the full probe is in each training.json
PROBE_SEED_OFFSET = 21  # the cue colours' draw: world seed + 21, as build.py draws them
PROBE_VERSION = 1  # of the questions and their scoring; bump when either changes (a cached result is then not served)


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


def probe_key(checkpoint: dict, seed: int, *, dtype: str, device: str) -> str:
    """The sha256 a probe result is cached under: the checkpoint's files (`cache_key.checkpoint_identity`), the
    questions (world seed, scenes, the cues' draw, PROBE_VERSION), the precision and device the model ran in, and
    the versions of the code that computes the answers."""
    import torch
    import transformers

    import harness

    text = json.dumps({"checkpoint": checkpoint, "seed": seed, "scenes": SUITE_SCENES, "cue_offset": PROBE_SEED_OFFSET,
                       "probe": PROBE_VERSION, "dtype": dtype, "device": device, "harness": harness.__version__,
                       "torch": torch.__version__, "transformers": transformers.__version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cached_text_bias(root: Path | None, key: str, compute: Callable[[], TextBias], *, write: bool = True) -> TextBias:
    """`compute()`, or its result from the key cache's folder `root` (file text-bias-KEY16.json, a regular file
    naming the whole `key`); a computed result is stored there when `write`. No cache when `root` is None."""
    if root is None:
        return compute()
    path = Path(root) / f"text-bias-{key[:16]}.json"
    try:
        stored = json.loads(read_plain(path))
        figures = TextBias.from_dict(stored.get("figures")) if stored.get("key") == key else None
    except (OSError, ValueError, AttributeError):  # missing, not a regular file, or not the JSON written here
        figures = None
    if figures is not None:
        return figures
    figures = compute()
    if write:
        write_atomic(path, (json.dumps({"key": key, "figures": figures.to_dict()}, indent=1) + "\n").encode())
    return figures
