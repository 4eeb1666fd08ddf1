"""The figures of one condition (no intervention, or one intervention) on the held-out prompts, per prompt.

- keys: the layer's pre-RoPE keys of every held-out token (harness.capture.keys, through the same tap),
  for the cross-modal divergence;
- attention: per prompt, from the post-RoPE queries and keys as the attention function gets them
  (harness.capture.mechanism.attention_states → harness.stats.attention.attention_metrics, text tokens as
  queries): attention share of image keys from text queries (mass / share, mean over the prompt's
  text-query × head pairs, with their count as the prompt's weight), the logit gap, and both at
  the last prompt token;
- answers: per prompt, the chosen option, on the prompt as is and on the prompt with a hint that names
  a wrong option (the text-bias probe). Multiple-choice prompts (MMBench, MMMU, the fixture): the option
  letter with the highest next-token logit at the last prompt token (a full forward pass). Prompts whose
  sample says `meta["answer_by"] == "continuation"` (the `world` benchmark, answered with a word): the
  option whose text, as the whole answer (" " + option, then the tokenizer's EOS), has the highest
  summed log-probability after the prompt (one forward pass over the prompt repeated once per option).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch

from harness.benchmarks.prompt import LETTERS
from harness.benchmarks.sample import Sample
from harness.capture.keys import LayerBank, TokenCaps, capture_keys
from harness.models.labels import IMAGE, TEXT
from harness.capture.mechanism import attention_states
from harness.models.adapter import LoadedModel
from harness.stats.attention import attention_metrics

from .apply import LabelBook, intervene
from .fit import Intervention

HINT = {
    "en": "Hint: the answer is {letter}.",
    "zh": "提示：答案是{letter}。",
}
CONTINUATION = "continuation"  # Sample.meta["answer_by"] of prompts answered with an option's words


@dataclass
class Answers:
    """Chosen option per prompt: index into the prompt's options, -1 where the prompt has none."""

    plain: np.ndarray  # [P] int
    hinted: np.ndarray  # [P] int, on the prompt with the hint (-1 where no hint was built)


@dataclass
class Condition:
    """Per-prompt figures of one condition on the held-out prompts (arrays in prompt order)."""

    keys: LayerBank  # pre-RoPE keys at the layer, every token of every held-out prompt
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


def letter_ids(loaded: LoadedModel, n: int) -> list[int] | None:
    """Token id of each option letter A.. as the tokenizer writes it alone; None when a letter is not one token."""
    tok = loaded.processor.tokenizer
    ids = [tok.encode(c, add_special_tokens=False) for c in LETTERS[:n]]
    if any(len(i) != 1 for i in ids) or len({i[0] for i in ids}) != n:
        return None
    return [i[0] for i in ids]


def choose(loaded: LoadedModel, samples: Sequence[Sample], *, batch_size: int) -> np.ndarray:
    """[P] index of the chosen option (-1 where a prompt has no options): by letter, or by continuation
    for prompts whose meta says so (module doc)."""
    out = np.full(len(samples), -1, dtype=np.int64)
    by_words = [i for i, s in enumerate(samples) if s.options and s.meta.get("answer_by") == CONTINUATION]
    by_letter = [i for i, s in enumerate(samples) if s.options and s.meta.get("answer_by") != CONTINUATION]
    if by_letter:
        out[by_letter] = _by_letter(loaded, [samples[i] for i in by_letter], batch_size=batch_size)
    for i in by_words:
        out[i] = _by_continuation(loaded, samples[i])
    return out


def _by_letter(loaded: LoadedModel, samples: Sequence[Sample], *, batch_size: int) -> np.ndarray:
    out = np.full(len(samples), -1, dtype=np.int64)
    n_max = max((len(s.options) for s in samples), default=0)
    ids = letter_ids(loaded, n_max) if n_max else None
    if ids is None:
        return out
    with torch.inference_mode():
        for start in range(0, len(samples), batch_size):
            chunk = samples[start : start + batch_size]
            inputs, _ = loaded.adapter.encode(loaded, chunk)
            inputs = {k: v.to(loaded.device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
            last = inputs["attention_mask"].cumsum(1).argmax(1)  # [B] each row's last real token, whatever the padding side
            left_padded = bool((last == last.new_tensor(inputs["attention_mask"].shape[1] - 1)).all())
            if left_padded and "logits_to_keep" in inspect.signature(loaded.model.forward).parameters:
                inputs["logits_to_keep"] = 1  # only the last position's logits: [B, 1, V], not [B, T, V]
            logits = loaded.model(**inputs, use_cache=False).logits
            rows = torch.arange(len(chunk), device=logits.device)
            logits = (logits[:, -1] if left_padded else logits[rows, last.to(logits.device)]).float().cpu()  # [B, V]
            for b, s in enumerate(chunk):
                if s.options:
                    out[start + b] = int(logits[b, ids[: len(s.options)]].argmax())
    return out


def _by_continuation(loaded: LoadedModel, sample: Sample) -> int:
    """Index of the option whose " " + words + EOS is likeliest after the prompt (summed log-probability)."""
    tok = loaded.processor.tokenizer
    tails = [tok.encode(" " + o, add_special_tokens=False) + ([tok.eos_token_id] if tok.eos_token_id is not None else [])
             for o in sample.options]
    k, width = len(tails), max(len(t) for t in tails)
    with torch.inference_mode():
        inputs, _ = loaded.adapter.encode(loaded, [sample] * k)  # the prompt once per option (its images too)
        prompt = inputs["input_ids"]  # [K, T], identical rows: no padding
        tail = torch.full((k, width), tok.pad_token_id if tok.pad_token_id is not None else 0, dtype=prompt.dtype)
        mask = torch.zeros((k, width), dtype=inputs["attention_mask"].dtype)
        for j, t in enumerate(tails):
            tail[j, : len(t)], mask[j, : len(t)] = torch.tensor(t), 1
        for key, v in list(inputs.items()):  # other per-token inputs (Qwen-VL's mm_token_type_ids): 0 = text over the tail
            if key not in ("input_ids", "attention_mask") and isinstance(v, torch.Tensor) and v.shape[:2] == prompt.shape:
                inputs[key] = torch.cat([v, v.new_zeros((k, width, *v.shape[2:]))], 1)
        inputs["input_ids"] = torch.cat([prompt, tail], 1)
        inputs["attention_mask"] = torch.cat([inputs["attention_mask"], mask], 1)  # the padding after each tail is masked
        if "position_ids" in inputs:  # the adapter's positions (harness.models.adapter), continued over the tail
            inputs["position_ids"] = (inputs["attention_mask"].cumsum(dim=1) - 1).clamp(min=0)
        if "logits_to_keep" in inspect.signature(loaded.model.forward).parameters:
            inputs["logits_to_keep"] = width + 1  # positions T−1 .. T+width−1 predict the tail
        inputs = {key: v.to(loaded.device) if isinstance(v, torch.Tensor) else v for key, v in inputs.items()}
        logits = loaded.model(**inputs, use_cache=False).logits[:, -(width + 1) : -1].float().cpu()  # [K, width, V]
    logp = torch.log_softmax(logits, -1).gather(2, tail[:, :, None]).squeeze(2) * mask  # [K, width]
    return int(logp.sum(1).argmax())


def measure(
    loaded: LoadedModel, samples: Sequence[Sample], probes: Sequence[Sample | None], layer: int, book: LabelBook,
    intervention: Intervention | None, *, batch_size: int, caps: TokenCaps | None, seed: int, benchmark: str,
) -> Condition:
    """The figures of one condition; `probes[i]` is the hinted form of `samples[i]` (None: no hint)."""
    chosen = [intervention] if intervention is not None else []
    with intervene(loaded, book, chosen):
        bank = capture_keys(loaded, samples, [layer], benchmark=benchmark, batch_size=batch_size, kind="keys",
                            max_tokens=caps, seed=seed).layers[layer]
        figures = np.full((len(samples), 5), np.nan)
        for i, states in attention_states(loaded, samples, [layer], batch_size=batch_size):
            s = states[layer]
            m = attention_metrics(s.query, s.key, s.labels == IMAGE, s.labels == TEXT, causal=True,
                                  is_text=s.labels == TEXT, scale=s.scale)
            figures[i] = (m.image_mass_ratio, m.n_queries * m.n_heads, m.logit_gap, m.last_image_mass_ratio, m.last_logit_gap)
        answers = None
        if any(s.options for s in samples):
            plain = choose(loaded, samples, batch_size=batch_size)
            asked = [p for p in probes if p is not None]
            got = iter(choose(loaded, asked, batch_size=batch_size)) if asked else iter(())
            answers = Answers(plain, np.array([next(got) if p is not None else -1 for p in probes], dtype=np.int64))
    return Condition(
        keys=bank, share=figures[:, 0], share_weight=np.nan_to_num(figures[:, 1]), logit_gap=figures[:, 2],
        last_share=figures[:, 3], last_logit_gap=figures[:, 4], answers=answers,
    )


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
