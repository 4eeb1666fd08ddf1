"""Splits of one modality into two halves, for the intra-modal baselines. Pure index arithmetic.

- ``random_halves``: tokens split uniformly at random (the estimator's noise floor).
- ``group_halves``: whole samples (groups of tokens) split into two halves, balanced by token
  count as far as a greedy pass allows (largest group first into the lighter half), so the
  baseline measures sample-to-sample variation, which token-level halves hide.
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


def balanced_group_mask(sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bool [G]: True for groups put in half A. Groups in random order, then stably by size
    descending, each into the half with fewer tokens (ties: fewer groups, then A). Needs G ≥ 2;
    both halves get at least one group."""
    sizes = np.asarray(sizes, dtype=np.float64)
    order = rng.permutation(len(sizes))
    order = order[np.argsort(-sizes[order], kind="stable")]
    in_a = np.zeros(len(sizes), dtype=bool)
    tok, cnt = [0.0, 0.0], [0, 0]
    for g in order:
        side = 0 if (tok[0], cnt[0]) <= (tok[1], cnt[1]) else 1
        in_a[g] = side == 0
        tok[side] += sizes[g]
        cnt[side] += 1
    return in_a


def group_halves(groups, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split tokens by their sample id ``groups`` [n] into two halves of whole samples.

    Returns two sorted int64 token-index arrays; every sample lies wholly in one half and the
    token counts are balanced greedily. Raises ValueError for fewer than 2 distinct samples.
    """
    seed = check_seed(seed)
    g = np.asarray(groups)
    if g.ndim != 1:
        raise ValueError(f"groups must be a 1-D array of sample ids, got shape {g.shape}")
    uniq, inv, counts = np.unique(g, return_inverse=True, return_counts=True)
    if len(uniq) < 2:
        raise ValueError(f"group_halves needs at least 2 distinct samples, got {len(uniq)}")
    in_a = balanced_group_mask(counts, np.random.default_rng(seed))
    tok_a = in_a[inv]
    return np.flatnonzero(tok_a).astype(np.int64), np.flatnonzero(~tok_a).astype(np.int64)
