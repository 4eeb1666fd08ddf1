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


def unique_reason(r: Rows, min_fraction: float) -> str:
    """'' when each class has at least `min_fraction` distinct rows, else the 'n/a: ...' reason."""
    for c, name in ((1, "x"), (0, "y")):
        z = r.z[r.label == c]
        u = len(np.unique(z, axis=0))
        if u < min_fraction * len(z):
            return f"n/a: too few unique keys ({u:,} unique of {len(z):,} {name} rows; needs ≥ {min_fraction:.0%})"
    return ""


def grouped_folds(r: Rows, folds: int, seed: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """(train, test) index pairs with no prompt on both sides, and '' — or ([], 'n/a: ...') when
    there are fewer prompts than folds or a training side lacks one class. Folds whose test side
    lacks a class are left out (a held-out figure needs both)."""
    folds = check_int("folds", folds, 2)
    if r.n_groups < folds:
        return [], f"n/a: too few prompts for grouped folds ({r.n_groups} prompts, need ≥ {folds})"
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=check_seed(seed))
    out = []
    for train, test in cv.split(r.z, r.label, r.group):
        if len(np.unique(r.label[train])) < 2:
            return [], "n/a: too few prompts for grouped folds (a training fold has one modality only)"
        if len(np.unique(r.label[test])) == 2:
            out.append((train, test))
    if not out:
        return [], "n/a: too few prompts for grouped folds (no held-out fold has both modalities)"
    return out, ""
