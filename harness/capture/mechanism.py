"""Mechanism metrics: do text tokens score image keys low, and do image keys get their share of attention?

One forward pass per batch reads the post-RoPE queries and keys of the requested layers, exactly as
the attention function receives them (harness.models.taps; the pass stops after the deepest layer's
attention call). Each sequence, with its padding stripped and its own causal structure, then goes
through harness.stats.attention.attention_metrics with text tokens (label TEXT) as the query
positions, image tokens (label IMAGE) as the image keys and text tokens as the text keys; special
tokens are visible keys of neither kind. Figures per layer (means over text query × head pairs that
see at least one image key, pooled over sequences):

- logit_gap: mean logit q·k·scale to visible image keys − mean logit to visible text keys, in logit
  units (nats of unnormalised attention); < 0: image keys score lower. scale = the attention
  module's `scaling` (1/√head_dim where it has none).
- attention_share: attention probability on image keys / image share of visible keys; 1: image
  keys get what uniform attention would give them, < 1: less.
- image_mass: attention probability on image keys, in [0, 1]; image_share: image keys / visible keys.
- last_logit_gap, last_attention_share: the same at each sequence's last prompt token (the one
  that emits the answer, whatever its label), mean over heads, then over sequences.
- n_queries: text query positions behind the pooled figures; n_sequences: sequences.
No full attention matrix is built: queries go through in blocks (see attention_metrics).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import torch

from harness.models.layers import checked_indices
from harness.benchmarks.sample import Sample
from harness.errors import KeyspaceError
from harness.models.labels import IMAGE, PAD, TEXT
from harness.models.adapter import LoadedModel
from harness.models.taps import query_heads, run_tapped, tap
from harness.stats.attention import AttentionMetrics, aggregate_attention, attention_metrics

__all__ = ["SequenceStates", "attention_states", "mechanism_metrics", "sequence_states"]


@dataclass
class SequenceStates:
    """Post-RoPE states of one unpadded sequence at one layer."""

    query: torch.Tensor  # [heads, T, head_dim]
    key: torch.Tensor  # [kv_heads, T, head_dim] (GQA: not repeated)
    labels: torch.Tensor  # [T] int8 modality labels (harness.models.labels)
    scale: float  # the logit scale the model's attention uses
    window: int | None = None  # a sliding-window layer's window (None: every earlier key)


def _scale(module, head_dim: int) -> float:
    scaling = getattr(module, "scaling", None)
    return float(scaling) if scaling is not None else 1.0 / math.sqrt(head_dim)


def _window(module) -> int | None:
    """The sliding window of a sliding-window attention layer (transformers' `sliding_window` on the module, None on
    the layers that see every earlier key)."""
    window = getattr(module, "sliding_window", None)
    return int(window) if isinstance(window, int) and not isinstance(window, bool) and window > 0 else None


def attention_states(
    loaded: LoadedModel, samples: Sequence[Sample], layers: Sequence[int], *, batch_size: int = 8
) -> Iterator[tuple[int, dict[int, SequenceStates]]]:
    """For each sample in order: (its index, layer → its post-RoPE queries and keys), from one
    forward pass per batch that stops after the deepest layer's attention call."""
    layers = checked_indices(layers, loaded.num_layers, model=loaded.spec.name, what="mechanism", attention=loaded.attention_layers,
                             reuse=loaded.kv_reuse)
    if batch_size < 1:
        raise KeyspaceError(f"mechanism: batch size must be at least 1, got {batch_size}")
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        inputs, labels = loaded.adapter.encode(loaded, chunk)
        queries, keys = _forward(loaded, inputs, layers)
        for b in range(len(chunk)):
            yield start + b, sequence_states(loaded, labels[b], {i: queries[i][b] for i in layers}, {i: keys[i][b] for i in layers})


def sequence_states(loaded: LoadedModel, labels: torch.Tensor, queries: dict[int, torch.Tensor],
                    keys: dict[int, torch.Tensor]) -> dict[int, SequenceStates]:
    """Layer → the states of one padded row: `labels` [T] (PAD where padded), `queries` and `keys` layer →
    [T, heads * head_dim] as the rotated taps read them (harness.models.taps)."""
    config = loaded.model.config.get_text_config()
    real = labels != PAD  # left padding: the real tokens, in order
    t = int(real.sum())
    per_layer = {}
    for i, q in queries.items():
        attn = loaded.adapter.attention(loaded.layers[i])
        # query heads: the layer's own (per-layer configs: Step 3.7); the KV heads: each layer's own, from its keys' width
        heads = query_heads(attn, config)
        q = q[real.to(q.device)]  # [T, heads * head_dim]
        k = keys[i][real.to(keys[i].device)]
        d = q.shape[1] // heads
        per_layer[i] = SequenceStates(
            query=q.view(t, heads, d).transpose(0, 1),
            key=k.view(t, k.shape[1] // d, d).transpose(0, 1),
            labels=labels[real],
            scale=_scale(attn, d),
            window=_window(attn),
        )
    return per_layer


def _forward(loaded: LoadedModel, inputs: dict, layers: list[int]) -> tuple[dict[int, torch.Tensor], dict[int, torch.Tensor]]:
    """Rotated queries and keys ([B, T, heads * head_dim] each, per layer) of one batch, from one pass.
    The taps are in place only during this pass, so nothing the caller runs between batches is tapped."""
    read: dict[str, dict[int, torch.Tensor]] = {"query": {}, "key": {}}

    def sink_for(which: str):
        def sink(index: int, states: torch.Tensor) -> None:
            read[which][index] = states

        return sink

    with torch.inference_mode(), ExitStack() as stack:
        # The queries' wrapper goes in first, so the keys' wrapper (put in last) is called first and
        # hands on to it; only the inner one stops the pass, after both were read.
        stack.enter_context(tap(loaded.adapter, loaded.layers, layers, "rotated-queries", sink_for("query"), stop=True))
        stack.enter_context(tap(loaded.adapter, loaded.layers, layers, "rotated-keys", sink_for("key"), stop=False))
        run_tapped(loaded, inputs, [read["query"], read["key"]], layers, what="mechanism")
    return read["query"], read["key"]


def _as_dict(m: AttentionMetrics) -> dict:
    return {
        "logit_gap": m.logit_gap,
        "attention_share": m.image_mass_ratio,
        "last_logit_gap": m.last_logit_gap,
        "last_attention_share": m.last_image_mass_ratio,
        "image_mass": m.image_mass,
        "image_share": m.image_share,
        "n_queries": m.n_queries,
        "n_sequences": m.n_sequences,
    }


def mechanism_metrics(
    loaded: LoadedModel, samples: Sequence[Sample], layers: Sequence[int], *, batch_size: int = 8, seed: int = 0,
    block: int = 1024,
) -> dict[int, dict]:
    """Layer → mechanism figures (module doc) over `samples`, JSON-serialisable (floats may be nan
    where no text query sees an image key). `seed` is accepted for a uniform call signature: the
    figures use every token and draw nothing at random."""
    del seed
    if not samples:
        raise KeyspaceError("mechanism: no sample given")
    results: dict[int, list[AttentionMetrics]] = {}
    for _, states in attention_states(loaded, samples, layers, batch_size=batch_size):
        for i, s in states.items():
            results.setdefault(i, []).append(
                attention_metrics(
                    s.query, s.key, s.labels == IMAGE, s.labels == TEXT,
                    causal=True, block=block, is_text=s.labels == TEXT, scale=s.scale, window=s.window,
                )
            )
    return {i: _as_dict(aggregate_attention(r)) for i, r in sorted(results.items())}
