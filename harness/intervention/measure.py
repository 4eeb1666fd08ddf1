"""The figures of one condition (no intervention, or one intervention) on the held-out prompts, per prompt,
read from one forward pass over the prompts and one over their hinted forms (harness.intervention.passes):

- keys: the layer's pre-RoPE keys of every held-out token (through the capture's tap and token caps),
  for the cross-modal divergence; a study reads them on the condition without intervention only and
  maps them for the others (harness.intervention.apply.mapped_bank: the map is all that changes them);
- attention: per prompt, from the post-RoPE queries and keys as the attention function gets them
  (harness.capture.mechanism.sequence_states → harness.stats.attention.attention_metrics, text tokens as
  queries): attention share of image keys from text queries (mass / share, mean over the prompt's
  text-query × head pairs, with their count as the prompt's weight), the logit gap, and both at
  the last prompt token;
- answers: per prompt, the chosen option, on the prompt as is and on the prompt with a hint that names
  a wrong option (the text-bias probe). Multiple-choice prompts (MMBench, MMMU, the fixture): the option
  letter with the highest next-token logit at the last prompt token. Prompts whose sample says
  `meta["answer_by"] == "continuation"` (the `world` benchmark, answered with a word): the option whose
  text, as the whole answer (" " + option, then the tokenizer's EOS), has the highest summed
  log-probability after the prompt (scored after the prompt's own pass, with its KV cache:
  harness.intervention.continuation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch

from harness.benchmarks.prompt import LETTERS
from harness.benchmarks.sample import Sample
from harness.capture.keys import Collector, LayerBank, TokenCaps, layer_banks
from harness.models.adapter import LoadedModel

from .apply import LabelBook, intervene
from .fit import Intervention
from .passes import CONTINUATION, Batch, encode_batches, run_pass
from .prefix import Prefixes

HINT = {
    "en": "Hint: the answer is {letter}.",
    "zh": "提示：答案是{letter}。",
}


@dataclass
class Answers:
    """Chosen option per prompt: index into the prompt's options, -1 where the prompt has none."""

    plain: np.ndarray  # [P] int
    hinted: np.ndarray  # [P] int, on the prompt with the hint (-1 where no hint was built)


@dataclass
class Condition:
    """Per-prompt figures of one condition on the held-out prompts (arrays in prompt order)."""

    keys: LayerBank | None  # pre-RoPE keys at the layer, every token of every held-out prompt (kept within the caps)
    share: np.ndarray  # [P] attention share of image keys from text queries (1 = uniform), mean over (query, head)
    share_weight: np.ndarray  # [P] text-query × head pairs behind `share` (0: none sees an image key)
    logit_gap: np.ndarray  # [P] mean logit to image keys − to text keys from text queries, logit units
    last_share: np.ndarray  # [P] attention share of image keys at the last prompt token, mean over heads
    last_logit_gap: np.ndarray  # [P]
    answers: Answers | None  # None: the benchmark has no options the model can be asked for


def hint_letter(sample: Sample, *, seed: int) -> str | None:
    """A seeded wrong option letter for `sample`, or None without options or a known correct letter."""
    n = len(sample.options)
    if n < 2 or sample.answer not in LETTERS[:n]:
        return None
    wrong = [c for c in LETTERS[:n] if c != sample.answer]
    return wrong[np.random.default_rng([seed, 2718, sum(map(ord, sample.id))]).integers(len(wrong))]


def hinted(sample: Sample, letter: str) -> Sample:
    """`sample` with a line naming `letter` as the answer before its prompt (text tokens, like the rest);
    a prompt answered with words names the option's words instead of its letter."""
    named = sample.options[LETTERS.index(letter)] if sample.meta.get("answer_by") == CONTINUATION else letter
    hint = HINT.get(sample.language, HINT["en"]).format(letter=named)
    return replace(sample, id=f"{sample.id}+hint", prompt=f"{hint}\n{sample.prompt}", meta={**sample.meta, "hint_letter": letter})


def measure(
    loaded: LoadedModel, samples: Sequence[Sample], probes: Sequence[Sample | None], layer: int, book: LabelBook,
    intervention: Intervention | None, *, batch_size: int, caps: TokenCaps | None, seed: int,
) -> Condition:
    """The figures of one condition, keys read from the intervened pass; `probes[i]` is the hinted form of
    `samples[i]` (None: no hint)."""
    prompts = encode_batches(loaded, samples, batch_size=batch_size)
    asked = encode_batches(loaded, [p for p in probes if p is not None], batch_size=batch_size)
    return measure_batches(loaded, prompts, asked, [p is not None for p in probes], layer, book, intervention,
                           keys=Collector([layer], caps or TokenCaps(), seed, prompts=len(samples)))


def measure_batches(
    loaded: LoadedModel, prompts: Sequence[Batch], asked: Sequence[Batch], hinted_rows: Sequence[bool], layer: int,
    book: LabelBook, intervention: Intervention | None, *, keys: Collector | None, prefix: Prefixes | None = None,
) -> Condition:
    """The figures of one condition on encoded prompts: one pass over `prompts` (keys when `keys` collects
    them, attention, answers) and one over `asked`, the hinted forms of the prompts where `hinted_rows` is
    true (answers). Without `keys` the condition's `keys` is None, for the caller to fill. `prefix`: the
    states entering the layer, recorded without an intervention and resumed from with one
    (harness.intervention.prefix)."""
    samples = [s for b in prompts for s in b.samples]
    options = any(s.options for s in samples)
    with intervene(loaded, book, [intervention] if intervention is not None else []):
        resume = intervention is not None
        plain = run_pass(loaded, prompts, layer, keys=keys, attention=True, answers=options, prefix=prefix, resume=resume)
        hints = (run_pass(loaded, asked, layer, answers=True, prefix=prefix, resume=resume).chosen if options and asked
                 else np.zeros(0, dtype=np.int64))
    got = iter(hints)
    answers = Answers(plain.chosen, np.array([next(got) if h else -1 for h in hinted_rows], dtype=np.int64)) if options else None
    figures = plain.figures
    return Condition(
        keys=layer_banks(keys.finish())[layer] if keys is not None else None, share=figures[:, 0],
        share_weight=np.nan_to_num(figures[:, 1]), logit_gap=figures[:, 2], last_share=figures[:, 3],
        last_logit_gap=figures[:, 4], answers=answers,
    )


def choose(loaded: LoadedModel, samples: Sequence[Sample], *, batch_size: int) -> np.ndarray:
    """[P] index of the chosen option (-1 where a prompt has no options): by letter, or by words for
    prompts whose meta says so (module doc)."""
    return run_pass(loaded, encode_batches(loaded, samples, batch_size=batch_size), 0, answers=True).chosen


def concat_conditions(parts: Sequence[Condition]) -> Condition:
    """One condition over the prompts of `parts` in order (each part's prompts follow the previous part's)."""
    offsets = np.cumsum([0] + [len(p.share) for p in parts[:-1]])
    banks = [p.keys for p in parts]
    keys = LayerBank(
        torch.cat([b.vectors for b in banks]), torch.cat([b.modality for b in banks]),
        torch.cat([b.sample + int(o) for b, o in zip(banks, offsets)]), torch.cat([b.position for b in banks]),
    )
    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])

    answers = None
    if any(p.answers is not None for p in parts):  # a part without options: its prompts answer nothing (-1)
        answers = Answers(*(np.concatenate([getattr(p.answers, f) if p.answers is not None else np.full(len(p.share), -1)
                                            for p in parts]) for f in ("plain", "hinted")))
    return Condition(keys=keys, share=cat("share"), share_weight=cat("share_weight"), logit_gap=cat("logit_gap"),
                     last_share=cat("last_share"), last_logit_gap=cat("last_logit_gap"), answers=answers)
