"""Splits of one modality into two halves, for the noise floor of the intra-modal comparison. Pure index arithmetic.

- ``random_halves``: n items split uniformly at random into n // 2 and n - n // 2.
- ``group_halves``: whole samples (groups of tokens) split uniformly at random into two halves of
  equal sample count. The between-prompt statistics weight every sample equally whatever its token
  count, so the split need not balance tokens; a uniform split varies with the seed (a greedy
  token balance gave 2 distinct halvings among 16 seeds at 12 samples of unequal length).
"""

from __future__ import annotations

import numpy as np

from ._validate import check_seed


def random_halves(n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted int64 index arrays partitioning range(n), sizes n // 2 and n - n // 2."""
    seed = check_seed(seed)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"random_halves needs an int n >= 2, got {n!r}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[: n // 2]).astype(np.int64), np.sort(perm[n // 2 :]).astype(np.int64)


def group_halves(groups, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split tokens by their sample id ``groups`` [n] into two halves of whole samples.

    Returns two sorted int64 token-index arrays; every sample lies wholly in one half, and the
    samples are split uniformly at random into G // 2 and G - G // 2. Raises ValueError for fewer
    than 2 distinct samples.
    """
    seed = check_seed(seed)
    g = np.asarray(groups)
    if g.ndim != 1:
        raise ValueError(f"groups must be a 1-D array of sample ids, got shape {g.shape}")
    uniq, inv = np.unique(g, return_inverse=True)
    if len(uniq) < 2:
        raise ValueError(f"group_halves needs at least 2 distinct samples, got {len(uniq)}")
    first, _ = random_halves(len(uniq), seed=seed)
    tok_a = np.isin(inv, first)
    return np.flatnonzero(tok_a).astype(np.int64), np.flatnonzero(~tok_a).astype(np.int64)
