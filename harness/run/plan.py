"""The plan of a run (cheap: no model, no data): its triples, pairs and controls, and what they need from a
model's config (layer count, self-attention layers, KV sharing, head count) and the analysis settings.

Bad names, layers, heads and unusable checkpoints end the run here, in one line, before anything loads.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.triple import AnalysisSettings
from harness.benchmarks import BenchmarkChoice, check_benchmark
from harness.errors import KeyspaceError
from harness.models import ModelSpec, get_model_spec
from harness.models.hub import check_cached_weights, check_checkpoint, checkpoint_config, head_count
from harness.models.layers import attention_layers_of, default_words, kv_reuse_of, resolve_layers
from harness.run.options import RunConfig
from harness.run.shard import Sharding


@dataclass(frozen=True)
class Pair:
    model: str
    bench: BenchmarkChoice

    @property
    def benchmark(self) -> str:
        """The benchmark with its subsets, as results name it, e.g. "mmmu:Art"."""
        return self.bench.text

    @property
    def id(self) -> str:
        return f"{self.model}-{self.benchmark}"


@dataclass(frozen=True)
class Triple:
    model: str
    layer: int
    bench: BenchmarkChoice

    @property
    def benchmark(self) -> str:
        return self.bench.text

    @property
    def pair(self) -> Pair:
        return Pair(self.model, self.bench)

    @property
    def id(self) -> str:
        return f"{self.model}-L{self.layer}-{self.benchmark}"


@dataclass(frozen=True)
class ControlCase:
    name: str  # a harness.run.controls.CONTROLS key
    triple: Triple | None  # the real triple it is built from; None for synthetic data

    @property
    def id(self) -> str:
        return self.name if self.triple is None else f"{self.name}-{self.triple.id}"


class RunPlan:
    """A run's plan from its options: worked out once, each model's config read once (no weights)."""

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self._plan: list[Triple] | None = None
        self._sharding: Sharding | None = None  # the whole plan and this process's part of it (--ks-shard)
        self._configs: dict = {}  # model name → its checkpoint config (no weights)

    def plan(self) -> list[Triple]:
        """The run's triples, worked out once (a hub model's layer count may need its config)."""
        if self._plan is None:
            self._sharding = Sharding(self._make_plan(), self.cfg.shard, samples=self.cfg.samples,
                                      benchmarks=len(self.cfg.benchmarks))
            self._plan = self._sharding.mine()
        return self._plan

    def _make_plan(self) -> list[Triple]:
        for bench in self.cfg.benchmarks:
            check_benchmark(bench.name, bench.subsets)  # unknown names and subsets fail here, before any model loads
        triples = []
        for model in self.cfg.models:
            spec = self.spec(model)
            self.check_heads(spec)
            attention = self.attention_layers(spec)
            words = self.cfg.layers or default_words(spec.default_layers, self.num_layers(spec), attention)
            layers = resolve_layers(words, self.num_layers(spec), model=spec.name, attention=attention, reuse=self.kv_reuse(spec))
            check_cached_weights(spec)  # a truncated weight file: one line now, not a traceback at its capture
            for bench in self.cfg.benchmarks:
                triples.extend(Triple(spec.name, layer, bench) for layer in layers)
        return triples

    def owns_model(self, model: str) -> bool:
        """Whether this shard (--ks-shard) runs `model`'s work outside the triples (the intervention
        suite): the shard that owns the model's pair on the run's first benchmark."""
        self.plan()
        return self._sharding.owns(Pair(model, self.cfg.benchmarks[0]))

    def control_plan(self) -> list[ControlCase]:
        """Synthetic shift once; per model, on its first benchmark: shuffled labels at the deepest planned
        layer, and text-as-image at the first self-attention layer (layer 0 but in a hybrid decoder), where a
        pre-RoPE key is a function of its token alone (in a hybrid, of the layers before it too), so text
        embeddings at image positions must give text keys (deeper layers mix in context, and a scrambled run
        of text tokens is itself unlike natural text)."""
        cases = [ControlCase("synthetic-shift", None)]
        self.plan()
        triples = self._sharding.triples  # the whole run's, so every shard picks the same cases
        for model in dict.fromkeys(t.model for t in triples):
            first_bench = next(t.bench for t in triples if t.model == model)
            deepest = max(t.layer for t in triples if t.model == model and t.bench == first_bench)
            cases += [
                ControlCase("shuffled-labels", Triple(model, deepest, first_bench)),
                ControlCase("text-as-image", Triple(model, self._first_attention_layer(model), first_bench)),
            ]
        return [c for c in cases if self._sharding.owns(c.triple.pair if c.triple else None)]  # controls follow their pair

    def _first_attention_layer(self, model: str) -> int:
        spec = self.spec(model)
        return resolve_layers(["first"], self.num_layers(spec), model=spec.name, attention=self.attention_layers(spec),
                              reuse=self.kv_reuse(spec))[0]

    def paired(self, bench: BenchmarkChoice) -> list[BenchmarkChoice]:
        """The benchmarks whose keys give a triple of `bench` its by-benchmark splits: every other one of the run."""
        return [b for b in self.cfg.benchmarks if b != bench]

    def pairs(self) -> list[Pair]:
        return list(dict.fromkeys(t.pair for t in self.plan()))

    def spec(self, model: str) -> ModelSpec:
        return get_model_spec(model)

    def num_layers(self, spec: ModelSpec) -> int:
        if spec.num_layers is not None:
            return spec.num_layers
        return self.checkpoint_config(spec).get_text_config().num_hidden_layers

    def attention_layers(self, spec: ModelSpec) -> list[int] | None:
        """The self-attention layers of a hybrid decoder, from its config; None when every layer is one
        (always for registered models, whose layer count is known)."""
        if spec.num_layers is not None:
            return None
        return attention_layers_of(self.checkpoint_config(spec).get_text_config())

    def kv_reuse(self, spec: ModelSpec) -> dict[int, int]:
        """{layer: the layer whose keys it reads} of a decoder sharing keys across layers, from its config ({}
        for registered models, every one of which computes keys at each layer)."""
        if spec.num_layers is not None:
            return {}
        return kv_reuse_of(self.checkpoint_config(spec).get_text_config())

    def checkpoint_config(self, spec: ModelSpec):
        """The model's config (no weights), read once; an unusable checkpoint is a one-line error here."""
        if spec.name not in self._configs:
            config = checkpoint_config(spec, trust_remote_code=self.cfg.trust_remote_code)
            check_checkpoint(spec, config, trust_remote_code=self.cfg.trust_remote_code)
            self._configs[spec.name] = config
        return self._configs[spec.name]

    def check_heads(self, spec: ModelSpec) -> None:
        """--ks-heads N against the model's head count, from its config. A registered hub model not in
        the local cache is not checked here: its capture fails with the download command instead."""
        if self.cfg.heads is None:
            return
        try:
            config = self.checkpoint_config(spec)
        except KeyspaceError:
            if spec.num_layers is None:
                raise
            return
        count = head_count(config, self.cfg.capture)
        if self.cfg.heads >= count:
            what = "query" if "quer" in self.cfg.capture else "key-value"
            raise KeyspaceError(
                f"--ks-heads: {self.cfg.heads} is outside {spec.name}'s {count} {what} heads for --ks-capture "
                f"{self.cfg.capture}; give a head in 0..{count - 1}, or concat"
            )

    def settings(self, spec: ModelSpec | None) -> AnalysisSettings:
        """The analysis settings for `spec`'s triples; None (synthetic data) takes the registry defaults."""
        spec = spec or ModelSpec(name="synthetic", family="generic", source="synthetic")
        return AnalysisSettings(
            threshold=self.cfg.threshold if self.cfg.threshold is not None else spec.threshold,
            alpha=self.cfg.alpha if self.cfg.alpha is not None else spec.alpha,
            seed=self.cfg.seed,
            permutations=self.cfg.permutations,
            max_points=self.cfg.max_points,
            per_head=self.cfg.per_head,
            special_as_text=self.cfg.special_as_text,
            device=self.cfg.device if self.cfg.device.startswith("cuda") else None,  # keys captured to the host are analysed on the GPU
        )

    def empty_note(self) -> str | None:
        """When this shard (--ks-shard) holds nothing of the run, the line saying so; else None."""
        self.plan()
        return self._sharding.empty_note()
