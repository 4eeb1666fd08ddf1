"""One run of the harness, independent of pytest: plan the triples, load, capture, judge, record.

Models are loaded once and kept until the next model is needed (one at a time, since real ones
fill a GPU); each (model, benchmark) pair is captured once for all its layers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from harness.analysis import AnalysisError, AnalysisSettings, analyze_layer, samples_digest
from harness.benchmarks import Sample, get_benchmark, select_samples
from harness.capture import KeyBank, capture_keys, parse_max_tokens
from harness.errors import KeyspaceError
from harness.layers import resolve_layers
from harness.models import LoadedModel, ModelSpec, adapter_for, get_model_spec
from harness.options import RunConfig
from harness.results import TripleResult, append_result
from harness.runinfo import run_info


@dataclass(frozen=True)
class Pair:
    model: str
    benchmark: str  # with subsets, e.g. "mmmu:Art"

    @property
    def id(self) -> str:
        return f"{self.model}-{self.benchmark}"


@dataclass(frozen=True)
class Triple:
    model: str
    layer: int
    benchmark: str

    @property
    def pair(self) -> Pair:
        return Pair(self.model, self.benchmark)

    @property
    def id(self) -> str:
        return f"{self.model}-L{self.layer}-{self.benchmark}"


def split_benchmark(item: str) -> tuple[str, tuple[str, ...]]:
    name, _, subsets = item.partition(":")
    return name, tuple(s.strip() for s in subsets.split(",") if s.strip())


@dataclass
class KeyspaceRun:
    cfg: RunConfig
    results: list[TripleResult] = field(default_factory=list)  # this session's, in finishing order
    capture_seconds: dict[Pair, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # things the user should know (e.g. fewer samples than asked)
    _loaded: LoadedModel | None = None
    _samples: dict[str, list[Sample]] = field(default_factory=dict)
    _banks: dict[Pair, KeyBank] = field(default_factory=dict)
    _failed_pairs: dict[Pair, str] = field(default_factory=dict)

    # -- planning (cheap: no model, no data) ------------------------------------------------------
    def plan(self) -> list[Triple]:
        for item in self.cfg.benchmarks:
            get_benchmark(split_benchmark(item)[0])  # unknown names fail here, before any model loads
        triples = []
        for model in self.cfg.models:
            spec = self.spec(model)
            words = self.cfg.layers or spec.default_layers
            layers = resolve_layers(words, self.num_layers(spec), model=spec.name)
            for bench in self.cfg.benchmarks:
                triples.extend(Triple(spec.name, layer, bench) for layer in layers)
        return triples

    def pairs(self) -> list[Pair]:
        return list(dict.fromkeys(t.pair for t in self.plan()))

    def spec(self, model: str) -> ModelSpec:
        return get_model_spec(model)

    def num_layers(self, spec: ModelSpec) -> int:
        if spec.num_layers is not None:
            return spec.num_layers
        from harness.models.adapter import checkpoint_num_layers

        return checkpoint_num_layers(spec, trust_remote_code=self.cfg.trust_remote_code)

    def settings(self, spec: ModelSpec) -> AnalysisSettings:
        return AnalysisSettings(
            threshold=self.cfg.threshold if self.cfg.threshold is not None else spec.threshold,
            alpha=self.cfg.alpha if self.cfg.alpha is not None else spec.alpha,
            seed=self.cfg.seed,
            permutations=self.cfg.permutations,
            max_points=self.cfg.max_points,
            special_as_text=self.cfg.special_as_text,
        )

    # -- heavy steps ------------------------------------------------------------------------------
    def loaded(self, model: str) -> LoadedModel:
        if self._loaded is None or self._loaded.spec.name != model:
            self._loaded = None  # free the previous model before loading the next
            spec = self.spec(model)
            self._loaded = adapter_for(spec.family).load(
                spec, device=self.cfg.torch_device, dtype=self.cfg.torch_dtype, seed=self.cfg.seed,
                device_map=self.cfg.device_map, trust_remote_code=self.cfg.trust_remote_code,
            )
        return self._loaded

    def samples(self, benchmark: str) -> list[Sample]:
        if benchmark not in self._samples:
            name, subsets = split_benchmark(benchmark)
            everything = get_benchmark(name)(subsets, seed=self.cfg.seed)
            chosen, note = select_samples(everything, self.cfg.samples, self.cfg.seed)
            if note:
                self.notes.append(f"{benchmark}: {note}")
            self._samples[benchmark] = chosen
        return self._samples[benchmark]

    def capture(self, pair: Pair) -> KeyBank:
        """The key bank of `pair` for every planned layer of it, captured once."""
        if pair in self._failed_pairs:
            raise KeyspaceError(self._failed_pairs[pair])
        if pair not in self._banks:
            layers = sorted({t.layer for t in self.plan() if t.pair == pair})
            start = time.perf_counter()
            try:
                loaded = self.loaded(pair.model)
                bank = capture_keys(
                    loaded, self.samples(pair.benchmark), layers, benchmark=pair.benchmark, batch_size=self.cfg.batch_size,
                    kind=self.cfg.capture, max_tokens=parse_max_tokens(self.cfg.max_tokens), seed=self.cfg.seed,
                )
                self._banks[pair] = bank if self.cfg.heads is None else bank.head(self.cfg.heads)
            except KeyspaceError as exc:
                self._failed_pairs[pair] = str(exc)
                raise
            self.capture_seconds[pair] = time.perf_counter() - start
        return self._banks[pair]

    def judge(self, triple: Triple) -> TripleResult:
        """Analyse one triple, record it (appended to the results file at once) and return it."""
        spec = self.spec(triple.model)
        settings = self.settings(spec)
        try:
            bank = self.capture(triple.pair)
            result = analyze_layer(bank, triple.layer, settings, config_id=self.cfg.config_id())
        except (KeyspaceError, AnalysisError) as exc:
            result = TripleResult(
                model=triple.model, layer=triple.layer, benchmark=triple.benchmark, status="error",
                threshold=settings.threshold, alpha=settings.alpha, config_id=self.cfg.config_id(),
                samples_digest=samples_digest(s.id for s in self._samples.get(triple.benchmark, [])),
                message=str(exc),
            )
        self.record(result)
        return result

    def record(self, result: TripleResult) -> None:
        if not self.results and self.cfg.results.exists():
            self.cfg.results.unlink()  # a new session starts a new results file
        self.results.append(result)
        append_result(self.cfg.results, result)

    def info(self) -> dict:
        """Run metadata for the report: versions, device, options, samples."""
        return run_info(self.cfg, {b: [s.id for s in v] for b, v in self._samples.items()})
