"""A capture's bank, assembled in place: kept vectors go straight into per-layer buffers of their final size.

After each forward pass `Collector.take` keeps the tokens the caps choose (harness.capture.caps) and copies
their vectors to the host. Tokens of a modality with a cap over the whole bank go through a reservoir
(`_Reservoir`, Algorithm R: how many will come is unknown until the end); every other kept token is written,
in stream order (sample, then position), into one buffer per layer allocated once, before the first batch
is written, at the most rows the caps let through (`TokenCaps.rows_bound`: the caps and the number of
prompts are known up front). With no reservoir those buffers are the bank; otherwise, or where the caps
bound nothing (`none`: each batch's rows are a block of their own) or the bound was not reached, `finish`
copies the sources into an exact-size buffer per layer in stream order and frees that layer's sources
before the next. Host memory so peaks at about the bank (plus one layer while merging), and no small
per-batch pieces are left behind in the allocator's heap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from harness.capture.caps import TokenCaps, balanced_keep, per_sample_keep
from harness.errors import KeyspaceError
from harness.models.labels import MODALITY_NAMES, PAD

Blocks = list[tuple[int, dict[int, torch.Tensor]]]  # (rows used, layer → [≥ rows, D] float32) in stream order


@dataclass
class Assembled:
    """Every kept token of a capture, in stream order (row i of each tensor is one token)."""

    vectors: dict[int, torch.Tensor]  # layer → [N, D] float32 on the CPU
    modality: torch.Tensor  # [N] int8 (harness.models.labels)
    sample: torch.Tensor  # [N] int32 index of the token's prompt in the capture
    position: torch.Tensor  # [N] int32 position of the token in its unpadded sequence
    kept: dict[str, int]  # tokens kept per modality
    dropped: dict[str, int]  # non-pad tokens left out by the caps, per modality


class _Reservoir:
    """Algorithm R over one modality's token stream: a uniform sample of at most `cap` tokens."""

    def __init__(self, cap: int, rng: np.random.Generator):
        self.cap, self.rng, self.seen = cap, rng, 0
        self.meta = torch.zeros(cap, 2, dtype=torch.int32)  # (sample, position) per slot
        self.vectors: dict[int, torch.Tensor] = {}  # layer → [cap, D]

    def offer(self, sample: torch.Tensor, position: torch.Tensor, vectors: dict[int, torch.Tensor]) -> None:
        k = len(sample)
        index = self.seen + np.arange(k)  # each token's place in the stream
        draws = np.floor(self.rng.random(k) * (index + 1)).astype(np.int64)  # uniform in 0..index
        slots = np.where(index < self.cap, index, draws)
        latest = {int(s): r for r, s in enumerate(slots) if s < self.cap}  # a later token replaces an earlier one
        self.seen += k
        if not latest:
            return
        slot_ix = torch.tensor(list(latest.keys()))
        row_ix = torch.tensor(list(latest.values()))
        self.meta[slot_ix] = torch.stack([sample[row_ix], position[row_ix]], dim=1)
        for layer, v in vectors.items():
            if layer not in self.vectors:
                self.vectors[layer] = torch.zeros(self.cap, v.shape[1], dtype=v.dtype)
            self.vectors[layer][slot_ix] = v[row_ix]

    def contents(self) -> tuple[torch.Tensor, torch.Tensor, dict[int, torch.Tensor]]:
        """The sample (sample, position, layer → vectors), handed over: the reservoir keeps no reference, so
        each layer's slots are freed as soon as the caller drops that layer (Collector.finish)."""
        n = min(self.seen, self.cap)
        vectors, self.vectors = self.vectors, {}
        return self.meta[:n, 0], self.meta[:n, 1], {i: v[:n] for i, v in vectors.items()}


class _Rows:
    """Tokens in arrival order: their labels, and per layer their vectors written in place into blocks;
    one block of `capacity` rows where a cap bounds them, else one block per batch."""

    def __init__(self, layers: Sequence[int], capacity: int | None):
        self.layers, self.capacity = layers, capacity
        self.meta: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # per batch: modality, sample, position
        self.blocks: Blocks = []
        self.count = 0

    def append(self, modality: torch.Tensor, sample: torch.Tensor, position: torch.Tensor,
               read: dict[int, torch.Tensor], rows: torch.Tensor) -> None:
        """Tokens `rows` ([B, T] bool, row-major = stream order) of each layer's `read` [B, T, D] (any device)."""
        k = len(modality)
        used, block = self.blocks[-1] if self.blocks else (0, {})
        if not block or used + k > next(iter(block.values())).shape[0]:
            size = max(k, self.capacity - self.count) if self.capacity is not None else k
            used, block = 0, {i: torch.empty(size, read[i].shape[-1], dtype=torch.float32) for i in self.layers}
            self.blocks.append((0, block))
        for i in self.layers:
            block[i][used : used + k].copy_(read[i][rows.to(read[i].device)])
        self.blocks[-1] = (used + k, block)
        self.meta.append((modality, sample, position))
        self.count += k


class Collector:
    """Gathers kept tokens (capped modalities through a reservoir) of a capture of `prompts` prompts and
    returns them in stream order."""

    def __init__(self, layers: Sequence[int], caps: TokenCaps, seed: int, *, prompts: int):
        self.layers, self.caps, self.seed, self.prompts = layers, caps, seed, prompts
        self.reservoirs = {
            code: _Reservoir(caps.per_modality[name], np.random.default_rng([seed, 7919, code]))
            for code, name in MODALITY_NAMES.items()
            if name in caps.per_modality
        }
        self.stream = _Rows(layers, caps.rows_bound(prompts, len(MODALITY_NAMES) - len(self.reservoirs)))
        self.seen = {code: 0 for code in MODALITY_NAMES}

    def take(self, labels: torch.Tensor, attention_mask: torch.Tensor, read: dict[int, torch.Tensor], *, start: int) -> None:
        """One batch: `labels` [B, T] (PAD where padding), `read` layer → [B, T, D] on any device; its rows
        are samples start … start + B - 1 of the capture. Only kept tokens leave the device."""
        nonpad = labels != PAD  # [B, T]
        keep = balanced_keep(nonpad, labels, self.caps.per_prompt(self.prompts), start, self.seed)
        keep = per_sample_keep(keep, self.caps.per_sample, start, self.seed)
        positions = (attention_mask.cumsum(dim=1).cpu() - 1).to(torch.int32)
        sample_index = torch.arange(start, start + labels.shape[0], dtype=torch.int32).unsqueeze(1).expand_as(labels)
        real = labels[nonpad]
        for code in MODALITY_NAMES:
            self.seen[code] += int((real == code).sum())
        for code, reservoir in self.reservoirs.items():
            rows = keep & (labels == code)
            if rows.any():
                reservoir.offer(sample_index[rows], positions[rows],
                                {i: read[i][rows.to(read[i].device)].float().cpu() for i in self.layers})
                keep = keep & ~rows
        if keep.any():
            self.stream.append(labels[keep], sample_index[keep], positions[keep], read, keep)

    def finish(self) -> Assembled:
        """The kept tokens in stream order, each layer's vectors in one buffer of the final size."""
        meta, self.stream.meta = self.stream.meta, []
        blocks, self.stream.blocks = self.stream.blocks, []  # handed over: each layer's block is freed once merged
        for code, reservoir in self.reservoirs.items():
            s, p, v = reservoir.contents()
            meta.append((torch.full((len(s),), code, dtype=torch.int8), s, p))
            blocks.append((len(s), v))
        modality, sample, position = (torch.cat([m[j] for m in meta]) if meta else torch.zeros(0) for j in range(3))
        if not len(modality):
            raise KeyspaceError("capture kept no token; check --ks-max-tokens and the samples")
        order = torch.argsort(sample.long() * (1 << 32) + position.long())  # stream order: sample, then position
        modality, sample, position = modality[order], sample[order], position[order]
        kept = {name: int((modality == code).sum()) for code, name in MODALITY_NAMES.items()}
        dropped = {name: self.seen[code] - kept[name] for code, name in MODALITY_NAMES.items()}
        self.caps.check_kept(modality, sample, dropped)  # too few kept for the statistics: one line naming the option
        vectors = {i: _merged([(n, b.pop(i)) for n, b in blocks if n], order) for i in self.layers}
        return Assembled(vectors, modality, sample, position, kept, dropped)


def _merged(pieces: list[tuple[int, torch.Tensor]], order: torch.Tensor) -> torch.Tensor:
    """One layer's [N, D] vectors in stream order from its pieces (rows used, [≥ rows, D]) in source order,
    where `order` lists the source row of each stream row; a single piece already in order and exactly full
    is returned as it is (no copy)."""
    total = len(order)
    (used, first), *rest = pieces
    if not rest and first.shape[0] == total and torch.equal(order, torch.arange(total)):
        return first
    out = torch.empty(total, first.shape[1], dtype=first.dtype)
    destination = torch.empty_like(order)
    destination[order] = torch.arange(total)
    offset = 0
    for used, piece in pieces:
        out.index_copy_(0, destination[offset : offset + used], piece[:used])
        offset += used
    return out
