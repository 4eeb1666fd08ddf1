"""The world turned into training data: images with captions and questions, a text-only corpus, the stage-2
mix (image questions, some with a cue caption, plus text-only examples), a held-out set and the probe set.

Every example is a token sequence with its loss labels (-100 where no loss is taken) and the index of
its image (-1: text only). Prompts are rendered by the checkpoint's own chat template and the image
placeholder is expanded to the image-token count exactly as LlavaProcessor expands it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from . import world
from harness.models.labels import TEXT, label_tokens

from .checkpoint import IMAGE_TOKENS
from .tokenizer import IMAGE

DESCRIBE = {"en": "Describe the picture.", "zh": "描述这张图片。"}


@dataclass
class Example:
    ids: list[int]
    labels: list[int]  # -100: no loss at this position
    image: int = -1  # index into the image set; -1 for text-only examples
    text: list[bool] | None = None  # positions the harness labels `text` (the user's own text), for the alignment term
    cue: str = ""  # stage-2 image questions: "" (none), "right" or "wrong" (the cue caption's asked attribute)


@dataclass
class World:
    """Scenes drawn from one seed: training images, text-only scenes, held-out images."""

    scenes: list[dict]  # training images' scenes
    images: list[Image.Image]
    text_scenes: list[dict]  # described in words only, never drawn
    eval_scenes: list[dict]  # held out: drawn from their own stream, never trained on
    eval_images: list[Image.Image]
    probe_scenes: list[dict] = field(default_factory=list)  # held out: one-colour scenes of the conflict probe
    probe_images: list[Image.Image] = field(default_factory=list)


def make_world(seed: int, *, n_images: int, n_text: int, n_eval: int, n_probe: int = 0) -> World:
    """Four independent streams of one seed, so that changing one size leaves the others' scenes alone."""
    def drawn(stream: int, n: int, kinds=world.KINDS) -> tuple[list[dict], list[Image.Image]]:
        rng = np.random.default_rng([seed, stream])
        scenes = [world.sample_scene(rng, kinds[i % len(kinds)]) for i in range(n)]
        return scenes, [world.draw(s, rng) for s in scenes]

    scenes, images = drawn(0, n_images)
    rng = np.random.default_rng([seed, 1])
    text_scenes = [world.sample_scene(rng) for _ in range(n_text)]
    eval_scenes, eval_images = drawn(2, n_eval)
    probe_scenes, probe_images = drawn(3, n_probe, world.ONE_COLOUR)
    return World(scenes, images, text_scenes, eval_scenes, eval_images, probe_scenes, probe_images)


def corpus_texts(w: World) -> list[str]:
    """Every training string of the world (what the tokenizer learns its merges from); no held-out text."""
    out = []
    for s in w.scenes + w.text_scenes:
        for lang in world.LANGUAGES:
            out.append(world.caption(s, lang))
            out.extend(f"{qa.question} {qa.answer}" for qa in world.questions(s, lang))
    out.extend(DESCRIBE.values())
    return out


class Encoder:
    """Renders and tokenizes examples with one tokenizer and chat template."""

    def __init__(self, tokenizer: Any):
        self.tok = tokenizer
        self.image_id = tokenizer.convert_tokens_to_ids(IMAGE)
        sentinel = "\x00"
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": sentinel}]}],
            add_generation_prompt=True, tokenize=False,
        )
        self.head, self.tail = rendered.split(sentinel)  # "USER: <image>\n", " ASSISTANT:"
        text_only = tokenizer.apply_chat_template(
            [{"role": "user", "content": [{"type": "text", "text": sentinel}]}], add_generation_prompt=True, tokenize=False
        )
        self.text_head = text_only.split(sentinel)[0]

    def prompt_ids(self, text: str, *, image: bool) -> list[int]:
        return self.labelled_prompt(text, image=image)[0]

    def labelled_prompt(self, text: str, *, image: bool) -> tuple[list[int], list[bool]]:
        """The prompt's ids and, per position, whether the harness labels it `text` (harness.models.labels:
        the tokens of the user's own text, template and image tokens excluded)."""
        head = self.head.replace(IMAGE, IMAGE * IMAGE_TOKENS) if image else self.text_head
        rendered = head + text + self.tail
        enc = self.tok(rendered, return_offsets_mapping=True)
        ids = enc.input_ids
        labels = label_tokens(
            torch.tensor(ids), torch.ones(len(ids), dtype=torch.long), torch.tensor(enc.offset_mapping), tokenized=rendered,
            span=(len(head), len(head) + len(text)), image_token_id=self.image_id,
            special_ids=frozenset(self.tok.all_special_ids),
        )
        return ids, (labels == TEXT).tolist()

    def answer_ids(self, answer: str) -> list[int]:
        return self.tok(" " + answer, add_special_tokens=False).input_ids + [self.tok.eos_token_id]

    def chat(self, text: str, answer: str, *, image: int = -1, loss_on_prompt: bool = False) -> Example:
        (p, text_mask), a = self.labelled_prompt(text, image=image >= 0), self.answer_ids(answer)
        labels = ([-100] + p[1:] if loss_on_prompt else [-100] * len(p)) + a
        if image >= 0:
            labels = [-100 if t == self.image_id else t for t in labels]
        return Example(p + a, labels, image, text_mask + [False] * len(a))

    def document(self, text: str) -> Example:
        ids = self.tok(text).input_ids + [self.tok.eos_token_id]
        return Example(ids, [-100] + ids[1:])


def text_corpus(w: World, enc: Encoder) -> list[Example]:
    """Text only: every description as a document and every question asked about the description in words."""
    out = []
    for s in w.text_scenes:
        for lang in world.LANGUAGES:
            cap = world.caption(s, lang)
            out.append(enc.document(cap))
            out.extend(enc.chat(f"{cap} {qa.question}", qa.answer, loss_on_prompt=True) for qa in world.questions(s, lang))
    return out


def captions(w: World, enc: Encoder) -> list[Example]:
    return [enc.chat(DESCRIBE[lang], world.caption(s, lang), image=i)
            for i, s in enumerate(w.scenes) for lang in world.LANGUAGES]


def image_questions(w: World, enc: Encoder) -> list[Example]:
    return [enc.chat(qa.question, qa.answer, image=i)
            for i, s in enumerate(w.scenes) for lang in world.LANGUAGES for qa in world.questions(s, lang)]


def digest(pool: Sequence[Example]) -> str:
    """sha256 of a pool as training sees it (every example's ids, labels, image, text mask and cue, in order), so two
    runs' records show whether they trained on the same data."""
    h = hashlib.sha256()
    for e in pool:
        h.update(json.dumps([e.ids, e.labels, e.image, e.text, e.cue]).encode())
    return h.hexdigest()


def stage1_pool(w: World, enc: Encoder, question_share: float) -> tuple[list[Example], torch.Tensor | None]:
    """Stage 1's pool and sampling weights: the captions and, drawn with total probability `question_share`
    (amendment 2, rung C), every image question without a cue; weights None (uniform) when there are none."""
    if not 0.0 <= question_share <= 1.0:
        raise ValueError(f"stage1_pool: question_share = {question_share} is not a share; give a number in [0, 1]")
    caps = captions(w, enc)
    if not question_share:
        return caps, None
    asked = image_questions(w, enc)
    weights = torch.cat([torch.full((len(caps),), (1 - question_share) / len(caps), dtype=torch.float64),
                         torch.full((len(asked),), question_share / len(asked), dtype=torch.float64)])
    return caps + asked, weights


def stage2_mix(w: World, enc: Encoder, *, seed: int, cue_share: float, cue_right: float, text_share: float,
               text: list[Example]) -> tuple[list[Example], torch.Tensor]:
    """The stage-2 pool and its sampling weights: every image question, a share `cue_share` of them (drawn per
    example from `seed`) with a cue caption before it that is right with probability `cue_right` (else the asked
    attribute has another value; the image is always right), and the text-only examples `text`, drawn with
    total probability `text_share`."""
    for name, v in (("cue_share", cue_share), ("cue_right", cue_right), ("text_share", text_share)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"stage2_mix: {name} = {v} is not a share; give a number in [0, 1]")
    rng = np.random.default_rng([seed, 5])
    images = []
    for i, s in enumerate(w.scenes):
        for lang in world.LANGUAGES:
            for qa in world.questions(s, lang):
                text_, cue = qa.question, ""
                if rng.random() < cue_share:
                    cue = "right" if rng.random() < cue_right else "wrong"
                    text_ = world.cued(s if cue == "right" else world.altered(s, qa.kind, rng), qa)
                images.append(enc.chat(text_, qa.answer, image=i))
                images[-1].cue = cue
    weights = torch.cat([torch.full((len(images),), (1 - text_share) / max(1, len(images)), dtype=torch.float64),
                         torch.full((len(text),), text_share / max(1, len(text)), dtype=torch.float64)])
    return images + text, weights
