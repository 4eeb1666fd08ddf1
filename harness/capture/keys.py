"""Capture: taps on the chosen decoder layers fill a KeyBank (keys, queries or values, per token).

All requested layers come from one forward pass per batch, and the pass stops right after the
deepest requested layer was read (see harness.models.taps). Padding never enters the bank, and a
batch gives the same vectors as its samples one at a time.

Memory stays bounded with `TokenCaps` (harness.capture.caps), and the kept vectors are written in place
into per-layer buffers of their final size (harness.capture.collector):
- a reservoir balanced across prompts (the default, `balanced=N` with N = --ks-max-points): each
  prompt keeps at most ceil(N / prompts) tokens of each modality, a seeded uniform choice among its
  own, so each modality's bank holds about N vectors (fewer where prompts have fewer tokens of it),
  which is what the analysis samples from, and every prompt stays a unit of its own;
- a per-sample cap (a seeded subset of each sample's tokens, all modalities together);
- per-modality caps over the whole bank, filled by reservoir sampling, since samples stream
  through and the total is unknown until the end.
Every draw comes from a generator seeded by (seed, sample[, modality]) or (seed, modality) and
consumed in token order, so the kept tokens do not depend on the batch size, and `balance` picks
the same tokens from a bank captured in full.
"""

from __future__ import annotations

import contextlib

from dataclasses import dataclass, field, replace
from typing import Sequence

import torch

from harness.benchmarks.sample import Sample
from harness.capture.caps import TokenCaps, parse_max_tokens, share
from harness.capture.collector import Assembled, Collector
from harness.errors import KeyspaceError
from harness.models.labels import IMAGE, MODALITY_NAMES
from harness.models.layers import checked_indices
from harness.models.placement import check_image_positions, watch_inputs
from harness.models.adapter import LoadedModel
from harness.models.prompts import label_source
from harness.models.taps import KINDS, check_kind, layer_layout, run_tapped, tap

__all__ = ["KINDS", "KeyBank", "LayerBank", "TokenCaps", "balance", "capture_keys", "parse_max_tokens"]


@dataclass
class LayerBank:
    """Every kept vector of one layer, with its labels (row i of each tensor is one token)."""

    vectors: torch.Tensor  # [N, D] float32 on the CPU, D = heads * head_dim (see KeyBank.layout)
    modality: torch.Tensor  # [N] int8: 0 text, 1 image, 2 special (harness.models.labels)
    sample: torch.Tensor  # [N] int32 index into KeyBank.sample_ids
    position: torch.Tensor  # [N] int32 position of the token in its unpadded sequence
    # this layer's heads in one vector and head size, as read from its attention module (harness.models.taps.
    # layer_layout); None: the bank's (a bank from before they were recorded, or made without a model)
    heads: int | None = None
    head_dim: int | None = None

    def select(self, modality: int) -> "LayerBank":
        keep = self.modality == modality
        return replace(self, vectors=self.vectors[keep], modality=self.modality[keep], sample=self.sample[keep],
                       position=self.position[keep])

    def count(self, modality: int) -> int:
        return int((self.modality == modality).sum())


def layer_banks(assembled: Assembled) -> dict[int, LayerBank]:
    """Each layer's bank of an assembled capture (the token metadata shared, no copy)."""
    return {i: LayerBank(v, assembled.modality, assembled.sample, assembled.position) for i, v in assembled.vectors.items()}


@dataclass
class KeyBank:
    """Captured vectors of one (model, benchmark) pair, per layer."""

    model: str
    benchmark: str
    kind: str  # what was captured: "keys" = k_proj outputs (pre-RoPE); see harness.models.taps.KINDS
    sample_ids: tuple[str, ...]  # the samples in capture order
    layers: dict[int, LayerBank]  # layer index → its vectors
    num_key_value_heads: int  # the model's KV heads (GQA: fewer than its query heads)
    head_dim: int
    heads: int | None = None  # heads in one vector: query heads for queries, KV heads otherwise; None: num_key_value_heads
    head_index: int | None = None  # set on a one-head view (KeyBank.head): which head of the full vector
    sampling: dict = field(default_factory=dict)  # how the kept tokens were chosen (TokenCaps.describe); {}: all
    kept: dict[str, int] = field(default_factory=dict)  # tokens in the bank per modality (after caps)
    dropped: dict[str, int] = field(default_factory=dict)  # non-pad tokens left out by the caps, per modality
    # Mechanism metrics per layer (harness.capture.mechanism: logit gap, attention share), when measured.
    mechanism: dict[int, dict] = field(default_factory=dict)
    label_source: dict = field(default_factory=dict)  # how the labels were made (harness.models.prompts.label_source)

    @property
    def vector_heads(self) -> int:
        return self.heads if self.heads is not None else self.num_key_value_heads

    def counts(self, layer: int) -> dict[str, int]:
        bank = self.layers[layer]
        return {name: bank.count(code) for code, name in MODALITY_NAMES.items()}

    def layout(self, layer: int) -> tuple[int, int]:
        """(heads in one vector, head size) at `layer`: the layer's own where recorded (the layers of one decoder
        may differ: Gemma 4's global layers have wider heads), else the bank's."""
        bank = self.layers[layer]
        return (bank.heads or self.vector_heads, bank.head_dim or self.head_dim)

    def head(self, index: int) -> "KeyBank":
        """The bank seen through one head: each vector is that head's slice of its layer's vector."""
        if self.head_index is not None:
            raise KeyspaceError(f"this bank is already head {self.head_index}'s view; take heads of the full bank")
        layers = {}
        for i, b in self.layers.items():
            heads, size = self.layout(i)
            if not 0 <= index < heads:
                raise KeyspaceError(f"head {index} is outside 0..{heads - 1} for captured {self.kind} at layer {i}")
            layers[i] = replace(b, vectors=b.vectors[:, index * size:(index + 1) * size], heads=1, head_dim=size)
        return replace(self, layers=layers, heads=1, head_index=index)


def balance(bank: KeyBank, balanced: int, seed: int) -> KeyBank:
    """The tokens a capture under TokenCaps(balanced=`balanced`) with `seed` keeps, picked from a
    bank captured without caps (the same prompts, in the same order)."""
    per_prompt = TokenCaps(balanced=balanced).per_prompt(len(bank.sample_ids))
    layers = {}
    for index, lb in bank.layers.items():
        rows = []
        for s in torch.unique(lb.sample).tolist():
            for code in MODALITY_NAMES:
                where = ((lb.sample == s) & (lb.modality == code)).nonzero().squeeze(1)  # stream order = position order
                rows.append(where[torch.from_numpy(share(len(where), per_prompt, seed, s, code))])
        keep = torch.cat(rows).sort().values
        layers[index] = replace(lb, vectors=lb.vectors[keep], modality=lb.modality[keep], sample=lb.sample[keep],
                                position=lb.position[keep])
    first = layers[min(layers)] if layers else None
    kept = {name: first.count(code) if first else 0 for code, name in MODALITY_NAMES.items()}
    dropped = {name: bank.dropped.get(name, 0) + bank.kept.get(name, 0) - kept[name] for name in kept}
    return replace(bank, layers=layers, sampling=TokenCaps(balanced=balanced).describe(len(bank.sample_ids), seed),
                   kept=kept, dropped=dropped)


def capture_keys(
    loaded: LoadedModel,
    samples: Sequence[Sample],
    layers: Sequence[int],
    *,
    benchmark: str,
    batch_size: int = 8,
    kind: str = "keys",
    max_tokens: TokenCaps | None = None,
    seed: int = 0,
    early_exit: bool = True,  # stop each forward pass after the deepest requested layer was read
) -> KeyBank:
    """Run `samples` through the model in batches and keep the `kind` vector of every non-pad token
    (within `max_tokens`), for every layer in `layers`."""
    check_kind(kind)
    layers = checked_indices(layers, loaded.num_layers, model=loaded.spec.name, what="capture", attention=loaded.attention_layers,
                             reuse=loaded.kv_reuse)
    caps = max_tokens or TokenCaps()
    adapter = loaded.adapter
    config = loaded.model.config.get_text_config()
    # each layer's heads and head size from its own attention module (the layers of one decoder may differ);
    # the bank's are its first captured layer's (a hybrid decoder's first layer may have no attention)
    layouts = {i: layer_layout(adapter, loaded.layers[i], kind, config) for i in layers}
    read: dict[int, torch.Tensor] = {}
    collector = Collector(layers, caps, seed, prompts=len(samples))

    def sink(index: int, states: torch.Tensor) -> None:
        read[index] = states

    with torch.inference_mode(), tap(adapter, loaded.layers, layers, kind, sink, stop=early_exit):
        for start in range(0, len(samples), batch_size):
            chunk = samples[start : start + batch_size]
            inputs, labels = adapter.encode(loaded, chunk)
            read.clear()
            with watch_inputs(loaded.model) if start == 0 else contextlib.nullcontext() as seen:
                inputs = run_tapped(loaded, inputs, [read], layers, what="capture")
            if start == 0:  # the image labels are proved once per capture, on what the model wrote
                check_image_positions(loaded, inputs, labels, seen, image=IMAGE)
            collector.take(labels, inputs["attention_mask"], read, start=start)

    assembled = collector.finish()
    banks = {i: replace(b, heads=layouts[i][0], head_dim=layouts[i][1]) for i, b in layer_banks(assembled).items()}
    return KeyBank(
        model=loaded.spec.name,
        benchmark=benchmark,
        kind=kind,
        sample_ids=tuple(s.id for s in samples),
        layers=banks,
        num_key_value_heads=layer_layout(adapter, loaded.layers[layers[0]], "keys", config)[0],
        head_dim=layouts[layers[0]][1],
        heads=layouts[layers[0]][0],
        sampling=caps.describe(len(samples), seed),
        kept=assembled.kept,
        dropped=assembled.dropped,
        label_source=label_source(loaded.processor, samples),
    )
