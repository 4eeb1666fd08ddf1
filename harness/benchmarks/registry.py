"""Benchmark registry: the decorator is the single source of truth for benchmark names."""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

from harness.errors import KeyspaceError

from .sample import Sample

from .loading import LoadOptions, LoadReport


class BenchmarkLoader(Protocol):
    """`loader(subsets, seed=..., options=LoadOptions(), report=LoadReport())` → the usable samples.

    Rows a loader cannot use (missing image, unwanted question kind) are counted in `report`, never raised.
    """

    def __call__(
        self, subsets: Sequence[str], *, seed: int, options: LoadOptions = ..., report: LoadReport | None = ...
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


def load_benchmark(name: str, subsets: Sequence[str], *, seed: int, options: LoadOptions) -> tuple[list, LoadReport]:
    """Every usable sample of benchmark `name` (restricted to `subsets`) and the loader's report.

    A benchmark left with no usable sample is an error, naming why its rows were skipped.
    """
    report = LoadReport()
    samples = get_benchmark(name)(subsets, seed=seed, options=options, report=report)
    if not samples:
        label = name + (":" + ",".join(subsets) if subsets else "")
        raise KeyspaceError(f"{label}: no usable samples; {report.note() or 'the set is empty'}")
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise KeyspaceError(f"{name}: sample id {dup!r} occurs more than once; ids must be unique")
    return samples, report
