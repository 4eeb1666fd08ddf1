"""By-benchmark splits: each modality's keys on this benchmark against its keys on a second benchmark.

Their between-prompt MMD² on the data is the verdict's by-benchmark point check (``analysis.verdict``).
Bounded as the tier bounds every other split, they are a reading beside the verdict (docs/statistics.md
"Amendment 3", "Amendment 4": the rule was pre-registered and not adopted, its criteria not met). A split
is a between-prompt MMD² whose units are those of BOTH benchmarks. Its bounds need the joint
(co)variance of the split effect and the cross-modal MMD² over one set of units, so both are written
over the union of the two benchmarks' units (``ustat`` reads them as one sample in which the benchmark
is a unit's level, as a category is):

- the cross-modal Comparison is this benchmark's own (``gap.GapResult.comparisons``), embedded in the
  union: the other benchmark's units hold neither side, so they pair with nothing and its value on the
  data is unchanged; its linearised kernel is centred on that value, so those units add nothing to its
  first-order variance (the union changes its variance by O(1/n) terms);
- the split's Comparison is built from the kernel sums over the two benchmarks' keys of the modality,
  with the gap's mixture kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ._validate import as_pair
from .between import CellGram, Comparison
from .bootstrap import intra_effects
from .gap import MODALITIES, Side

OWN, OTHER = "a:", "b:"  # unit-name prefixes of this benchmark's units and the other's in the union
BY_BENCHMARK = "/by-benchmark"  # the splits' names: "image/by-benchmark", "text/by-benchmark" (+ " (other)": ``combined``)
NOT_FORMED = "by-benchmark splits not formed"  # how a triple says a split is missing (analysis, session)


def pairing(benchmarks) -> str:
    """The other benchmarks of a triple's by-benchmark splits as its record names them (``extra["by_benchmark"]``):
    sorted and comma-separated, so the order the run gave them in does not matter; "" for none."""
    return ",".join(sorted(benchmarks))


@dataclass(frozen=True)
class BenchmarkSplits:
    """The by-benchmark splits over the union of both benchmarks' units, with this benchmark's cross-modal
    Comparison embedded there: what ``kernel_mean.kernel_mean_tier`` takes as `foreign` splits."""

    units: int  # units in the union (summed over the other benchmarks where several are combined)
    # name ("image/by-benchmark") -> (cross-modal Comparison over the union, [the split's Comparison]) or None
    # where a side is held by fewer than 2 units (the split cannot be formed)
    splits: dict
    formed: tuple = ()  # the other benchmarks against which some split was formed, sorted (``combined`` names them)

    def points(self) -> dict[str, float]:
        """name -> the split's between-prompt MMD² on the data (the formed splits only)."""
        return {name: float(intra_effects({name: held[1]})[name][0]) for name, held in self.splits.items() if held}

    def unformed(self) -> list[str]:
        """The splits that could not be formed (a side held by fewer than 2 units)."""
        return [name for name, held in self.splits.items() if held is None]


def combined(against: dict[str, BenchmarkSplits]) -> BenchmarkSplits:
    """One benchmark's splits against each other benchmark (name -> its ``benchmark_splits``) as one set: with one
    other benchmark the names stay "image/by-benchmark"; with several each names its benchmark
    ("image/by-benchmark (world)"), every one a split of its own."""
    formed = tuple(sorted(bench for bench, b in against.items() if any(held is not None for held in b.splits.values())))
    if len(against) == 1:
        return replace(next(iter(against.values())), formed=formed)
    splits = {f"{name} ({bench})": held for bench, b in against.items() for name, held in b.splits.items()}
    return BenchmarkSplits(sum(b.units for b in against.values()), splits, formed)


def embed(cmp: Comparison, n: int) -> Comparison:
    """`cmp` over `n` units, its own units first (in their order); the units after them hold neither side."""
    if cmp.mask is not None:
        raise ValueError("a by-benchmark split pairs every unit: the cross-modal comparison must have no block mask")

    k = len(cmp.has_a)

    def square(g: np.ndarray) -> np.ndarray:
        out = np.zeros((n, n))
        out[:k, :k] = g
        return out

    def vector(v: np.ndarray | None) -> np.ndarray | None:
        return None if v is None else np.r_[v, np.zeros(n - k)]

    return Comparison(square(cmp.g_aa), square(cmp.g_bb), square(cmp.g_ab), vector(cmp.has_a), vector(cmp.has_b), None,
                      vector(cmp.n_a), vector(cmp.n_b))


def own_units(image: Side, text: Side) -> np.ndarray:
    """The unit names of a gap's Comparisons, in their order (``gap.cross_modal_gap`` codes units by np.unique)."""
    return np.unique(np.concatenate([np.asarray(image.units), np.asarray(text.units)])).astype(str)


def benchmark_splits(cross: Comparison, image: Side, text: Side, other_image: Side, other_text: Side, *,
                     widths: tuple[float, ...], dtype: torch.dtype = torch.float64) -> BenchmarkSplits:
    """`cross`: this benchmark's cross-modal Comparison under the mixture kernel of `widths`; `image`, `text`:
    this benchmark's kept keys as the gap read them; `other_*`: the other benchmark's, selected the same way."""
    own = own_units(image, text)
    if len(own) != len(cross.has_a):
        raise ValueError(f"the cross-modal comparison has {len(cross.has_a)} units, the keys name {len(own)}")
    other = own_units(other_image, other_text)
    names = np.r_[np.char.add(OWN, own), np.char.add(OTHER, other)]
    index = {name: i for i, name in enumerate(names)}
    n = len(names)
    embedded = embed(cross, n)
    splits: dict = {}
    for mod, mine, theirs in zip(MODALITIES, (image, text), (other_image, other_text)):
        name = f"{mod}{BY_BENCHMARK}"
        if len(set(np.asarray(mine.units))) < 2 or len(set(np.asarray(theirs.units))) < 2:
            splits[name] = None
            continue
        x, y = as_pair(mine.x, theirs.x, min_rows=1)
        unit = np.array([index[OWN + str(u)] for u in np.asarray(mine.units)] +
                        [index[OTHER + str(u)] for u in np.asarray(theirs.units)], dtype=np.int64)
        side = np.r_[np.zeros(len(mine.units), np.int64), np.ones(len(theirs.units), np.int64)]
        gram = CellGram(torch.cat([x, y]), unit * 2 + side, 2 * n, widths, dtype=dtype)
        cells = np.arange(2 * n)
        splits[name] = (embedded, [Comparison.build(gram, cells // 2, cells % 2 == 0, cells % 2 == 1, n)])
    return BenchmarkSplits(n, splits)
