"""Benchmark loaders; importing this package registers every benchmark."""

from . import fixture  # noqa: F401  (registers "fixture")
from .registry import benchmark_names, get_benchmark, register_benchmark
from .sample import Sample
from .selection import select_samples

__all__ = ["Sample", "benchmark_names", "get_benchmark", "register_benchmark", "select_samples"]
