"""The `world` benchmark: held-out scenes of the organisms' miniature world (harness.organisms.world),
one question per scene in English and Chinese, answered with a word.

Why: the bundled fixture's questions are multiple choice with letters, a format the trained organisms
of the default run never saw (they answer it at chance), so their answers cannot show what an
intervention does. Here every question is asked as the organisms were trained to be asked (the
question alone, through the checkpoint's chat template), and the model's answer is the option whose
words are the likeliest continuation (`meta["answer_by"] = "continuation"`, harness.intervention.measure):
the organisms answer these at 0.87 on their own held-out set. Any image-text model can be asked the same
questions (shapes, colours, counts, positions, arrows, charts): the options are every value of the
asked attribute.

Scenes come from the benchmark's own random stream (seed WORLD_SEED, stream STREAM), not from the
organisms' training or evaluation streams, and do not depend on the run's seed, so sample ids and
images are the same in every run. The two prompts of one scene share its image (one unit).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from harness.organisms import world

from .fixture import check_languages
from .loading import LoadOptions, LoadReport
from .prompt import LETTERS
from .registry import register_benchmark
from .sample import Sample

WORLD_SEED, STREAM = 20261201, 77  # the organisms train on other streams (harness.organisms.data.make_world)
SCENES = 48  # scenes, so 96 prompts in two languages: 48 units, more than the fixture's 36


def scenes(n: int = SCENES) -> list[tuple[dict, int]]:
    """(scene, index of its question) for each of `n` scenes, every kind in turn."""
    rng = np.random.default_rng([WORLD_SEED, STREAM])
    out = []
    for i in range(n):
        scene = world.sample_scene(rng, world.KINDS[i % len(world.KINDS)])
        out.append((scene, int(rng.integers(len(world.QUESTIONS[scene["kind"]])))))
    return out


@register_benchmark("world", check_subsets=check_languages)
def load_world(
    subsets: Sequence[str] = (), *, seed: int = 0, options: LoadOptions = LoadOptions(), report: LoadReport | None = None,
) -> list[Sample]:
    """Every question, or only the languages named as subsets (`world:en`, `world:zh`)."""
    check_languages(subsets)
    samples = []
    draw = np.random.default_rng([WORLD_SEED, STREAM, 1])  # the drawing's own jitter
    for i, (scene, q) in enumerate(scenes()):
        image = world.draw(scene, draw)
        for lang in world.LANGUAGES:
            if subsets and lang not in subsets:
                continue
            qa = world.questions(scene, lang)[q]
            samples.append(Sample(
                id=f"world-{i:03d}-{lang}", images=(image,), question=qa.question, options=qa.candidates,
                answer=LETTERS[qa.candidates.index(qa.answer)], language=lang, category=f"{scene['kind']}/{qa.kind}",
                prompt=qa.question, meta={"answer_by": "continuation", "scene": i},
            ))
    return samples
