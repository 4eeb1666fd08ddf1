"""The cross-modal gap of one layer at the level of prompts: effect sizes, test, baselines, interval.

Inputs are the two modalities' tokens as ``Side``s: the vectors with, per token, the unit it belongs to (a prompt, or prompts that share an image)
and optionally labels of real sub-populations (language, category, ...). One pooled kernel matrix
(RBF, median-heuristic σ on the pooled sample) gives a matrix of kernel sums over token cells
(unit × modality × position half × labels), and every figure is read from it (``between``):

- ``mmd2``: between-prompt MMD² of image vs text tokens, units holding both; E does not depend on
  the number of prompts or tokens per prompt (kernel units, dimensionless).
- ``p_value``: sign-flip test over units (each unit's image and text blocks swapped at random).
- ``intra``: between-prompt MMD² between the levels of each label within one modality (mean over
  pairs of levels; levels held by fewer than 2 units are left out). Names "image/by-language", ...
  Without any usable label the fallback is the split of each modality's tokens of a unit into its
  earlier and later half by position ("image/by-position"), stated in ``intra_basis``.
- ``noise_floor``: standard deviation, over ``noise_halvings`` uniform random halvings of the units,
  of the between-prompt MMD² between the two halves of one modality: the estimator's own noise at
  this number of prompts (its expectation is 0; it shrinks about as 1/U). Reported, never a baseline.
- ``interval``: ratio mmd2 / max(intra) with its unit-level bootstrap (``bootstrap.ratio_interval``).
- ``per_scale`` (``scale_readings`` with a mixture kernel): the cross-modal MMD², its test and every real
  split's Comparisons under each RBF of the mixture alone, read from the same pass over the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ._validate import as_pair, check_seed
from .between import DEFAULT_MAX_KERNEL_ELEMENTS, CellGram, Comparison, block_mask, sign_flip_test
from .bootstrap import RatioInterval, ratio_interval
from .kernels import median_bandwidth, median_bandwidth_from, pooled_sq_dists
from .splits import random_halves

MODALITIES = ("image", "text")


@dataclass(frozen=True)
class Side:
    """One modality's tokens as the gap reads them: vectors and, per token, its unit, labels and position."""

    x: object  # [n, d] tensor or array
    units: np.ndarray  # [n] unit id per token (equal ids on both sides = one unit)
    strata: dict = field(default_factory=dict)  # label name -> [n] label per token (the same names on both sides)
    position: np.ndarray | None = None  # [n] token position within its prompt (None: the order given)

    def only(self, names) -> "Side":
        """This side with only the labels in `names`."""
        return Side(self.x, self.units, {n: self.strata[n] for n in names}, self.position)


@dataclass(frozen=True)
class GapResult:
    mmd2: float  # between-prompt MMD² image vs text, kernel units; E independent of the number of prompts
    p_value: float  # sign-flip test over units: (1 + #{null ≥ observed}) / (1 + permutations)
    permutations: int
    null_mean: float  # mean of the sign-flip null (≈ 0)
    null_std: float  # its standard deviation (shrinks about as 1/units)
    sigma: float  # RBF σ, in the units of the input vectors
    units: int  # units holding both modalities (those the test and the cross-modal effect use)
    intra: dict  # intra-modal effect name -> between-prompt MMD² on the data
    intra_basis: str  # "labels: language, category" or "position (fallback: no usable label)"
    noise_floor: dict  # modality -> sd of the random-halves between-prompt MMD² (kernel units)
    interval: RatioInterval
    n_image: int = 0
    n_text: int = 0
    levels: dict = field(default_factory=dict)  # label name -> levels used
    # (cross-modal Comparison, intra-modal name -> [Comparison]) behind the figures, so a caller can
    # form other ratios on the same units (e.g. keys after an intervention over the intra-modal effects before)
    comparisons: tuple | None = field(default=None, repr=False, compare=False)
    # with ``scale_readings``: one ScaleReading per RBF of the mixture (the single-σ readings beside it)
    per_scale: tuple = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class ScaleReading:
    """The gap read with ONE RBF of the mixture (σ = scale × σ_med): a reading beside the mixture's
    figures, never the verdict's; the same cells, units and splits."""

    scale: float  # multiple of σ_med
    sigma: float  # the RBF's σ, in the units of the input vectors
    mmd2: float  # between-prompt MMD² image vs text at this σ
    p_value: float  # its own sign-flip test (the same draws as the mixture's)
    comparisons: tuple = field(repr=False, compare=False)  # (cross-modal Comparison, real split name -> [Comparison])


def _p_value(observed: float, null: np.ndarray) -> float:
    """(1 + #{null ≥ observed}) / (1 + draws): the sign-flip test's p-value."""
    return (1.0 + float((null >= observed).sum())) / (1.0 + len(null))


def pooled_distances(image: Side, text: Side, max_kernel_elements: int = DEFAULT_MAX_KERNEL_ELEMENTS) -> torch.Tensor | None:
    """The pooled squared distances [N, N] of cat([image.x, text.x]) in the keys' dtype and on their device, or
    None when they do not fit in one kernel block (``kernels.pooled_sq_dists``): one matrix product that the
    gap (σ and kernel sums) and the support tier (neighbour distances) can share."""
    xi, xt = as_pair(image.x, text.x, min_rows=2)
    return pooled_sq_dists(torch.cat([xi, xt]), max_kernel_elements)


def _codes(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, first row of each code) for the distinct combinations of the columns."""
    stacked = np.stack([np.unique(np.asarray(c), return_inverse=True)[1].ravel() for c in columns], axis=1)
    uniq, first, inv = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
    return inv.ravel(), first


def _halves(units: np.ndarray, position: np.ndarray) -> np.ndarray:
    """0/1 per token: earlier or later half of its unit's tokens (ranked by position, ties by index)."""
    order = np.lexsort((np.arange(len(units)), position, units))
    rank = np.empty(len(units), dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(units[order])) + 1]
    sizes = np.diff(np.r_[starts, len(units)])
    rank[order] = np.arange(len(units)) - np.repeat(starts, sizes)
    return (rank >= np.repeat(sizes, sizes)[np.argsort(order)] / 2.0).astype(np.int64)


def cross_modal_gap(
    image: Side, text: Side, *, sigma: float | None = None, permutations: int = 1000,
    n_boot: int = 200, level: float = 0.90, seed: int = 0, noise_halvings: int = 16,
    max_kernel_elements: int = DEFAULT_MAX_KERNEL_ELEMENTS, dtype: torch.dtype = torch.float64,
    blocks: dict | None = None, kernel_scales: tuple[float, ...] | None = None, sq_dists: torch.Tensor | None = None,
    scale_readings: bool = False,
) -> GapResult:
    """The image and text tokens (``Side``: vectors [n, d], unit id per token, labels, positions);
    `blocks`: unit id -> block: only pairs of units within one block enter any figure (every statistic
    is then the pair-weighted mean of its within-block values: used for the measured halves of
    cross-fitting folds, each compared only with itself; default: one block); `kernel_scales`: the
    kernel is the mean of RBF kernels at σ × each scale (e.g. ``kernels.MIXTURE_SCALES``; default: the
    one RBF kernel at σ); `sq_dists`: the pooled squared distances of cat([image.x, text.x]) when the caller
    has them (``pooled_distances``, shared with the support tier), else computed here. See the module doc
    for every figure."""
    seed = check_seed(seed)
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < 1:
        raise ValueError(f"permutations must be an int >= 1, got {permutations!r}")
    xi, xt = as_pair(image.x, text.x, min_rows=2)
    ni, nt = xi.shape[0], xt.shape[0]
    ui, ut = np.asarray(image.units), np.asarray(text.units)
    for arr, n, name in ((ui, ni, "image"), (ut, nt, "text")):
        if arr.shape != (n,):
            raise ValueError(f"{name} units must have one unit id per token, shape ({n},), got {arr.shape}")
    strata_i, strata_t = dict(image.strata or {}), dict(text.strata or {})
    if set(strata_i) != set(strata_t):
        raise ValueError(f"image and text strata must name the same labels, got {sorted(strata_i)} and {sorted(strata_t)}")
    names = sorted(strata_i)
    pos_i = np.arange(ni) if image.position is None else np.asarray(image.position)
    pos_t = np.arange(nt) if text.position is None else np.asarray(text.position)

    units = np.concatenate([ui, ut])
    unit_code, first_of_unit = _codes(units)
    n_units = int(unit_code.max()) + 1
    mask = None if blocks is None else block_mask(np.array([blocks[u] for u in units[first_of_unit]]))
    modality = np.r_[np.zeros(ni, np.int64), np.ones(nt, np.int64)]
    half = np.r_[_halves(unit_code[:ni], pos_i), _halves(unit_code[ni:], pos_t)]
    labels = [np.concatenate([np.asarray(strata_i[n]).astype(str), np.asarray(strata_t[n]).astype(str)]) for n in names]
    for n, lab in zip(names, labels):
        if lab.shape != (ni + nt,):
            raise ValueError(f"stratum {n!r} must give one label per token")
    cell, first = _codes(unit_code, modality, half, *labels)
    unit_of, mod_of, half_of = unit_code[first], modality[first], half[first]
    lab_of = {n: lab[first] for n, lab in zip(names, labels)}

    z = torch.cat([xi, xt])  # [N, d] pooled, on the inputs' device
    if sq_dists is not None and tuple(sq_dists.shape) != (z.shape[0], z.shape[0]):
        raise ValueError(f"sq_dists must be [N, N] for the N = {z.shape[0]} pooled tokens, got {tuple(sq_dists.shape)}")
    # [N, N] or None: one product for σ and the kernel sums
    d2 = sq_dists if sq_dists is not None else pooled_sq_dists(z, max_kernel_elements)
    if sigma is None:
        sigma = median_bandwidth(xi, xt, seed=seed) if d2 is None else median_bandwidth_from(d2, seed=seed)
    widths = float(sigma) if kernel_scales is None else tuple(float(sigma) * float(c) for c in kernel_scales)
    per_scale = scale_readings and kernel_scales is not None and len(kernel_scales) > 1
    gram = CellGram(z, cell, len(first), widths, max_kernel_elements=max_kernel_elements, dtype=dtype, sq_dists=d2,
                    per_scale=per_scale)
    del d2

    levels: dict[str, list[str]] = {}
    splits = []  # (name, [(cells of level a, cells of level b)]) of every real split
    for n in names:
        for code, mod in enumerate(MODALITIES):
            held = {lv: len(set(unit_of[(mod_of == code) & (lab_of[n] == lv)])) for lv in np.unique(lab_of[n][mod_of == code])}
            usable = sorted(lv for lv, count in held.items() if count >= 2)
            if len(usable) >= 2:
                levels[n] = sorted(set(levels.get(n, [])) | {str(lv) for lv in usable})
                splits.append((f"{mod}/by-{n}", [((mod_of == code) & (lab_of[n] == a), (mod_of == code) & (lab_of[n] == b))
                                                  for i, a in enumerate(usable) for b in usable[i + 1 :]]))

    def compare(a, b, paired=False, g: CellGram = gram):
        return Comparison.build(g, unit_of, a, b, n_units, paired=paired, mask=mask)

    def read(g: CellGram) -> tuple[Comparison, dict[str, list[Comparison]]]:
        """The cross-modal Comparison (units holding both) and every real split's, from the sums `g`."""
        return compare(mod_of == 0, mod_of == 1, True, g), {name: [compare(a, b, g=g) for a, b in pairs] for name, pairs in splits}

    cross, intra = read(gram)
    observed, null = sign_flip_test(cross, permutations=int(permutations), seed=seed)
    readings = []
    for j, c in enumerate(kernel_scales if per_scale else ()):
        cross_j, intra_j = read(gram.at_scale(j))
        obs_j, null_j = sign_flip_test(cross_j, permutations=int(permutations), seed=seed)
        readings.append(ScaleReading(float(c), float(sigma) * float(c), obs_j, _p_value(obs_j, null_j), (cross_j, intra_j)))
    basis = f"labels: {', '.join(sorted(levels))}" if intra else "position (fallback: no usable label)"
    if not intra:
        intra = {f"{mod}/by-position": [compare((mod_of == code) & (half_of == 0), (mod_of == code) & (half_of == 1))]
                 for code, mod in enumerate(MODALITIES)}

    interval, intra_point = ratio_interval(cross, intra, n_boot=n_boot, level=level, seed=seed)
    noise = {}
    for code, (mod, g) in enumerate(zip(MODALITIES, (cross.g_aa, cross.g_bb))):
        held = np.unique(unit_of[mod_of == code])  # a unit's cells of one modality average to its modality mean
        if len(held) < 4:
            noise[mod] = float("nan")
            continue
        values = []
        for h in range(noise_halvings):
            a, b = random_halves(len(held), seed=seed * 1000 + h)
            has_a, has_b = np.zeros(n_units), np.zeros(n_units)
            has_a[held[a]], has_b[held[b]] = 1.0, 1.0
            values.append(float(Comparison(g, g, g, has_a, has_b, mask).mmd2()[0]))
        noise[mod] = float(np.std(values))
    return GapResult(
        mmd2=observed, p_value=_p_value(observed, null), permutations=int(permutations),
        null_mean=float(null.mean()), null_std=float(null.std()), sigma=float(sigma), units=cross.units(),
        intra=intra_point, intra_basis=basis, noise_floor=noise, interval=interval, n_image=ni, n_text=nt, levels=levels,
        comparisons=(cross, intra), per_scale=tuple(readings),
    )

