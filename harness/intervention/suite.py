"""The intervention suite's session, independent of pytest: plan the cases, study each (model,
benchmark) once, judge and record each (model, layer, benchmark, intervention).

It borrows the keyspace run's loaded model, samples and settings (harness.run.session.KeyspaceRun), so a
run with both suites loads each model once per stretch of tests that use it. At the end, `finish` writes
the interventions page beside the records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from harness.errors import KeyspaceError
from harness.models.layers import resolve_layers
from harness.models.placement import block_diffusion
from harness.results.store import Store
from harness.benchmarks import BenchmarkChoice, check_benchmark
from harness.run.plan import Pair
from harness.run.session import KeyspaceRun

from .baselines import expected_failure, write_outcome
from .options import InterventionConfig
from .results import InterventionResult, merge_intervention_parts, read_interventions_since
from .run import NOT_NEXT_TOKEN, PairStudy, StudySettings


@dataclass(frozen=True)
class InterventionCase:
    model: str
    layer: int
    bench: BenchmarkChoice
    intervention: str

    @property
    def benchmark(self) -> str:
        return self.bench.text

    @property
    def id(self) -> str:
        return f"{self.model}-L{self.layer}-{self.benchmark}-{self.intervention}"


@dataclass
class InterventionSession:
    run: KeyspaceRun
    icfg: InterventionConfig
    results: list[InterventionResult] = field(default_factory=list)  # this process's, in finishing order
    started: float = field(default_factory=time.time)  # wall clock at the session's start: records files older are another run's
    page: Path | None = None  # the interventions page `finish` wrote; None before it, or when no case ran
    _study: PairStudy | None = None
    store: Store = field(init=False)  # the records file this session appends to (harness.results.store)

    def __post_init__(self) -> None:
        self.store = Store(self.icfg.results, "--ks-intervene-results", worker=self.run.worker)

    def plan(self) -> list[InterventionCase]:
        for bench in self.icfg.benchmarks or ():
            try:
                check_benchmark(bench.name, bench.subsets)
            except KeyspaceError as exc:
                raise KeyspaceError(f"--ks-intervene-benchmarks: {exc}") from None
        cases = []
        for model in self.run.cfg.models:
            spec = self.run.planner.spec(model)
            if not self.run.planner.owns_model(spec.name):  # --ks-shard: another shard runs this model's interventions
                continue
            if spec.num_layers is None and block_diffusion(self.run.planner.checkpoint_config(spec)):
                if (note := f"{spec.name}: {NOT_NEXT_TOKEN}") not in self.run.notes:
                    self.run.notes.append(note)
                continue
            words = self.icfg.layers or self.run.cfg.layers or spec.default_layers
            option = "--ks-intervene-layers" if self.icfg.layers else "--ks-layers"
            layers = resolve_layers(
                words, self.run.planner.num_layers(spec), model=spec.name, attention=self.run.planner.attention_layers(spec), option=option,
                reuse=self.run.planner.kv_reuse(spec),
            )
            for bench in self.icfg.benchmarks or self.run.cfg.benchmarks:
                cases += [InterventionCase(spec.name, layer, bench, name) for layer in layers for name in self.icfg.names]
        return cases

    def settings(self, model: str) -> StudySettings:
        base = self.run.planner.settings(self.run.planner.spec(model))
        return StudySettings(
            names=self.icfg.names, shrinkage=self.icfg.shrinkage, seed=base.seed, batch_size=self.run.cfg.batch_size,
            caps=self.run.cfg.max_tokens, max_points=base.max_points, threshold=base.threshold,
            alpha=base.alpha, permutations=base.permutations, ratio_boot=base.n_boot, level=base.level,
        )

    def study(self, model: str, bench: BenchmarkChoice) -> PairStudy:
        """The study of (model, benchmark); the previous one is dropped (its model may be gone)."""
        loaded = self.run.loaded(model)  # the run's own, loaded once per stretch of tests of one model
        s = self._study
        if s is None or s.loaded is not loaded or s.benchmark != bench.text:
            samples = self.run.model_samples(Pair(model, bench))
            self._study = PairStudy.start(loaded, samples, bench.text, self.settings(model))
        return self._study

    def judge(self, case: InterventionCase) -> InterventionResult:
        """Study, check and record one case; an error becomes an `error` record with its one line.
        With --ks-update-baselines, the outcome is stored (harness.intervention.baselines)."""
        try:
            result = self.study(case.model, case.bench).result(case.layer, case.intervention)
        except Exception as exc:  # recorded as this case's error; the other cases still run
            message = str(exc) if isinstance(exc, KeyspaceError) else f"{type(exc).__name__}: {exc}"
            result = InterventionResult(model=case.model, layer=case.layer, benchmark=case.benchmark,
                                        intervention=case.intervention, status="error", message=message)
        self.record(result)
        store = self.run.cfg.baselines
        if store is not None and self.run.cfg.update_baselines and result.status != "error":
            write_outcome(result, store)
        return result

    def expected(self, result: InterventionResult) -> str | None:
        """Why a failed `result` is a known outcome (harness.intervention.baselines), else None."""
        return None if self.run.cfg.update_baselines else expected_failure(result, self.run.cfg.baselines)

    def record(self, result: InterventionResult) -> None:
        self.results.append(result)
        self.store.append(result)  # the first record claims the file (a live run holding it: one line) and starts it anew

    # -- the end of the session -----------------------------------------------------------------------
    def session_records(self) -> list[InterventionResult]:
        """The records this session wrote, every parallel worker's included: from the records file and its
        part files modified since the session started (an older file is another run's); none when the
        suite did not run."""
        return read_interventions_since(self.icfg.results, self.started)

    def known(self, records: Sequence[InterventionResult]) -> dict[tuple, str]:
        """Record key → why its failure is the stored, expected outcome (``expected``), for each such record."""
        return {r.key: why for r in records if (why := self.expected(r))}

    def finish(self, records: Sequence[InterventionResult], known: dict[tuple, str]) -> None:
        """Everything the session does at its end, once, in the process that owns the records (not a
        parallel worker): the interventions page beside the records file (also a section of the main report),
        from this session's `records` (``session_records``) with the `known` outcomes; under xdist, the workers'
        part files folded into the records file first."""
        merge_intervention_parts(self.icfg.results, self.started)
        if records:
            from harness.report.interventions import render_interventions  # deferred: matplotlib only when the page is written

            self.page = render_interventions(records, self.icfg.results.with_suffix(".html"), known)

    def display(self, tr) -> None:
        """The session's lines at the end of the console output: none; its records are shown by the main
        report's section and by the page `finish` wrote."""
