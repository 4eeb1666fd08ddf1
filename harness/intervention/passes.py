"""One forward pass per batch for everything a condition reads from it: the layer's pre-RoPE keys, the
post-RoPE queries and keys its attention function gets, and the answer.

The prompts are encoded once (`encode_batches`: processor output and labels per batch, kept), so a
study that passes the same prompts under six conditions runs the processor once per prompt. In a pass
the taps read the layer's states on the way through and the pass goes on to the logits when answers
are asked for (the taps stop it after the layer otherwise): the option letter with the highest
next-token logit at the last prompt token, or, for prompts answered with words, the option whose
words are likeliest after the prompt, scored after the pass's own KV cache
(harness.intervention.continuation).
"""

from __future__ import annotations

import contextlib
import inspect
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from harness.benchmarks.prompt import LETTERS
from harness.benchmarks.sample import Sample
from harness.capture.keys import Collector
from harness.capture.mechanism import sequence_states
from harness.errors import KeyspaceError
from harness.models.adapter import LoadedModel
from harness.models.labels import IMAGE, TEXT
from harness.models.placement import check_image_positions, watch_inputs
from harness.models.taps import StopForward, tap
from harness.stats.attention import attention_metrics

from .continuation import batch_scores
from .prefix import Prefixes

CONTINUATION = "continuation"  # Sample.meta["answer_by"] of prompts answered with an option's words


@dataclass(frozen=True)
class Batch:
    """Prompts `start` .. `start` + B − 1 of an encoded list, as the adapter encodes them together."""

    start: int
    samples: list[Sample]
    inputs: dict  # processor output (padded on the tokenizer's side), on the CPU
    labels: torch.Tensor  # [B, T] int8 modality labels, PAD where padded


def encode_batches(loaded: LoadedModel, samples: Sequence[Sample], *, batch_size: int) -> list[Batch]:
    """`samples` in batches of `batch_size`, each encoded once."""
    out = []
    for start in range(0, len(samples), batch_size):
        chunk = list(samples[start : start + batch_size])
        out.append(Batch(start, chunk, *loaded.adapter.encode(loaded, chunk)))
    return out


@dataclass
class Pass:
    """What one pass over a list of prompts read, per prompt."""

    figures: np.ndarray  # [P, 5] attention share, its weight, logit gap, and both at the last token (nan: not read)
    chosen: np.ndarray  # [P] index of the chosen option; -1: no answer asked, no options, or a letter is not one token


def letter_ids(loaded: LoadedModel, n: int) -> list[int] | None:
    """Token id of each option letter A.. as the tokenizer writes it alone; None when a letter is not one token."""
    tok = loaded.processor.tokenizer
    ids = [tok.encode(c, add_special_tokens=False) for c in LETTERS[:n]]
    if any(len(i) != 1 for i in ids) or len({i[0] for i in ids}) != n:
        return None
    return [i[0] for i in ids]


def by_words(sample: Sample) -> bool:
    return bool(sample.options) and sample.meta.get("answer_by") == CONTINUATION


def run_pass(loaded: LoadedModel, batches: Sequence[Batch], layer: int, *, keys: Collector | None = None,
             attention: bool = False, answers: bool = False, prefix: Prefixes | None = None, resume: bool = False) -> Pass:
    """One forward pass per batch (module doc); `keys` collects the layer's pre-RoPE keys (the first batch's
    image positions proved as a capture proves them), `attention` reads the rotated states at the layer.
    `prefix`: the pass records the states entering the layer in it (and the KV cache before it, where it
    keeps one), or with `resume` (a pass with an intervention at the layer) starts there from them
    (harness.intervention.prefix)."""
    n = sum(len(b.samples) for b in batches)
    out = Pass(np.full((n, 5), np.nan), np.full(n, -1, dtype=np.int64))
    letters = [s for b in batches for s in b.samples if s.options and not by_words(s)]
    ids = letter_ids(loaded, max(len(s.options) for s in letters)) if answers and letters else None
    for batch in batches:
        read: dict[str, dict[int, torch.Tensor]] = {"keys": {}, "rotated-queries": {}, "rotated-keys": {}}
        kinds = (["keys"] if keys is not None else []) + (["rotated-queries", "rotated-keys"] if attention else [])
        inputs = {k: v.to(loaded.device) if isinstance(v, torch.Tensor) else v for k, v in batch.inputs.items()}
        mask = inputs["attention_mask"]
        left = bool((mask[:, -1] == 1).all())  # every row ends on its last real token
        call = dict(inputs)
        words = answers and any(by_words(s) for s in batch.samples)
        if answers and left and "logits_to_keep" in inspect.signature(loaded.model.forward).parameters:
            call["logits_to_keep"] = 1  # only the last position's logits: [B, 1, V], not [B, T, V]
        output = None
        with torch.inference_mode(), ExitStack() as stack:
            # the queries' wrapper goes in before the keys' (as harness.capture.mechanism), and the last
            # tap put in that the pass reaches last stops it when no answer is asked for
            for kind in kinds:
                stop = not answers and kind == ("rotated-queries" if attention else "keys")
                stack.enter_context(tap(loaded.adapter, loaded.layers, [layer], kind, _sink(read[kind]), stop=stop))
            resumed = prefix is not None and resume and prefix.resumable(batch, cached=words)
            if resumed:
                stack.enter_context(prefix.resume(loaded, batch))
            elif prefix is not None and not resume:
                stack.enter_context(prefix.record(loaded, batch))
            first = keys is not None and batch.start == 0
            seen = stack.enter_context(watch_inputs(loaded.model) if first else contextlib.nullcontext())
            try:
                output = loaded.model(**call, use_cache=words)
            except StopForward:
                pass
        if words and resumed:  # the cache entries of the layers the pass skipped
            prefix.fill(batch, output.past_key_values)
        elif words and prefix is not None and not resume:
            prefix.keep(batch, output.past_key_values)
        if any(layer not in read[k] for k in kinds):
            raise KeyspaceError(f"intervention: layer {layer} of {loaded.spec.name} was never reached by the forward pass")
        if first:  # the image labels are proved once per capture, on what the model wrote
            check_image_positions(loaded, inputs, batch.labels, seen, image=IMAGE)
        if keys is not None:
            keys.take(batch.labels, mask, read["keys"], start=batch.start)
        for b in range(len(batch.samples)) if attention else ():
            s = sequence_states(loaded, batch.labels[b], {layer: read["rotated-queries"][layer][b]},
                                {layer: read["rotated-keys"][layer][b]})[layer]
            m = attention_metrics(s.query, s.key, s.labels == IMAGE, s.labels == TEXT, causal=True,
                                  is_text=s.labels == TEXT, scale=s.scale, window=s.window)
            out.figures[batch.start + b] = (m.image_mass_ratio, m.n_queries * m.n_heads, m.logit_gap,
                                            m.last_image_mass_ratio, m.last_logit_gap)
        if answers:
            _answer(loaded, batch, output, inputs, left, ids, out.chosen)
    return out


def _sink(read: dict[int, torch.Tensor]):
    def sink(index: int, states: torch.Tensor) -> None:
        read[index] = states

    return sink


def _answer(loaded: LoadedModel, batch: Batch, output, inputs: dict, left: bool, ids: list[int] | None,
            chosen: np.ndarray) -> None:
    """The chosen option of each prompt of `batch` into `chosen` (module doc)."""
    rows = torch.arange(len(batch.samples), device=output.logits.device)
    last = inputs["attention_mask"].cumsum(1).argmax(1)  # [B] each row's last real token, whatever the padding side
    logits = output.logits[:, -1] if left else output.logits[rows, last.to(output.logits.device)]  # [B, V]
    if ids is not None:
        letters = logits.float().cpu()
        for b, s in enumerate(batch.samples):
            if s.options and not by_words(s):
                chosen[batch.start + b] = int(letters[b, ids[: len(s.options)]].argmax())
    words = [s.options if by_words(s) else [] for s in batch.samples]
    if not any(words):
        return
    for b, sc in enumerate(batch_scores(loaded, batch.samples, words, inputs, logits, output.past_key_values)):
        if sc is not None:
            chosen[batch.start + b] = int(sc.argmax())
