"""One run of the harness, independent of pytest: plan the triples, load, capture, judge, record.

Models are loaded once and kept until the next model is needed (one at a time, since real ones
fill a GPU); each (model, benchmark) pair is captured once for all its layers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.analysis.selection import AnalysisError, sample_strata
from harness.analysis.triple import analyze_layer, samples_digest
from harness.stats.by_benchmark import NOT_FORMED, pairing
from harness.results.baselines import check_baseline
from harness.benchmarks import BenchmarkChoice, LoadOptions, LoadReport, Sample, fit_images, load_benchmark, select_samples
from harness.capture.cache import fetch, writable
from harness.capture.cache_key import checkpoint_identity, key_for
from harness.capture.keys import KeyBank, capture_keys
from harness.run.controls import CONTROLS, shuffled_labels, synthetic_bank, synthetic_strata, text_as_image_bank
from harness.errors import KeyspaceError
from harness.analysis.label_check import flag_labels
from harness.capture.mechanism import mechanism_metrics
from harness.models import LoadedModel, adapter_for
from harness.run.oom import with_oom_backoff
from harness.run.options import RunConfig
from harness.atomic import write_atomic
from harness.results.figures import Drift, Sampling, TextBias
from harness.results.meta import write_run_info
from harness.results.records import TripleResult, merge_parts, part_paths, read_results
from harness.run.runinfo import run_info
from harness.run.plan import ControlCase, Pair, RunPlan, Triple
from harness.results.store import Store


def one_line(exc: BaseException, pair: Pair) -> str:
    """A failure as one line: a KeyspaceError's own text; anything else by type and first line, with the pair."""
    if isinstance(exc, KeyspaceError):
        return str(exc)
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    return f"{pair.id}: {type(exc).__name__}: {first}"


@dataclass
class KeyspaceRun:
    cfg: RunConfig
    worker: str | None = None  # pytest-xdist worker id of this process; None outside a parallel run
    results: list[TripleResult] = field(default_factory=list)  # this session's, in finishing order
    capture_seconds: dict[Pair, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # things the user should know (e.g. fewer samples than asked)
    _loaded: LoadedModel | None = None
    load_reports: dict[str, LoadReport] = field(default_factory=dict)  # per benchmark: rows the loader skipped and why
    _samples: dict[str, list[Sample]] = field(default_factory=dict)
    _banks: dict[Pair, KeyBank] = field(default_factory=dict)
    _failed_pairs: dict[Pair, str] = field(default_factory=dict)
    _text_bias: dict[str, TextBias | None] = field(default_factory=dict)  # per model: the organisms' hint probe
    _previous: dict | None = None
    _strata: dict = field(default_factory=dict)  # Pair -> sample_strata of its samples
    _reported: set = field(default_factory=set)  # pairs whose failure a test has already shown
    _cache_writable: bool | None = None  # worked out at the first capture
    store: Store = field(init=False)  # the results file this run appends to (harness.results.store)
    planner: RunPlan = field(init=False)  # its triples, pairs, controls and settings (harness.run.plan)
    report: Path | None = None  # the HTML report `finish` wrote; None before it, or when no triple ran
    written_info: dict = field(default_factory=dict)  # the run metadata `finish` wrote beside the results
    interventions: list = field(default_factory=list)  # this session's intervention records, given to `finish`
    known: dict = field(default_factory=dict)  # their key → why a failure is the stored, expected outcome

    def __post_init__(self) -> None:
        self.store = Store(self.cfg.results, "--ks-results", worker=self.worker, resume=self.cfg.resume)
        self.planner = RunPlan(self.cfg)

    # -- the plan (harness.run.plan) -------------------------------------------------------------------
    def plan(self) -> list[Triple]:
        return self.planner.plan()

    def pairs(self) -> list[Pair]:
        return self.planner.pairs()

    def control_plan(self) -> list[ControlCase]:
        return self.planner.control_plan()

    # -- heavy steps ------------------------------------------------------------------------------
    def loaded(self, model: str) -> LoadedModel:
        if self._loaded is None or self._loaded.spec.name != model:
            self._loaded = None  # free the previous model before loading the next
            spec = self.planner.spec(model)
            self._loaded = adapter_for(spec.family).load(
                spec, device=self.cfg.torch_device, dtype=self.cfg.torch_dtype, seed=self.cfg.seed,
                device_map=self.cfg.device_map, trust_remote_code=self.cfg.trust_remote_code,
            )
            self.notes.extend(n for n in self._loaded.load_notes if n not in self.notes)
        return self._loaded

    def samples(self, bench: BenchmarkChoice) -> list[Sample]:
        benchmark = bench.text
        if benchmark not in self._samples:
            options = LoadOptions(
                data_dir=Path(self.cfg.data_dir) if self.cfg.data_dir else None, open_questions=self.cfg.open_questions
            )
            everything, report = load_benchmark(bench.name, bench.subsets, seed=self.cfg.seed, options=options)
            self.load_reports[benchmark] = report
            chosen, note = select_samples(everything, self.cfg.samples, self.cfg.seed)
            for line in (report.note(), note):
                if line:
                    self.notes.append(f"{benchmark}: {line}")
            self._samples[benchmark] = chosen
        return self._samples[benchmark]

    def model_samples(self, pair: Pair) -> list[Sample]:
        """The benchmark's samples fitted to the model's image limit (--ks-multi-image)."""
        max_images = self.planner.spec(pair.model).max_images
        fit = fit_images(self.samples(pair.bench), max_images, self.cfg.multi_image)
        note = fit.note(max_images, self.cfg.multi_image)
        if note and f"{pair.id}: {note}" not in self.notes:
            self.notes.append(f"{pair.id}: {note}")
        if not fit.samples:
            raise KeyspaceError(f"{pair.id}: every sample has more than {max_images} image(s); use --ks-multi-image first")
        return fit.samples

    def strata(self, pair: Pair) -> dict[str, dict[str, str]]:
        """harness.analysis.triple.sample_strata of the pair's samples, worked out once per pair (it hashes every image)."""
        if pair not in self._strata:
            self._strata[pair] = sample_strata(self.model_samples(pair))
        return self._strata[pair]

    def capture(self, pair: Pair) -> KeyBank:
        """The key bank of `pair` for every planned layer of it, captured once."""
        if pair in self._failed_pairs:
            raise KeyspaceError(self._failed_pairs[pair])
        if pair not in self._banks:
            layers = sorted({t.layer for t in self.plan() if t.pair == pair})
            start = time.perf_counter()
            try:
                samples = self.model_samples(pair)
                key = key_for(self.planner.spec(pair.model), self.cfg.capture_options, pair.benchmark, [s.id for s in samples], layers)
                bank, notes = fetch(  # the model is loaded only when the cache cannot serve
                    self.cfg.cache, key, label=f"capture of {pair.id}",
                    capture=lambda: self._capture_with_backoff(pair, samples, layers), store=self.cache_writable(),
                )
                self.notes.extend(notes)
                self._banks[pair] = self._sliced(bank)
            except Exception as exc:  # kept as the pair's one line; its other tests do not retry it
                self._failed_pairs[pair] = one_line(exc, pair)
                raise  # as it came: a KeyspaceError is shown as its line, anything else (a bug) with its traceback
            self.capture_seconds[pair] = time.perf_counter() - start
        return self._banks[pair]

    def _sliced(self, bank):
        """The bank the figures are of: the whole vectors, or with --ks-heads N that head's slice of them."""
        return bank if self.cfg.heads is None else bank.head(self.cfg.heads)

    def cache_writable(self) -> bool:
        """Whether captures are stored in the key cache; a read-only one (a shared, mounted cache)
        serves its hits, and the run says once that misses are captured without being stored."""
        if self._cache_writable is None:
            self._cache_writable = self.cfg.cache is not None and writable(self.cfg.cache)
            if self.cfg.cache is not None and not self._cache_writable:
                self.notes.append(f"key cache {self.cfg.cache} is read-only: its entries are served, "
                                  "new captures are not stored")
        return self._cache_writable

    def reported_elsewhere(self, pair: Pair) -> str | None:
        """Each pair's failure is shown once, by the first test that meets it (its capture test): for that
        test None (and the failure counts as shown); for the pair's later tests, the reason to skip."""
        if pair not in self._failed_pairs:
            return None
        if pair not in self._reported:
            self._reported.add(pair)
            return None
        return f"{pair.id}: not run, its capture failed (reported once, by test_capture[{pair.id}])"

    def previous(self) -> dict[tuple, TripleResult]:
        """With --ks-resume: the results already on disk for this configuration (else empty).

        A results file written under other options is a one-line error: its figures would be mixed
        with figures of another configuration.
        """
        if not self.cfg.resume:
            return {}
        if self._previous is None:
            found = [r for p in [self.cfg.results, *part_paths(self.cfg.results)] for r in read_results(p)]
            foreign = sorted({r.config_id for r in found} - {self.cfg.config_id()})
            if foreign:
                raise KeyspaceError(
                    f"--ks-resume: {self.cfg.results} holds results of another configuration ({', '.join(foreign)}, "
                    f"this run is {self.cfg.config_id()}); drop --ks-resume or use another --ks-results"
                )
            self._previous = {r.key: r for r in found if r.status != "error"}
            plan = {(t.model, t.layer, t.benchmark, ""): t for t in self.plan()}
            for key, t in plan.items():  # a triple measured beside other benchmarks: its by-benchmark splits are not this run's
                paired = pairing(b.text for b in self.planner.paired(t.bench))  # as the record names them
                if key in self._previous and (was := self._previous[key].extra.get("by_benchmark", "")) != paired:
                    del self._previous[key]
                    self.notes.append(f"--ks-resume: {t.model} L{t.layer} {t.benchmark} measured again: its by-benchmark "
                                      f"splits were against {was or 'no benchmark'}, this run's against {paired or 'none'}")
            kept = len(plan.keys() & self._previous.keys())
            self.notes.append(f"--ks-resume: kept {kept} finished triple(s) of {self.cfg.results}; "
                              f"{len(plan) - kept} of this run's {len(plan)} left to run")
        return self._previous

    def _capture_with_backoff(self, pair: Pair, samples: list[Sample], layers: list[int]) -> KeyBank:
        loaded = self.loaded(pair.model)

        def run(batch_size: int) -> KeyBank:
            return capture_keys(
                loaded, samples, layers, benchmark=pair.benchmark, batch_size=batch_size, kind=self.cfg.capture,
                max_tokens=self.cfg.max_tokens, seed=self.cfg.seed,
            )

        def describe() -> str:
            longest = max(loaded.adapter.encode(loaded, [s])[0]["input_ids"].shape[1] for s in samples)
            return f"model {pair.model}, layers {layers}, longest prompt {longest} tokens"

        bank, notes = with_oom_backoff(run, self.cfg.batch_size, describe=describe)
        self.notes.extend(f"capture of {pair.id}: {n}" for n in notes)
        if self.cfg.mechanism:
            # Logit gap and attention share ride with the bank, so a cache hit serves them too.
            metrics, notes = with_oom_backoff(
                lambda b: mechanism_metrics(loaded, samples, layers, batch_size=b), self.cfg.batch_size, describe=describe
            )
            bank = replace(bank, mechanism=metrics)
        return bank

    def judge(self, triple: Triple) -> TripleResult:
        """Analyse one triple, record it (appended to the results file at once) and return it."""
        done = self.previous().get((triple.model, triple.layer, triple.benchmark, ""))
        if done is not None:  # already on disk: not written again, but compared with THIS run's baselines
            done = self._with_baseline(done)
            self.results.append(done)
            return done
        spec = self.planner.spec(triple.model)
        settings = self.planner.settings(spec)
        try:
            bank = self.capture(triple.pair)
            others, missing = self._other_banks(triple)
            strata = self.strata(triple.pair)
            result = analyze_layer(bank, triple.layer, settings, config_id=self.cfg.config_id(), strata=strata, others=others)
            if missing:  # the verdict then stands without those by-benchmark splits
                said = "; ".join(filter(None, [result.extra.get("by_benchmark_missing"), missing]))
                result = replace(result, message="; ".join(filter(None, [result.message, missing])),
                                 extra={**result.extra, "by_benchmark_missing": said})
            if result.extra.get("by_benchmark_missing"):  # visible in the console too, a passing triple's included
                self.notes.append(f"{triple.model} L{triple.layer} {triple.benchmark}: {result.extra['by_benchmark_missing']}")
            result = flag_labels(result, bank)
            sampling = Sampling.from_dict(bank.sampling)  # which tokens the bank kept
            result = replace(result, extra={**result.extra, "capture_sampling": sampling.to_dict()})
        except Exception as exc:  # recorded as this triple's error; the other triples still run
            result = self._error_result(triple.model, triple.layer, triple.benchmark, settings, exc)
        if triple.pair in self.capture_seconds:  # wall time of the capture this triple shares with its pair
            result = replace(result, extra={**result.extra, "capture_seconds": self.capture_seconds[triple.pair]})
        probe = self.text_bias(triple.model) if result.status != "error" else None
        if probe:  # behaviour beside geometry (organisms only): see harness.organisms.probe
            result = replace(result, extra={**result.extra, "text_bias": probe.to_dict()})
        result = self._with_baseline(result)
        self.record(result)
        return result

    def _shaping(self, result: TripleResult) -> dict[str, str]:
        """What shaped this triple's figures: the run's settings and the other benchmarks its by-benchmark splits were
        formed against (the record's; absent where none was, so entries stored with one benchmark still compare)."""
        paired = result.extra.get("by_benchmark")
        return {**self.cfg.shaping(), **({"by_benchmark": paired} if paired else {})}

    def _with_baseline(self, result: TripleResult) -> TripleResult:
        """`result` with its comparison against the stored baseline (none for an error or without a store); what a
        reader must know but that does not fail the test (created beside, other settings, rewritten) is a note."""
        if self.cfg.baselines is None or result.status == "error":
            return result
        try:
            drift = check_baseline(result, self.cfg.baselines, update=self.cfg.update_baselines, settings=self._shaping(result))
        except KeyspaceError as exc:  # a damaged baseline file: this triple's figures are kept, its test fails
            drift = Drift("unreadable", "", note=str(exc))
        if drift.status in ("new", "other-config", "unreadable") or (drift.status == "updated" and (drift.changes() or drift.note)):
            # a missing entry or a damaged file concerns the model's file, once; the others one triple each
            where = result.model if drift.status in ("new", "unreadable") else f"{result.model} L{result.layer} {result.benchmark}"
            if (note := f"{where}: {drift.message()}") not in self.notes:
                self.notes.append(note)
        return replace(result, extra={**result.extra, "baseline_drift": drift.to_dict()})

    def text_bias(self, model: str) -> TextBias | None:
        """The text-bias probe of an organism (once per model), None for other models."""
        if model not in self._text_bias:
            # deferred: the probe's modules only for organisms
            from harness.organisms.probe import cached_text_bias, organism_plan_seed, probe_key, text_bias

            spec = self.planner.spec(model)
            seed = organism_plan_seed(spec.source) if spec.is_local else None
            if seed is None:
                self._text_bias[model] = None
            else:  # a warm key cache serves the probe too (the same checkpoint files, questions, precision, code)
                def compute() -> TextBias:
                    loaded = self.loaded(model)
                    return text_bias(loaded.model, loaded.processor, seed)

                key = probe_key(checkpoint_identity(spec), seed, dtype=self.cfg.dtype, device=str(self.cfg.torch_device))
                self._text_bias[model] = cached_text_bias(self.cfg.cache, key, compute, write=self.cache_writable())
        return self._text_bias[model]

    def _other_banks(self, triple: Triple) -> tuple[list[tuple[KeyBank, dict]], str]:
        """([(bank, sample strata)] of the same model on every other benchmark of the run (for the by-benchmark
        splits), what could not be captured): that pair's own tests report its error, and this triple goes on without
        its splits, saying so."""
        others, missing = [], []
        for bench in self.planner.paired(triple.bench):
            pair = Pair(triple.model, bench)
            try:
                others.append((self.capture(pair), self.strata(pair)))
            except KeyspaceError as exc:
                missing.append(f"{pair.benchmark} could not be captured ({exc})")
        return others, f"{NOT_FORMED}: {'; '.join(missing)}" if missing else ""

    def run_control(self, case: ControlCase) -> TripleResult:
        """Judge a control exactly as a triple is judged, and record it with its expected verdict; a control
        that cannot run is recorded as an error row naming it (so no summary folds it into "as expected")
        and its exception goes on to the test."""
        control = CONTROLS[case.name]
        try:
            return self._run_control(case, control)
        except Exception as exc:
            t = case.triple
            settings = self.planner.settings(self.planner.spec(t.model) if t else None)
            self.record(self._error_result(
                t.model if t else "synthetic", t.layer if t else 0, t.benchmark if t else "synthetic", settings, exc,
                extra={"control": control.name, "expect_pass": control.expect_pass, "control_description": control.description},
            ))
            raise

    def _error_result(self, model: str, layer: int, benchmark: str, settings, exc: BaseException, extra: dict | None = None) -> TripleResult:
        """The record of a triple (or control) that could not be judged: its one line, no figures."""
        message = str(exc) if isinstance(exc, (KeyspaceError, AnalysisError)) else f"{type(exc).__name__}: {exc}"
        return TripleResult(
            model=model, layer=layer, benchmark=benchmark, status="error",
            threshold=settings.threshold, alpha=settings.alpha, config_id=self.cfg.config_id(),
            samples_digest=samples_digest(s.id for s in self._samples.get(benchmark, [])),
            message=message, extra=extra or {},
        )

    def _run_control(self, case: ControlCase, control) -> TripleResult:
        if case.triple is None:
            bank, layer = synthetic_bank(seed=self.cfg.seed), 0
            settings = self.planner.settings(None)
        else:
            layer = case.triple.layer
            settings = self.planner.settings(self.planner.spec(case.triple.model))
            if case.name == "shuffled-labels":
                bank = shuffled_labels(self.capture(case.triple.pair), layer, seed=self.cfg.seed)
            else:
                self.capture(case.triple.pair)  # a pair that cannot be captured fails here, with its one line
                loaded = self.loaded(case.triple.model)
                bank = self._sliced(text_as_image_bank(loaded, lambda: capture_keys(
                    loaded, self.model_samples(case.triple.pair), [layer],
                    benchmark=case.triple.benchmark, batch_size=self.cfg.batch_size, kind=self.cfg.capture,
                    max_tokens=self.cfg.max_tokens, seed=self.cfg.seed,
                ), layer, kind=self.cfg.capture, seed=self.cfg.seed))
        strata = synthetic_strata(bank) if case.triple is None else sample_strata(self.model_samples(case.triple.pair))
        # Neither a t-SNE map nor per-head figures: both are shown figures of a finding (the report draws the real
        # triples' only); the control's verdict comes from the same tiers as a triple's.
        settings = replace(settings, tsne_cap=0, per_head=0)
        result = flag_labels(analyze_layer(bank, layer, settings, config_id=self.cfg.config_id(), strata=strata), bank)
        result = replace(
            result, extra={**result.extra, "control": control.name, "expect_pass": control.expect_pass,
                           "control_description": control.describe(bank.kind)},
        )
        self.record(result)
        return result

    def record(self, result: TripleResult) -> None:
        self.results.append(result)
        repaired = self.store.append(result)
        if repaired:
            self.notes.append(repaired)

    def _finish_empty_shard(self) -> str | None:
        """When this shard (--ks-shard) holds nothing of the run: an empty results file (kept as it is
        with --ks-resume) and its run metadata, so a merge lists the shard as present rather than
        missing; returns the line saying so. None for any other run, and in a parallel worker."""
        note = self.planner.empty_note()
        if not note or self.worker or self.results:
            return None
        if not (self.cfg.resume and self.cfg.results.exists()):
            write_atomic(self.cfg.results, b"")
        write_run_info(self.cfg.results, self.info())
        return f"{note}; wrote an empty {self.cfg.results} and its run metadata, so a merge lists this shard as present"

    def info(self) -> dict:
        """Run metadata for the report: versions, device, options, samples, and the run's notes (what the console
        prints after the table: a model's output head drawn at random, a model left out of the interventions, fewer
        samples than asked, where the keys came from), so a reader of the report sees them too."""
        return {**run_info(self.cfg, {b: [s.id for s in v] for b, v in self._samples.items()}), "notes": list(self.notes)}

    # -- the end of the run ---------------------------------------------------------------------------
    def finish(self, interventions: Sequence = (), known: dict | None = None) -> None:
        """Everything the run does at its end, once, in the process that owns the results file (not a
        parallel worker): fold the workers' part files into it, write the run metadata beside it and
        render the HTML report, with a section for `interventions` (harness.intervention.results records;
        `known`: record key → why its failure is the stored, expected outcome)."""
        self.interventions, self.known = list(interventions), dict(known or {})
        if part_paths(self.cfg.results):  # parallel (xdist) workers each wrote a part file
            self.results = merge_parts(self.cfg.results, keep_existing=self.cfg.resume)
        empty = self._finish_empty_shard()
        if empty:
            self.notes.append(empty)
        if not self.results:
            return
        # deferred: jinja2 and matplotlib only at the run's end
        from harness.report import render_report

        info = self.written_info = self.info()
        write_run_info(self.cfg.results, info)  # beside the results, so `python -m harness report` can re-render
        self.report = render_report(read_results(self.cfg.results), self.cfg.report, run_info=info,
                                    interventions=self.interventions, known=self.known)

    def display(self, tr) -> None:
        """The run's lines at the end of the console output: the triples' table, notes, label and key warnings, where
        the results and the report are, and the verdict sentences. `tr` writes lines (pytest's terminal
        reporter: `write_sep`, `write_line`)."""
        if not self.results:
            for note in self.notes:  # e.g. an empty shard's
                tr.write_line(f"note: {note}")
            return
        # deferred: jinja2 and matplotlib only at the run's end
        from harness.report import console_table
        from harness.report.extras import guard_warnings
        from harness.report.study import sentence as study_sentence
        from harness.report.verdicts import console_verdicts

        tr.write_sep("=", "keyspace triples")
        tr.write_line(console_table(self.results))
        for note in self.notes:
            tr.write_line(f"note: {note}")
        for r in self.results:
            for kind, text in guard_warnings(r):
                tr.write_line(f"{kind} warning: {r.model} L{r.layer} {r.benchmark}: {text}")
        tr.write_line(f"results: {self.cfg.results}")
        if self.report:
            tr.write_line(f"report: {self.report}")
        tr.write_sep("=", "keyspace verdict")
        for line in console_verdicts(self.results, self.interventions, self.known):
            tr.write_line(line)
        study = study_sentence(self.written_info.get("organisms_study"))  # the organisms study's answer, when they ran
        if study:
            tr.write_line(study)
