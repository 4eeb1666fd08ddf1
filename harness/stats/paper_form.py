"""The paper's form of the figure: token-level MMD² image vs text over random within-modality halves.

Question it answers: what does a token-level study (every token an observation, as arXiv 2510.26721
most likely computed its 0.408 vs ~0.012) read on these keys? It is a REPLICATION of the paper's
number, not a comparison of effects, and never evidence for the verdict:

- ``mmd2``: the unbiased token-level MMD² (pairs of distinct tokens, same-prompt pairs included, as
  ``mmd.mmd2_unbiased``). Its expectation is the population MMD² plus a clustering term (tokens of
  one prompt share its offset) whose weight shrinks as 1/S.
- ``halves``: per modality, the same statistic between two random halves of the units (prompts),
  averaged over `halvings` seeded halvings. Its population value is 0; its expectation is the
  clustering term alone (> 0 under prompt dependence, shrinking as 1/S), so the ratio grows with S.
- ``ratio`` = mmd2 / max over modalities of halves, with a percentile interval over a unit bootstrap
  (the same halvings in every replicate; copies of one unit are not paired with each other).

Everything is read from a ``between.Comparison`` that carries token counts (per-unit mean Grams
g[u, v] include the pairs within a unit, self-pairs included; k(x, x) = 1 for the RBF kernels here).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .between import Comparison
from .bootstrap import CAP, with_data_row


@dataclass(frozen=True)
class PaperForm:
    mmd2: float  # token-level unbiased MMD² image vs text, kernel units
    mmd2_low: float  # percentile bounds over the unit bootstrap at `level`
    mmd2_high: float
    halves: dict  # modality -> mean token-level MMD² between random halves of its units, kernel units
    ratio: float  # mmd2 / max(halves) (±CAP when the denominator is ≤ 0); dimensionless
    ratio_low: float  # percentile bounds of the ratio over the same replicates
    ratio_high: float
    halvings: int
    level: float


@dataclass(frozen=True)
class _Sums:
    """Kernel sums and pair counts between the tokens of units: s [U, U], c [U, U] (self-pairs taken
    out of the diagonal when one sample is compared with itself)."""

    s: np.ndarray
    c: np.ndarray

    @classmethod
    def of(cls, g: np.ndarray, n_x: np.ndarray, n_y: np.ndarray, same: bool) -> "_Sums":
        c = np.outer(n_x, n_y)
        s = g * c
        if same:
            s, c = s - np.diag(n_x), c - np.diag(n_x)  # k(x, x) = 1 for each token paired with itself
        return cls(s, c)

    def mean(self, wx: np.ndarray, wy: np.ndarray, within: np.ndarray) -> np.ndarray:
        """Mean kernel over token pairs for unit weights wx, wy [R, U]: pairs of distinct units weighted
        wx_u·wy_v, plus `within` [R, U] times each unit's own block -> [R]."""
        def total(a):
            return ((wx @ a) * wy).sum(-1) - (wx * wy * np.diagonal(a)).sum(-1) + within @ np.diagonal(a)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total(self.s) / total(self.c)


def token_mmd2(g_xx, g_yy, g_xy, n_x, n_y, wx, wy, within_xy) -> np.ndarray:
    """Token-level unbiased MMD² for unit weights wx, wy [R, U] -> [R]; `within_xy` [R, U]: how many
    times each unit's own x-y block counts (its multiplicity where x and y tokens share units, 0
    where the sides are disjoint sets of units)."""
    xx, yy = _Sums.of(g_xx, n_x, n_x, True), _Sums.of(g_yy, n_y, n_y, True)
    return xx.mean(wx, wx, wx) + yy.mean(wy, wy, wy) - 2.0 * _Sums.of(g_xy, n_x, n_y, False).mean(wx, wy, within_xy)


def paper_form(cross: Comparison, *, halvings: int = 16, n_boot: int = 200, level: float = 0.90, seed: int = 0) -> PaperForm:
    """The paper's form from the cross-modal Comparison (side A image, side B text, with token counts)."""
    if cross.n_a is None or cross.n_b is None:
        raise ValueError("paper_form needs a Comparison with token counts (between.Comparison.build gives them)")
    if cross.mask is not None:
        raise ValueError("paper_form reads one sample of units; a block mask has no token-level meaning here")
    units = len(cross.has_a)
    m = with_data_row(units, int(n_boot), seed)  # [1 + B, U]
    wa, wb = m * cross.has_a, m * cross.has_b
    mmd2 = token_mmd2(cross.g_aa, cross.g_bb, cross.g_ab, cross.n_a, cross.n_b, wa, wb, m * cross.has_a * cross.has_b)
    rng = np.random.default_rng(seed + 1)
    halves = {}
    for mod, g, n, w, has in (("image", cross.g_aa, cross.n_a, wa, cross.has_a), ("text", cross.g_bb, cross.n_b, wb, cross.has_b)):
        held = np.flatnonzero(has)
        if len(held) < 4:
            halves[mod] = np.full(len(m), np.nan)
            continue
        h = np.zeros((halvings, 1, units))  # [H, 1, U] 1 on the first half's units
        for i in range(halvings):
            h[i, 0, rng.permutation(held)[: len(held) // 2]] = 1.0
        wx, wy = (w[None] * h).reshape(-1, units), (w[None] * (1.0 - h)).reshape(-1, units)  # [H·(1 + B), U]
        same, apart = _Sums.of(g, n, n, True), _Sums.of(g, n, n, False)
        runs = same.mean(wx, wx, wx) + same.mean(wy, wy, wy) - 2.0 * apart.mean(wx, wy, np.zeros_like(wx))
        halves[mod] = runs.reshape(halvings, -1).mean(axis=0)  # [1 + B]
    with warnings.catch_warnings():  # a replicate may leave one half empty: its floor is nan
        warnings.simplefilter("ignore", RuntimeWarning)
        floor = np.nanmax(np.stack(list(halves.values())), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(floor > 0, np.clip(mmd2 / np.where(floor > 0, floor, 1.0), -CAP, CAP), np.copysign(CAP, mmd2))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(mmd2[1:], [alpha, 1.0 - alpha])
    rlo, rhi = np.nanquantile(ratio[1:], [alpha, 1.0 - alpha])
    return PaperForm(float(mmd2[0]), float(lo), float(hi), {k: float(v[0]) for k, v in halves.items()}, float(ratio[0]),
                     float(rlo), float(rhi), int(halvings), float(level))
