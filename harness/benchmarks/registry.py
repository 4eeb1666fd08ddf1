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


_BENCHMARKS: dict[str, BenchmarkLoader] = {}


def register_benchmark(name: str) -> Callable[[BenchmarkLoader], BenchmarkLoader]:
    def wrap(fn: BenchmarkLoader) -> BenchmarkLoader:
        if name in _BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        _BENCHMARKS[name] = fn
        return fn

    return wrap


def benchmark_names() -> list[str]:
    return sorted(_BENCHMARKS)


def get_benchmark(name: str) -> BenchmarkLoader:
    try:
        return _BENCHMARKS[name]
    except KeyError:
        raise KeyspaceError(
            f"unknown benchmark {name!r}; valid benchmarks: {', '.join(benchmark_names())}"
        ) from None
