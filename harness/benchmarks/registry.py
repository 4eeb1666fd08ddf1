"""Benchmark registry: the decorator is the single source of truth for benchmark names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from harness.errors import KeyspaceError

from .sample import Sample

if TYPE_CHECKING:
    from .loading import LoadOptions, LoadReport


class BenchmarkLoader(Protocol):
    """`loader(subsets, seed=..., options=LoadOptions(), report=LoadReport())` → the usable samples.

    Rows a loader cannot use (missing image, unwanted question kind) are counted in `report`, never raised.
    """

    def __call__(
        self, subsets: Sequence[str], *, seed: int, options: "LoadOptions" = ..., report: "LoadReport | None" = ...
    ) -> list[Sample]: ...


SubsetCheck = Callable[[Sequence[str]], object]  # raises KeyspaceError on an unknown subset name

_BENCHMARKS: dict[str, BenchmarkLoader] = {}
_SUBSET_CHECKS: dict[str, SubsetCheck] = {}


def register_benchmark(name: str, *, check_subsets: SubsetCheck | None = None) -> Callable[[BenchmarkLoader], BenchmarkLoader]:
    """Register a loader; `check_subsets` validates subset names without loading data (benchmarks
    whose subsets are known only from the data, like MMBench's categories, check them when loading)."""

    def wrap(fn: BenchmarkLoader) -> BenchmarkLoader:
        if name in _BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        _BENCHMARKS[name] = fn
        if check_subsets is not None:
            _SUBSET_CHECKS[name] = check_subsets
        return fn

    return wrap


def check_benchmark(name: str, subsets: Sequence[str] = ()) -> None:
    """Fail in one line on an unknown benchmark or (where known before loading) an unknown subset."""
    get_benchmark(name)
    if subsets and name in _SUBSET_CHECKS:
        _SUBSET_CHECKS[name](subsets)


def benchmark_names() -> list[str]:
    return sorted(_BENCHMARKS)


def get_benchmark(name: str) -> BenchmarkLoader:
    try:
        return _BENCHMARKS[name]
    except KeyError:
        raise KeyspaceError(
            f"unknown benchmark {name!r}; valid benchmarks: {', '.join(benchmark_names())}"
        ) from None
