"""The one token selection: which captured keys of a layer the statistics read, with their units and labels.

The triple check (``analysis.triple``), its by-benchmark baselines and the interventions' measure of
the gap before and after a map (``intervention.run``) all select here, so they read the same tokens:

- the modality masks: image tokens, and text tokens (template/special tokens counted as text only
  with ``special_as_text``);
- a seeded subsample of at most ``max_points`` rows per modality (image first, then text, from one
  generator seeded with the analysis seed), kept in bank order;
- per kept token, its unit (prompts sharing an image are one unit: ``sample_strata``) and its labels
  of real sub-populations (``STRATA``), as a ``stats.gap.Side``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from harness.benchmarks.sample import Sample
from harness.capture.keys import LayerBank
from harness.models.labels import IMAGE, SPECIAL, TEXT
from harness.stats.gap import Side

STRATA = ("language", "category")  # Sample fields that name real sub-populations of a benchmark


class AnalysisError(Exception):
    """A triple that cannot be judged (empty modality, non-finite keys); recorded as an error."""


def sample_strata(samples: Sequence[Sample]) -> dict[str, dict[str, str]]:
    """sample id -> {"unit": ..., "language": ..., "category": ...}.

    The unit is the independent draw: samples that share an image (the fixture asks each question
    in English and Chinese about one image) share its image tokens, so they form one unit."""
    parent = list(range(len(samples)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[str, int] = {}
    for i, s in enumerate(samples):
        for image in s.images:
            digest = hashlib.sha256(image.tobytes() + repr((image.size, image.mode)).encode()).hexdigest()
            if digest in seen:
                parent[root(i)] = root(seen[digest])
            seen.setdefault(digest, i)
    return {s.id: {"unit": samples[root(i)].id, **{k: str(getattr(s, k)) for k in STRATA}} for i, s in enumerate(samples)}


def modality_masks(layer: LayerBank, *, special_as_text: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(image mask, text mask) over the layer's rows."""
    text = layer.modality == TEXT
    if special_as_text:
        text |= layer.modality == SPECIAL
    return layer.modality == IMAGE, text


def kept_rows(mask: torch.Tensor, cap: int, gen: torch.Generator) -> torch.Tensor:
    """Bank rows of `mask`: all of them, or a seeded sorted subsample of `cap` (indices, so only they are copied)."""
    at = torch.nonzero(mask.cpu(), as_tuple=True)[0]
    return at if len(at) <= cap else at[torch.randperm(len(at), generator=gen)[:cap].sort().values]


def gather(vectors: torch.Tensor, rows: torch.Tensor, device) -> torch.Tensor:
    """vectors[rows] on `device` (None: the vectors' own device)."""
    return vectors[rows.to(vectors.device)].to(device or vectors.device)


def token_labels(sample_ids: Sequence[str], sample: torch.Tensor, strata: dict[str, dict[str, str]] | None):
    """(unit id per token, {label name: label per token}) from the tokens' sample indices into `sample_ids`;
    without `strata` every prompt is its own unit and no label is known."""
    ids = np.asarray(sample_ids, dtype=object)[sample.numpy()]
    if not strata:
        return ids.astype(str), {}
    missing = sorted(set(ids) - set(strata))
    if missing:
        raise AnalysisError(f"no strata for {len(missing)} sample(s) of the bank (first: {missing[0]}); pass sample_strata(samples) of the captured samples")
    units = np.array([strata[i].get("unit", i) for i in ids], dtype=str)
    return units, {k: np.array([strata[i][k] for i in ids], dtype=str) for k in STRATA if all(k in strata[i] for i in ids)}


@dataclass(frozen=True)
class Selection:
    """The kept tokens of one layer: each modality as a ``Side`` and the bank rows behind it."""

    image: Side
    text: Side
    image_rows: torch.Tensor  # [n_i] rows of the layer bank
    text_rows: torch.Tensor  # [n_t]


def select(layer: LayerBank, sample_ids: Sequence[str], strata: dict[str, dict[str, str]] | None, *, max_points: int,
           seed: int, special_as_text: bool = False, device=None) -> Selection:
    """The kept image and text tokens of `layer` (module doc), vectors on `device` (None: the bank's own)."""
    image_mask, text_mask = modality_masks(layer, special_as_text=special_as_text)
    gen = torch.Generator().manual_seed(seed)
    image_rows, text_rows = kept_rows(image_mask, max_points, gen), kept_rows(text_mask, max_points, gen)
    sample, position = layer.sample.cpu(), layer.position.cpu()

    def side(rows: torch.Tensor) -> Side:
        units, labels = token_labels(sample_ids, sample[rows], strata)
        return Side(gather(layer.vectors, rows, device), units, labels, position[rows].numpy())

    return Selection(side(image_rows), side(text_rows), image_rows, text_rows)
