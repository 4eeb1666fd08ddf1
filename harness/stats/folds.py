"""Rows, prompt groups and grouped cross-fitting folds for the estimators that learn from data.

Tokens of one prompt are dependent (they share its content, template and image), so a model
fitted on some tokens of a prompt and scored on others learns the prompt, not the modality. Every
fold here keeps each prompt — both its image and its text tokens — on one side of the split
(scikit-learn's StratifiedGroupKFold), and held-out figures are computed fold by fold, so that a
fold whose share of image tokens differs from its share of text tokens cannot leak the label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import StratifiedGroupKFold

from ._validate import as_pair, check_seed, to_numpy

MIN_UNIQUE_FRACTION = 0.9  # estimators that need continuous data (kNN) refuse samples with more duplicates


@dataclass(frozen=True)
class Rows:
    """Two samples as one labelled, grouped table."""

    z: np.ndarray  # [N, d] float64: the x rows, then the y rows
    label: np.ndarray  # [N] 1 for x, 0 for y
    group: np.ndarray  # [N] int prompt index (0..n_groups-1); rows of one prompt share it across x and y

    @property
    def n_x(self) -> int:
        return int(self.label.sum())

    @property
    def n_y(self) -> int:
        return int(len(self.label) - self.label.sum())

    @property
    def n_groups(self) -> int:
        return int(len(np.unique(self.group)))


# why grouped folds (or folds given from elsewhere) cannot give a held-out figure
ONE_MODALITY_TRAINING = "n/a: too few prompts for grouped folds (a training fold has one modality only)"
NO_HELD_OUT_PAIR = "n/a: too few prompts for grouped folds (no held-out fold has both modalities)"


def check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def rows(x, y, groups=None, *, min_rows: int = 1) -> Rows:
    """x [n, d] and y [m, d] with their prompt ids; groups is None (every row its own prompt) or a
    pair (ids of x's rows, ids of y's rows): equal ids in x and y mean the same prompt."""
    xt, yt = as_pair(x, y, min_rows=min_rows)
    xa, ya = to_numpy(xt), to_numpy(yt)
    if groups is None:
        group = np.arange(len(xa) + len(ya))
    else:
        if not isinstance(groups, (tuple, list)) or len(groups) != 2:
            raise ValueError("groups must be a pair (prompt ids of x's rows, prompt ids of y's rows) or None")
        gx, gy = (np.asarray(g).reshape(-1) for g in groups)
        if len(gx) != len(xa) or len(gy) != len(ya):
            raise ValueError(f"groups must give one prompt id per row: got {len(gx)} for {len(xa)} x rows and {len(gy)} for {len(ya)} y rows")
        group = np.unique(np.concatenate([gx, gy]), return_inverse=True)[1].reshape(-1)
    return Rows(np.concatenate([xa, ya]), np.r_[np.ones(len(xa), int), np.zeros(len(ya), int)], group)


def subsample(r: Rows, keep: np.ndarray) -> Rows:
    return Rows(r.z[keep], r.label[keep], r.group[keep])


def balanced(r: Rows, seed: int) -> Rows:
    """The larger class subsampled (seeded, rows uniformly) to the size of the smaller."""
    rng = np.random.default_rng(check_seed(seed))
    idx = [np.flatnonzero(r.label == c) for c in (1, 0)]
    k = min(len(i) for i in idx)
    keep = np.sort(np.concatenate([i if len(i) == k else rng.choice(i, k, replace=False) for i in idx]))
    return subsample(r, keep)


def row_ids(z: np.ndarray) -> np.ndarray:
    """[N] int64 id per row of z [N, d] (floating, finite): equal ids exactly where rows are equal.

    Same partition as ``np.unique(z, axis=0, return_inverse=True)`` (ids numbered differently), at a
    fraction of its cost on wide rows: each row's bytes (after ``+ 0.0``, which turns -0.0 into 0.0,
    so equal values have equal bytes) are hashed to 64 bits, and every row is then compared with
    the first row of its hash; a collision (never seen; it would need two distinct rows with one
    hash) falls back to ``np.unique``."""
    z = np.ascontiguousarray(np.asarray(z, dtype=np.float64) + 0.0)
    bits = z.view(np.uint64).reshape(len(z), -1)  # [N, d]
    _, first, ids = np.unique(_row_hash(bits), return_index=True, return_inverse=True)
    ids = ids.reshape(-1)
    if not np.array_equal(bits, bits[first[ids]]):
        ids = np.unique(z, axis=0, return_inverse=True)[1].reshape(-1)
    return ids.astype(np.int64)


def _row_hash(bits: np.ndarray) -> np.ndarray:
    """[N] uint64 hash of the rows of bits [N, d] uint64: Σ_j w_j · bits_j mod 2^64, fixed random odd w."""
    w = np.random.default_rng(0x5EED).integers(1, 2**63, size=bits.shape[1], dtype=np.uint64) | np.uint64(1)  # [d]
    return bits @ w


def unique_reason(r: Rows, min_fraction: float) -> str:
    """'' when at least `min_fraction` of each class's rows have no identical row in ANOTHER prompt
    (the rows a leave-prompt-out neighbour search can meet at distance 0), else the 'n/a: ...' reason."""
    for c, name in ((1, "x"), (0, "y")):
        z, g = r.z[r.label == c], r.group[r.label == c]
        value = row_ids(z)
        prompts_per_value = np.bincount(np.unique(np.stack([value, g], axis=1), axis=0)[:, 0], minlength=value.max() + 1)
        repeated = int((prompts_per_value[value] > 1).sum())
        if len(z) - repeated < min_fraction * len(z):
            return (f"n/a: too few unique keys ({repeated:,} of {len(z):,} {name} rows repeat a row of another prompt; "
                    f"kNN needs ≤ {1 - min_fraction:.0%})")
    return ""


def grouped_folds(r: Rows, folds: int, seed: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """(train, test) index pairs with no prompt on both sides, and '' — or ([], 'n/a: ...') when
    there are fewer prompts than folds or a training side lacks one class. Folds whose test side
    lacks a class are left out (a held-out figure needs both)."""
    folds = check_int("folds", folds, 2)
    if r.n_groups < folds:
        return [], f"n/a: too few prompts for grouped folds ({r.n_groups} prompts, need ≥ {folds})"
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=check_seed(seed))
    return usable_splits(r.label, cv.split(r.z, r.label, r.group))


def usable_splits(label: np.ndarray, splits) -> tuple[list[tuple], str]:
    """The (train, test, ...) splits whose held-out rows hold both modalities, or none with the reason: a training
    fold of one modality (ONE_MODALITY_TRAINING) or no usable held-out fold (NO_HELD_OUT_PAIR)."""
    out = []
    for split in splits:
        train, test = split[0], split[1]
        if len(np.unique(label[train])) < 2:
            return [], ONE_MODALITY_TRAINING
        if len(np.unique(label[test])) == 2:
            out.append(tuple(split))
    if not out:
        return [], NO_HELD_OUT_PAIR
    return out, ""


def merge_sharing_rows(x, groups, *, positions=None, min_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(x's group ids, y's group ids) where prompts that share at least `min_share` of their distinct
    x rows (the smaller prompt's count) are merged into one unit (connected components). With
    `positions` (x's token positions) a row counts as shared only at the same position: a shared
    image repeats its keys position by position, while rows that are atoms (a layer-0 key is a
    function of its token) recur at unrelated positions and must not merge prompts.

    Prompts that reuse one image (a benchmark asking two questions, or in two languages, about it)
    give identical image keys wherever the image precedes the text (causal attention): 1,170 of the
    1,422 distinct layer-3 image keys of tiny-qwen2.5-vl on the fixture set occur in two prompts.
    Such prompts are not independent units; folds and neighbours must keep them together. Pass the
    image rows as x: text rows repeat across prompts for another reason (a layer-0 key is a function
    of its token), which does not make prompts one unit."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    gx, gy = (np.asarray(g).reshape(-1) for g in groups)
    ids, inverse = np.unique(np.concatenate([gx, gy]), return_inverse=True)
    g = inverse.reshape(-1)[: len(gx)]
    z = (to_numpy(x) if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)).reshape(len(gx), -1)
    if positions is not None:
        z = np.concatenate([z, np.asarray(positions, dtype=np.float64).reshape(len(gx), 1)], axis=1)
    row_id = row_ids(z)
    pairs = np.unique(np.stack([g, row_id], axis=1), axis=0)  # distinct (prompt, row value)
    incidence = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(ids), int(row_id.max()) + 1)).tocsr()
    shared = (incidence @ incidence.T).tocoo()  # [G, G] distinct row values two prompts have in common
    size = np.asarray(incidence.sum(axis=1)).reshape(-1)
    keep = shared.data >= min_share * np.minimum(size[shared.row], size[shared.col])
    link = coo_matrix((np.ones(int(keep.sum())), (shared.row[keep], shared.col[keep])), shape=(len(ids), len(ids)))
    unit = connected_components(link, directed=False)[1]
    whole = unit[inverse.reshape(-1)]
    return whole[: len(gx)], whole[len(gx):]
