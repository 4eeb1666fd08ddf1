"""Deterministic, stratified choice of N samples from a benchmark."""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np

from .sample import Sample


def select_samples(samples: Sequence[Sample], n: int | None, seed: int) -> tuple[list[Sample], str | None]:
    """Pick `n` samples, spread over categories in proportion to their size, the same for the same seed.

    Returns the samples (in their original order) and a note when fewer than `n` exist.
    """
    if n is None or n >= len(samples):
        note = None if n is None or n == len(samples) else f"asked for {n} samples, the set has {len(samples)}: using all"
        return list(samples), note
    by_category: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_category[s.category].append(i)
    rng = np.random.default_rng(seed)
    # Largest-remainder apportionment of n over categories, then a seeded draw inside each.
    cats = sorted(by_category)
    quota = np.array([n * len(by_category[c]) / len(samples) for c in cats])
    take = np.floor(quota).astype(int)
    for j in np.argsort(-(quota - take), kind="stable")[: n - take.sum()]:
        take[j] += 1
    chosen: list[int] = []
    for c, k in zip(cats, take):
        chosen.extend(rng.choice(by_category[c], size=int(k), replace=False).tolist())
    return [samples[i] for i in sorted(chosen)], None
