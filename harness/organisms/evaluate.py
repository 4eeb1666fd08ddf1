"""What an organism answers: held-out accuracy on the world's questions and the conflict probe.

An answer is the candidate (every value of the asked attribute, in the question's language) with the
highest log-likelihood after the prompt, through the saved checkpoint's real forward. Chance is
1 / number of candidates.

The conflict probe (docs/organisms.md, "Pre-registration") asks the colour of a one-colour held-out
scene four ways: with the image alone (`accuracy`), with the image and a cue caption naming another
colour (`conflict_accuracy`; `follows_cue`: share of answers naming the cue's colour), as the cue
caption alone with no image (`text_reading`: share naming the caption's colour) and with the image
masked out of attention (`masked_accuracy`). `image_reliance` is the mean over items of
log p(right | image) − log p(right | image masked), in nats.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from . import world
from .data import Encoder

BATCH = 64  # rows of a full_scores pass
PROMPTS = 32  # prompts of a scores pass (each with its candidates after it)


@dataclass(frozen=True)
class Item:
    """One question: its image (None: asked as text alone), prompt text and candidates; `masked`: the image
    tokens are hidden from attention (their attention-mask entries are 0)."""

    image: Image.Image | None
    text: str
    candidates: Sequence[str]
    masked: bool = False


def scores(model: Any, processor: Any, items: Sequence[Item]) -> list[np.ndarray]:
    """Per item, the log-likelihood (nats) of each candidate's answer tokens after the prompt. Each prompt runs
    once, keeping its KV cache; its candidates' tokens then run after it, at the positions that follow the prompt,
    the prompt's padding (and a masked image) masked: equal to `full_scores`, which runs the prompt once per
    candidate, to float rounding (tests/organisms/test_conflict_probe.py)."""
    enc = Encoder(processor.tokenizer)
    pixels, pixel_row = _pixels(processor, items)
    out: list[np.ndarray] = [np.zeros(0)] * len(items)
    for group in (False, True):  # text-only items and image items go in separate batches
        idx = [i for i, it in enumerate(items) if (it.image is not None) == group]
        for start in range(0, len(idx), PROMPTS):
            chunk = idx[start : start + PROMPTS]
            prompts = [enc.prompt_ids(items[i].text, image=group) for i in chunk]
            ids, mask = _padded(model, processor, prompts, [items[i].masked for i in chunk])
            extra = {"pixel_values": pixels[[pixel_row[i] for i in chunk]]} if group else {}
            tails = [[enc.answer_ids(c) for c in items[i].candidates] for i in chunk]
            row_of = torch.tensor([j for j, t in enumerate(tails) for _ in t])  # the prompt row of each candidate
            flat = [a for t in tails for a in t]
            tail, tail_mask = _padded(model, processor, flat, [False] * len(flat))
            lengths = torch.tensor([len(q) for q in prompts])
            with torch.no_grad():
                first = model(input_ids=ids, attention_mask=mask, use_cache=True, **extra)
                last = torch.log_softmax(first.logits[torch.arange(len(chunk)), lengths - 1].float(), -1)  # [B, V]
                cache = first.past_key_values
                cache.reorder_cache(row_of)  # one copy of its prompt's cache per candidate
                positions = lengths[row_of, None] + torch.arange(tail.shape[1])[None, :]
                logits = model(input_ids=tail, attention_mask=torch.cat([mask[row_of], tail_mask], 1), position_ids=positions,
                               past_key_values=cache, use_cache=True).logits
            logp = torch.log_softmax(logits.float(), -1)  # [R, W, V]: column t predicts tail[:, t + 1]
            summed = last[row_of].gather(1, tail[:, :1]).squeeze(1)
            summed += (logp[:, :-1].gather(2, tail[:, 1:, None]).squeeze(2) * tail_mask[:, 1:]).sum(1)
            at = 0
            for i, t in zip(chunk, tails):
                out[i], at = summed[at : at + len(t)].numpy().astype(np.float64), at + len(t)
    return out


def full_scores(model: Any, processor: Any, items: Sequence[Item]) -> list[np.ndarray]:
    """`scores` the plain way, the reference it is tested against: the prompt and one candidate's tokens per row."""
    enc = Encoder(processor.tokenizer)
    pixels, pixel_row = _pixels(processor, items)
    rows = [(i, enc.prompt_ids(it.text, image=it.image is not None) + enc.answer_ids(c), len(enc.answer_ids(c)))
            for i, it in enumerate(items) for c in it.candidates]  # (item, ids, answer length)
    out: list[float] = [0.0] * len(rows)
    for group in (False, True):
        idx = [k for k, r in enumerate(rows) if (items[r[0]].image is not None) == group]
        for start in range(0, len(idx), BATCH):
            chunk = [rows[k] for k in idx[start : start + BATCH]]
            ids, mask = _padded(model, processor, [r[1] for r in chunk], [items[r[0]].masked for r in chunk])
            extra = {"pixel_values": pixels[[pixel_row[r[0]] for r in chunk]]} if group else {}
            with torch.no_grad():
                logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask, **extra).logits.float(), dim=-1)
            for j, (k, r) in enumerate(zip(idx[start : start + BATCH], chunk)):
                n, end = r[2], len(r[1])
                out[k] = logp[j, end - n - 1 : end - 1].gather(1, ids[j, end - n : end, None]).sum().item()
    per_item: dict[int, list[float]] = defaultdict(list)
    for (i, _, _), s_ in zip(rows, out):
        per_item[i].append(s_)
    return [np.array(per_item[i]) for i in range(len(items))]


def _pixels(processor: Any, items: Sequence[Item]) -> tuple[torch.Tensor | None, dict[int, int]]:
    """The images' pixel values (one row per item with an image) and each such item's row."""
    with_image = [i for i, it in enumerate(items) if it.image is not None]
    pixels = (processor.image_processor([items[i].image for i in with_image], return_tensors="pt")["pixel_values"]
              if with_image else None)
    return pixels, {i: r for r, i in enumerate(with_image)}


def _padded(model: Any, processor: Any, seqs: Sequence[list[int]], masked: Sequence[bool]) -> tuple[torch.Tensor, torch.Tensor]:
    """([B, W] ids padded on the right, [B, W] attention mask: 1 on real tokens, 0 on padding and on the image
    tokens of a `masked` row)."""
    width = max(len(q) for q in seqs)
    ids = torch.full((len(seqs), width), processor.tokenizer.pad_token_id)
    mask = torch.zeros_like(ids)
    for j, q in enumerate(seqs):
        ids[j, : len(q)], mask[j, : len(q)] = torch.tensor(q), 1
        if masked[j]:
            mask[j][ids[j] == model.config.image_token_id] = 0
    return ids, mask


def choose(model: Any, processor: Any, items: Sequence[Item]) -> list[str]:
    """For each item, the candidate the model finds likeliest."""
    return [it.candidates[int(np.argmax(s))] for it, s in zip(items, scores(model, processor, items))]


def heldout_accuracy(model: Any, processor: Any, scenes: Sequence[dict], images: Sequence[Image.Image]) -> dict:
    """Accuracy per question kind and overall on held-out scenes, with the chance level of each."""
    items, keys = [], []
    for s, img in zip(scenes, images):
        for lang in world.LANGUAGES:
            for qa in world.questions(s, lang):
                items.append(Item(img, qa.question, qa.candidates))
                keys.append((qa.kind, qa.answer, len(qa.candidates)))
    picked = choose(model, processor, items)
    by_kind: dict[str, list] = defaultdict(list)
    for (kind, answer, n), p in zip(keys, picked):
        by_kind[kind].append((p == answer, 1 / n))
    table = {k: {"n": len(v), "accuracy": round(float(np.mean([a for a, _ in v])), 3), "chance": round(float(np.mean([c for _, c in v])), 3)}
             for k, v in sorted(by_kind.items())}
    flat = [x for v in by_kind.values() for x in v]
    table["all"] = {"n": len(flat), "accuracy": round(float(np.mean([a for a, _ in flat])), 3),
                    "chance": round(float(np.mean([c for _, c in flat])), 3)}
    return table


@dataclass
class Probe:
    """The conflict probe's items: per scene and language, the colour question, its answer and the cue's colour."""

    scenes: list[dict]
    images: list[Image.Image]
    questions: list[world.QA]
    image_of: list[int]  # index into scenes/images per question
    cues: list[str]  # the conflicting cue's colour word per question

    def items(self, condition: str) -> list[Item]:
        """"image", "conflict", "text" (cue caption alone) or "masked" (image hidden from attention)."""
        out = []
        for qa, i, cue in zip(self.questions, self.image_of, self.cues):
            img, scene = self.images[i], self.scenes[i]
            text = {"image": qa.question, "masked": qa.question}.get(condition) or world.hinted(scene, qa, cue)
            out.append(Item(None if condition == "text" else img, text, qa.candidates, masked=condition == "masked"))
        return out


def conflict_probe(scenes: Sequence[dict], images: Sequence[Image.Image], *, seed: int) -> Probe:
    """Colour questions about one-colour scenes in both languages, each with a conflicting cue colour drawn from `seed`."""
    rng = np.random.default_rng(seed)
    qs, of, cues = [], [], []
    for i, s in enumerate(scenes):
        if s["kind"] not in world.ONE_COLOUR:
            continue
        for lang in world.LANGUAGES:
            qa = next(q for q in world.questions(s, lang) if q.kind == "colour")
            others = [c for c in qa.candidates if c != qa.answer]
            qs.append(qa), of.append(i), cues.append(others[int(rng.integers(len(others)))])
    return Probe(list(scenes), list(images), qs, of, cues)


def probe_outcomes(model: Any, processor: Any, probe: Probe, conditions: Sequence[str] = ("image", "conflict", "text", "masked")) -> dict:
    """Per condition, per item: the chosen candidate and the log-probability of the right answer."""
    out = {}
    for c in conditions:
        s = scores(model, processor, probe.items(c))
        picked = [qa.candidates[int(np.argmax(v))] for qa, v in zip(probe.questions, s)]
        right = np.array([v[list(qa.candidates).index(qa.answer)] - np.logaddexp.reduce(v) for qa, v in zip(probe.questions, s)])
        out[c] = {"picked": picked, "logp_right": right}
    return out


def probe_figures(outcomes: dict, probe: Probe) -> dict:
    """The probe's figures from `probe_outcomes` (shares in [0, 1]; image_reliance in nats)."""
    truth, cues = [qa.answer for qa in probe.questions], probe.cues
    share = lambda picked, target: round(float(np.mean([p == t for p, t in zip(picked, target)])), 3)  # noqa: E731
    fig = {"n": len(truth), "chance": round(1 / len(world.COLOURS), 3)}
    if "image" in outcomes:
        fig["accuracy"] = share(outcomes["image"]["picked"], truth)
    if "conflict" in outcomes:
        fig["conflict_accuracy"] = share(outcomes["conflict"]["picked"], truth)
        fig["follows_cue"] = share(outcomes["conflict"]["picked"], cues)
    if "text" in outcomes:
        fig["text_reading"] = share(outcomes["text"]["picked"], cues)
    if "masked" in outcomes:
        fig["masked_accuracy"] = share(outcomes["masked"]["picked"], truth)
    if "image" in outcomes and "masked" in outcomes:
        fig["image_reliance"] = round(float(np.mean(outcomes["image"]["logp_right"] - outcomes["masked"]["logp_right"])), 3)
    return fig


def conflict_figures(model: Any, processor: Any, probe: Probe, conditions: Sequence[str] = ("image", "conflict", "text", "masked")) -> dict:
    return probe_figures(probe_outcomes(model, processor, probe, conditions), probe)
