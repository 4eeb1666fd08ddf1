"""Bank assembly in place: the collector's bank equals the per-batch pieces joined and sorted at the end (the
former assembly, kept here as the oracle), and under caps that bound the rows it is the one buffer per layer
allocated before the first batch, not a copy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.capture.caps import TokenCaps, balanced_keep, per_sample_keep, parse_max_tokens
from harness.capture.collector import Collector, _Reservoir
from harness.models.labels import IMAGE, MODALITY_NAMES, PAD, SPECIAL, TEXT

LAYERS, DIM, PROMPTS = (0, 2, 5), 6, 11


def _stream(batch: int, seed: int = 0):
    """Left-padded batches of prompts of uneven length: (labels [B, T], attention mask, layer → [B, T, D], start)."""
    g = torch.Generator().manual_seed(seed)
    for start in range(0, PROMPTS, batch):
        rows = []
        for s in range(start, min(start + batch, PROMPTS)):
            rows.append(torch.tensor([SPECIAL] * 2 + [IMAGE] * (9 + s % 4) + [TEXT] * (3 + 2 * s % 7) + [SPECIAL] * 2,
                                     dtype=torch.int8))
        width = max(len(r) for r in rows)
        labels = torch.stack([torch.cat([torch.full((width - len(r),), PAD, dtype=torch.int8), r]) for r in rows])
        read = {i: torch.randn(len(rows), width, DIM, generator=g) for i in LAYERS}
        yield labels, (labels != PAD).long(), read, start


def _concatenated(caps: TokenCaps, batch: int, seed: int):
    """The former assembly: each batch's kept vectors as pieces per modality (capped ones through a
    reservoir), joined and sorted by (sample, position) at the end."""
    reservoirs = {code: _Reservoir(caps.per_modality[name], np.random.default_rng([seed, 7919, code]))
                  for code, name in MODALITY_NAMES.items() if name in caps.per_modality}
    pieces = []
    for labels, mask, read, start in _stream(batch):
        keep = balanced_keep(labels != PAD, labels, caps.per_prompt(PROMPTS), start, seed)
        keep = per_sample_keep(keep, caps.per_sample, start, seed)
        position = (mask.cumsum(dim=1) - 1)[keep].to(torch.int32)
        sample = torch.arange(start, start + len(labels)).unsqueeze(1).expand_as(labels)[keep].to(torch.int32)
        modality, vectors = labels[keep], {i: read[i][keep] for i in LAYERS}
        for code in MODALITY_NAMES:
            rows = modality == code
            part = (sample[rows], position[rows], {i: v[rows] for i, v in vectors.items()})
            if code in reservoirs:
                reservoirs[code].offer(*part)
            elif rows.any():
                pieces.append((code, *part))
    for code, r in reservoirs.items():
        pieces.append((code, *r.contents()))
    modality = torch.cat([torch.full((len(s),), code, dtype=torch.int8) for code, s, _, _ in pieces])
    sample, position = torch.cat([s for _, s, _, _ in pieces]), torch.cat([p for _, _, p, _ in pieces])
    order = torch.argsort(sample.long() * (1 << 32) + position.long())
    return modality[order], sample[order], position[order], {i: torch.cat([v[i] for *_, v in pieces])[order] for i in LAYERS}


def _collected(caps: TokenCaps, batch: int, seed: int):
    collector = Collector(LAYERS, caps, seed, prompts=PROMPTS)
    for labels, mask, read, start in _stream(batch):
        collector.take(labels, mask, read, start=start)
    return collector, collector.finish()


@pytest.mark.parametrize("caps", ["none", "balanced=40", "balanced=400", "sample=9", "balanced=30,sample=7",
                                  "image=20,text=15", "balanced=50,special=6", "image=5,text=5,special=5"])
@pytest.mark.parametrize("batch", [1, 4, 11])
def test_in_place_equals_the_concatenation(caps, batch):
    caps = parse_max_tokens(caps)
    modality, sample, position, vectors = _concatenated(caps, batch, seed=3)
    _, got = _collected(caps, batch, seed=3)
    assert torch.equal(got.modality, modality) and got.modality.dtype == torch.int8
    assert torch.equal(got.sample, sample) and got.sample.dtype == torch.int32
    assert torch.equal(got.position, position) and got.position.dtype == torch.int32
    for i in LAYERS:
        assert got.vectors[i].dtype == torch.float32 and torch.equal(got.vectors[i], vectors[i])
    assert sum(got.kept.values()) == len(modality)


def test_bounded_caps_write_one_buffer_per_layer_that_becomes_the_bank():
    """balanced=33 over 11 prompts keeps 3 tokens of each modality of every prompt (each has at least 3),
    so the bound is exact: one block per layer of 99 rows, allocated once and handed over as the bank."""
    caps = TokenCaps(balanced=33)
    collector = Collector(LAYERS, caps, 0, prompts=PROMPTS)
    assert collector.stream.capacity == caps.rows_bound(PROMPTS, 3) == 99
    buffers = None
    for labels, mask, read, start in _stream(4):
        collector.take(labels, mask, read, start=start)
        ((_, block),) = collector.stream.blocks  # never a second block, never a per-batch piece
        buffers = buffers or {i: block[i].data_ptr() for i in LAYERS}
        assert {i: block[i].data_ptr() for i in LAYERS} == buffers
    got = collector.finish()
    assert {i: v.data_ptr() for i, v in got.vectors.items()} == buffers and len(got.modality) == 99


def test_the_bound_counts_only_modalities_without_a_reservoir():
    assert TokenCaps().rows_bound(10, 3) is None
    assert TokenCaps(balanced=30).rows_bound(10, 3) == 90
    assert TokenCaps(balanced=30).rows_bound(10, 2) == 60  # the third modality has a reservoir of its own
    assert TokenCaps(per_sample=4).rows_bound(10, 3) == 40
    assert TokenCaps(balanced=30, per_sample=4).rows_bound(10, 3) == 40
    assert TokenCaps(per_modality={"image": 5}).rows_bound(10, 2) is None
