"""The intervention suite's options (--ks-intervene*), registered by the plugin beside the run's and
parsed here, once, into an InterventionConfig (suites/test_intervention.py, harness.intervention.suite).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness.benchmarks import BenchmarkChoice, parse_benchmarks
from harness.run.options import Option, _choice, _split, defaulting

from .fit import parse_kinds

INTERVENTION_OPTIONS: tuple[Option, ...] = (
    Option("intervene", "all", "interventions of suites/test_intervention.py: all, or some of mean, moments, random, text-mean, text-moments"),
    Option("intervene-layers", "mid", "layers the interventions run at (words as --ks-layers); 'default' uses --ks-layers"),
    Option("intervene-benchmarks", "default", "benchmarks the interventions run on (names as --ks-benchmarks); 'default' uses --ks-benchmarks"),
    Option("intervene-results", "auto", "JSON-lines file of intervention records (apart from the triples' results), its page "
           "beside it as .html; auto: interventions.jsonl in the folder of --ks-results"),
    Option("intervene-shrinkage", "ledoit-wolf", "covariance of the `moments` target: ledoit-wolf (shrunk) or none (empirical)"),
)


@dataclass(frozen=True)
class InterventionConfig:
    """The parsed --ks-intervene* options."""

    names: tuple[str, ...]  # harness.intervention.fit.KINDS names, in the order given
    layers: tuple[str, ...] | None  # layer words; None: the run's layers (--ks-layers)
    benchmarks: tuple[BenchmarkChoice, ...] | None  # None: the run's (--ks-benchmarks)
    results: Path
    shrinkage: str
    results_auto: bool = False  # `results` is interventions.jsonl beside --ks-results (the option said auto)


def parse_intervention_config(get: Callable[[str], str], rootdir: Path, *, run_results: Path) -> InterventionConfig:
    """The --ks-intervene* options from `get(name)` (an empty value means the option's default);
    `run_results` is the run's results file (--ks-results), beside which `auto` puts the records."""
    get = defaulting(get, INTERVENTION_OPTIONS)
    layers = get("intervene-layers").strip()
    benches = get("intervene-benchmarks").strip()
    named = get("intervene-results").strip()
    results = Path(run_results).parent / "interventions.jsonl" if named == "auto" else Path(named).expanduser()
    return InterventionConfig(
        names=parse_kinds(get("intervene")),
        layers=None if layers in ("", "default") else tuple(_split(layers)),
        benchmarks=None if benches in ("", "default") else parse_benchmarks(benches),
        results=results if results.is_absolute() else rootdir / results,
        shrinkage=_choice("intervene-shrinkage", get("intervene-shrinkage"), ("ledoit-wolf", "none")),
        results_auto=named == "auto",
    )
