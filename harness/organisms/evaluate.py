"""What an organism answers: held-out accuracy on the world's questions and the text-bias (hint) probe.

An answer is the candidate (every value of the asked attribute, in the question's language) with the
highest log-likelihood after the prompt, through the saved checkpoint's real forward. Chance is
1 / number of candidates.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from . import world
from .data import Encoder

BATCH = 64


def choose(model: Any, processor: Any, items: Sequence[tuple[Image.Image, str, Sequence[str]]]) -> list[str]:
    """For each (image, question text, candidates): the candidate the model finds likeliest."""
    enc = Encoder(processor.tokenizer)
    pixels = processor.image_processor([img for img, _, _ in items], return_tensors="pt")["pixel_values"]
    rows = []  # (item, candidate, ids, answer length)
    for i, (_, text, cands) in enumerate(items):
        prompt = enc.prompt_ids(text, image=True)
        for c in cands:
            answer = enc.answer_ids(c)
            rows.append((i, c, prompt + answer, len(answer)))
    scores = []
    pad = processor.tokenizer.pad_token_id
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        width = max(len(r[2]) for r in chunk)
        ids = torch.full((len(chunk), width), pad)
        mask = torch.zeros_like(ids)
        for j, r in enumerate(chunk):
            ids[j, : len(r[2])], mask[j, : len(r[2])] = torch.tensor(r[2]), 1
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask, pixel_values=pixels[[r[0] for r in chunk]]).logits
        logp = torch.log_softmax(logits.float(), dim=-1)
        for j, r in enumerate(chunk):
            n, end = r[3], len(r[2])
            target = ids[j, end - n : end]
            scores.append(logp[j, end - n - 1 : end - 1].gather(1, target[:, None]).sum().item())
    best: dict[int, tuple[float, str]] = {}
    for (i, c, _, _), s in zip(rows, scores):
        if i not in best or s > best[i][0]:
            best[i] = (s, c)
    return [best[i][1] for i in range(len(items))]


def heldout_accuracy(model: Any, processor: Any, scenes: Sequence[dict], images: Sequence[Image.Image]) -> dict:
    """Accuracy per question kind and overall on held-out scenes, with the chance level of each."""
    items, keys = [], []
    for s, img in zip(scenes, images):
        for lang in world.LANGUAGES:
            for qa in world.questions(s, lang):
                items.append((img, qa.question, qa.candidates))
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


def hint_probe(model: Any, processor: Any, scenes: Sequence[dict], images: Sequence[Image.Image], *, seed: int) -> dict:
    """Colour questions about single shapes, asked plainly and with a hint naming another colour.

    accuracy: share answered right without the hint; hinted_accuracy: right despite the hint;
    follows_hint: share of hinted answers that name the hint's colour instead of the image's."""
    rng = np.random.default_rng(seed)
    plain, hinted, truth, hints = [], [], [], []
    for s, img in zip(scenes, images):
        if s["kind"] != "shape":
            continue
        for lang in world.LANGUAGES:
            qa = next(q for q in world.questions(s, lang) if q.kind == "colour")
            wrong = [c for c in qa.candidates if c != qa.answer][int(rng.integers(len(qa.candidates) - 1))]
            plain.append((img, qa.question, qa.candidates))
            hinted.append((img, world.hinted(s, qa, wrong), qa.candidates))
            truth.append(qa.answer)
            hints.append(wrong)
    a, b = choose(model, processor, plain), choose(model, processor, hinted)
    return {
        "n": len(truth),
        "accuracy": round(float(np.mean([p == t for p, t in zip(a, truth)])), 3),
        "hinted_accuracy": round(float(np.mean([p == t for p, t in zip(b, truth)])), 3),
        "follows_hint": round(float(np.mean([p == h for p, h in zip(b, hints)])), 3),
        "chance": round(1 / len(world.COLOURS), 3),
    }
