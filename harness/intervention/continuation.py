"""Scores of answers given in words: the summed log-probability of each option's " " + words + EOS after
the prompt (harness.intervention.measure: `world` prompts, `meta["answer_by"] == "continuation"`).

Two ways to the same figures (equal to float rounding, tests/intervention/test_continuation.py):
- `cached_scores`: the prompts' own pass (a batch, run with the KV cache) gives the logits at each
  prompt's last token and the cache; then each option's tokens run after its prompt's cache (the cache's
  rows repeated once per option; a few prompts per call where the copies would outgrow the batch's cache),
  at the positions the prompt's continue with, the prompt's padding masked (left or right of it: a right-padded row's cache holds
  its padding between the prompt and the answer, masked like the rest). The prompt is run once, not
  once per option.
- `full_scores`: the prompt repeated once per option with its tail, one full pass (no padding inside the
  prompt); the reference the cached scores are tested against, and the scores of a hybrid decoder, whose
  linear-attention or convolution states (unlike keys and values) run on over a right-padded row's padding
  and cannot be masked after it (`batch_scores` chooses).
Positions after a prompt continue from its largest position (1-D positions: the adapter's, counted
from the first real token; multimodal RoPE: the model's own `get_rope_index`, whose text after the
last image goes on from the largest position by one per token).
"""

from __future__ import annotations

import copy
import inspect
from typing import Sequence

import torch

from harness.benchmarks.sample import Sample
from harness.models.adapter import LoadedModel

from .prefix import kv_layers

# Bytes of KV cache rows one call of option tokens may copy beyond the batch's own number of rows: a tiny
# model's whole batch of options fits in one call; a 7B model's (~370 MB a row of 700 tokens) runs as
# many rows per call as the batch has prompts, so its copies never outgrow the batch's own cache.
COPY_BUDGET = 2**30


def option_tails(loaded: LoadedModel, options: Sequence[str]) -> list[list[int]]:
    """Token ids of " " + option, then EOS (when the tokenizer has one), per option."""
    tok = loaded.processor.tokenizer
    eos = [tok.eos_token_id] if tok.eos_token_id is not None else []
    return [tok.encode(" " + o, add_special_tokens=False) + eos for o in options]


def _padded(loaded: LoadedModel, tails: Sequence[list[int]], dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """([K, W] tail ids padded after each tail, [K, W] 1 on real tail tokens)."""
    tok = loaded.processor.tokenizer
    width = max(len(t) for t in tails)
    tail = torch.full((len(tails), width), tok.pad_token_id if tok.pad_token_id is not None else 0, dtype=dtype)
    mask = torch.zeros((len(tails), width), dtype=torch.long)
    for j, t in enumerate(tails):
        tail[j, : len(t)], mask[j, : len(t)] = torch.tensor(t), 1
    return tail, mask


def _summed(logits: torch.Tensor, tail: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[K] summed log-probability of each tail; `logits` [K, W, V]: row j, column i predicts tail[j, i]."""
    logp = torch.log_softmax(logits.float().cpu(), -1).gather(2, tail[:, :, None].cpu()).squeeze(2)  # [K, W]
    return (logp * mask.cpu()).sum(1)


def full_scores(loaded: LoadedModel, sample: Sample) -> torch.Tensor:
    """[K] scores of `sample`'s options from one pass over the prompt repeated once per option (module doc)."""
    tails = option_tails(loaded, sample.options)
    with torch.inference_mode():
        inputs, _ = loaded.adapter.encode(loaded, [sample] * len(tails))  # the prompt once per option (its images too)
        prompt = inputs["input_ids"]  # [K, T], identical rows: no padding
        tail, mask = _padded(loaded, tails, prompt.dtype)
        k, width = tail.shape
        for key, v in list(inputs.items()):  # other per-token inputs (Qwen-VL's mm_token_type_ids): 0 = text over the tail
            if key not in ("input_ids", "attention_mask") and isinstance(v, torch.Tensor) and v.shape[:2] == prompt.shape:
                inputs[key] = torch.cat([v, v.new_zeros((k, width, *v.shape[2:]))], 1)
        inputs["input_ids"] = torch.cat([prompt, tail], 1)
        inputs["attention_mask"] = torch.cat([inputs["attention_mask"], mask.to(inputs["attention_mask"].dtype)], 1)
        if "position_ids" in inputs:  # the adapter's positions (harness.models.adapter), continued over the tail
            inputs["position_ids"] = (inputs["attention_mask"].cumsum(dim=1) - 1).clamp(min=0)
        if "logits_to_keep" in inspect.signature(loaded.model.forward).parameters:
            inputs["logits_to_keep"] = width + 1  # positions T−1 .. T+width−1 predict the tail
        inputs = {key: v.to(loaded.device) if isinstance(v, torch.Tensor) else v for key, v in inputs.items()}
        logits = loaded.model(**inputs, use_cache=False).logits[:, -(width + 1) : -1]  # [K, width, V]
    return _summed(logits, tail, mask)


def cached_scores(loaded: LoadedModel, inputs: dict, last_logits: torch.Tensor, cache,
                  options: Sequence[Sequence[str]]) -> list[torch.Tensor | None]:
    """Per row of a batch, [K] scores of its `options` (None where it has none), from the batch's own
    pass: `inputs` as it went in (on the model's device), `last_logits` [B, V] at each row's last prompt
    token and `cache` its KV cache (module doc), one call per group of `option_groups`: as many option rows
    as the batch has prompts, or more while their copies of the cache stay within COPY_BUDGET. The cache is
    left as it was, or, where it cannot be copied by layer, reordered in place for one call. A cache of keys and
    values only: `batch_scores` routes a hybrid decoder's elsewhere."""
    out: list[torch.Tensor | None] = [None] * len(options)
    copies = hasattr(cache, "layers")
    row = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values)) / len(options) if copies else 0
    groups = option_groups(options, max(len(options), int(COPY_BUDGET // max(row, 1))))
    if not copies:  # a cache without per-layer entries: one call, the cache reordered in place
        groups = [[b for g in groups for b in g]] if groups else []
    for group in groups:
        rows = [b for b in group for _ in options[b]]
        own = _copy(cache) if copies else cache
        scores = _scored(loaded, inputs, last_logits, own, rows, [t for b in group for t in option_tails(loaded, options[b])])
        start = 0
        for b in group:
            out[b], start = scores[start : start + len(options[b])], start + len(options[b])
    return out


def batch_scores(loaded: LoadedModel, samples: Sequence[Sample], options: Sequence[Sequence[str]], inputs: dict,
                 last_logits: torch.Tensor, cache) -> list[torch.Tensor | None]:
    """Per prompt of a batch, [K] scores of its `options` (None where it has none): after the batch's own cache
    (`cached_scores`) where that holds keys and values only; a hybrid decoder's cache also holds linear-attention
    or convolution states, which ran on over a right-padded row's padding and cannot be masked after it, so
    there each prompt's options are scored in full passes (`full_scores`); so are they where the model returned
    no cache at all (Granite 4 Vision's hybrid decoder builds none unless given one)."""
    layers = getattr(cache, "layers", None)
    if cache is not None and (layers is None or (len(layers) and kv_layers(layers))):
        return cached_scores(loaded, inputs, last_logits, cache, options)
    return [full_scores(loaded, s) if o else None for s, o in zip(samples, options)]


def option_groups(options: Sequence[Sequence[str]], cap: int) -> list[list[int]]:
    """The rows with options in groups of consecutive rows whose options number at most `cap` (or one row's
    options, where more): one call each."""
    groups: list[list[int]] = []
    taken = cap
    for b, opts in enumerate(options):
        if not opts:
            continue
        if taken + len(opts) > cap:
            groups.append([])
            taken = 0
        groups[-1].append(b)
        taken += len(opts)
    return groups


def _copy(cache):
    """A copy of `cache` whose layers can be reordered without touching the original's (tensors shared)."""
    out = copy.copy(cache)
    out.layers = [copy.copy(layer) for layer in cache.layers]
    return out


def _scored(loaded: LoadedModel, inputs: dict, last_logits: torch.Tensor, cache, rows: list[int],
            tails: list[list[int]]) -> torch.Tensor:
    """[R] summed log-probability of tail r after prompt rows[r] of the batch, from one call after `cache`
    (reordered in place: row r of it becomes prompt rows[r]'s)."""
    tail, mask = _padded(loaded, tails, inputs["input_ids"].dtype)
    width = tail.shape[1]
    index = torch.tensor(rows, device=loaded.device)
    cache.reorder_cache(index)
    after = _next_positions(loaded, inputs, width)[..., index, :]  # [R, W] or [3, R, W]
    call = {"input_ids": tail.to(loaded.device), "past_key_values": cache, "position_ids": after,
            "attention_mask": torch.cat([inputs["attention_mask"][index], mask.to(loaded.device, inputs["attention_mask"].dtype)], 1)}
    with torch.inference_mode():
        logits = loaded.model(**call, use_cache=True).logits  # [R, W, V]: column i predicts tail column i + 1
    predicting = torch.cat([last_logits[index][:, None], logits[:, :-1]], 1)  # [R, W, V]: column i predicts tail column i
    return _summed(predicting, tail, mask)


def _next_positions(loaded: LoadedModel, inputs: dict, width: int) -> torch.Tensor:
    """Positions of `width` tokens after each prompt of the batch: [B, W] (1-D) or [3, B, W] (M-RoPE)."""
    step = torch.arange(1, width + 1, device=loaded.device)
    if "position_ids" in inputs:  # the adapter's own 1-D positions
        return inputs["position_ids"].amax(1)[:, None] + step
    model = loaded.model
    rope = getattr(model, "get_rope_index", None) or model.model.get_rope_index
    wanted = inspect.signature(rope).parameters
    positions, _ = rope(**{k: v for k, v in inputs.items() if k in wanted})  # [3, B, T]; padding at 1
    return (positions.amax(dim=(0, 2))[:, None] + step).expand(positions.shape[0], -1, -1)
