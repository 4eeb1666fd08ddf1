"""Benchmark loaders; importing this package registers every benchmark."""

from . import fixture, mmbench, mmmu, world  # noqa: F401  (register "fixture", "mmbench-cn", "mmmu", "world")
from .choice import BenchmarkChoice, parse_benchmarks
from .images import MULTI_IMAGE, ImageFit, fit_images
from .loading import OPEN_QUESTIONS, LoadOptions, LoadReport
from .registry import benchmark_names, check_benchmark, get_benchmark, load_benchmark, register_benchmark
from .sample import Sample
from .selection import select_samples

__all__ = [
    "MULTI_IMAGE", "OPEN_QUESTIONS", "BenchmarkChoice", "ImageFit", "LoadOptions", "LoadReport", "Sample", "benchmark_names", "check_benchmark",
    "fit_images", "get_benchmark", "load_benchmark", "parse_benchmarks", "register_benchmark", "select_samples",
]
