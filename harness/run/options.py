"""The run's options: one definition used by the pytest plugin (as --ks-* and ks_* ini keys).

Each option has an ini key with the default, so a project can set its own defaults in
tox.ini / pyproject.toml; the command line overrides. Values are parsed here, and a bad value
is a one-line KeyspaceError naming the option, what was wrong and what would be right.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from harness.allocator import parse_malloc
from harness.benchmarks import BenchmarkChoice, parse_benchmarks
from harness.capture.cache import default_cache_dir
from harness.capture.caps import FEWEST_TOKENS, STATISTICS_NEED
from harness.capture.keys import TokenCaps, parse_max_tokens
from harness.capture.options import CaptureOptions
from harness.errors import KeyspaceError
from harness.models.taps import check_kind
from harness.results.baselines import BaselineStore, default_store
from harness.run.shard import Shard, parse_shard
from harness.run.threads import parse_threads


@dataclass(frozen=True)
class Option:
    name: str  # without the --ks- prefix, e.g. "models"
    default: str  # the ini default, as text
    help: str
    flag: bool = False  # a store_true switch


OPTIONS: tuple[Option, ...] = (
    Option("models", "tiny-llava,tiny-qwen2.5-vl,tiny-qwen2-vl", "comma-separated model names (registry names or hf:ORG/NAME[@REV])"),
    Option("layers", "default", "layers: indices (negative from the end), first, mid, last, all; 'default' uses each model's (all of a decoder with at most 4 attention layers)"),
    Option("benchmarks", "fixture", "comma-separated benchmarks (fixture, world, mmmu, mmbench-cn), with subsets after a colon: mmmu:Art,Biology"),
    Option("samples", "all", "samples per benchmark (at least 2), picked by seed and stratified by category; 'all' uses every one"),
    Option("device", "auto", "auto, cpu, cuda or cuda:N"),
    Option("dtype", "auto", "auto (bfloat16 on GPU, float32 on CPU), float32, bfloat16 or float16"),
    Option("seed", "0", "seed of sampling, weights of tiny models, permutations and subsamples"),
    Option("threshold", "model", "the lower (one-sided 95 percent) bound of cross-modal MMD² / strongest intra-modal baseline must reach this; 'model' uses each model's (default 1)"),
    Option("alpha", "model", "significance level of the permutation test; 'model' uses each model's (default 0.01)"),
    Option("permutations", "1000", "sign-flip draws of the prompt-level MMD test (each draw swaps the image and text sides of random whole prompts)"),
    Option("max-points", "1500", "vectors per modality used by the statistics (seeded subsample above this; at least 64)"),
    Option("threads", "auto", "torch threads of the forward passes: auto (the cores free when the run starts, by the load average; OMP_NUM_THREADS wins) or a number"),
    Option("malloc", "keep", "freed blocks of memory: keep (glibc keeps blocks under 1 GiB for reuse instead of faulting fresh pages in; the statistics' [N, N] tensors) or system (glibc's defaults)"),
    Option("per-head", "8", "figures per head (every tier) when the captured vector has at most this many heads; 0: never"),
    Option("batch-size", "8", "samples per forward pass during capture"),
    Option("results", "reports/results.jsonl", "JSON-lines results file, one line per finished triple"),
    Option("report", "reports/report.html", "HTML report written at the end of the session"),
    Option("data-dir", "", "local copy of the hub benchmarks, laid out like the hub (<dir>/MMMU/MMMU/Art/validation-*.parquet); empty: env KS_DATA_DIR, else the hub cache"),
    Option("open-questions", "keep", "MMMU's open (non-multiple-choice) questions: keep or skip"),
    Option("multi-image", "first", "questions with more images than a model takes: first (keep the first ones) or skip"),
    Option("special-as-text", "false", "count template and special tokens as text", flag=True),
    Option("baselines", "auto", "stored baselines (<model>.json): auto (compare with reports/baselines; a missing entry is created beside the results file with a note), DIR (a regression run: compare with DIR, a missing entry is created there and fails), or none"),
    Option("update-baselines", "false", "rewrite the stored baselines of the triples that run", flag=True),
    Option("resume", "false", "keep the results file and skip triples it already holds for this configuration", flag=True),
    Option("cache", "user", "directory of the key cache (captured banks, safetensors + manifest); 'user' = $XDG_CACHE_HOME/keyspace or ~/.cache/keyspace"),
    Option("no-cache", "false", "neither read nor write the key cache: capture every pair afresh", flag=True),
    Option("capture", "keys", "what to capture: keys (k_proj, pre-RoPE), queries, values, rotated-keys, rotated-queries (as attention gets them)"),
    Option("heads", "concat", "concat (all heads' vectors joined) or a head index N (that head's slice alone)"),
    Option("max-tokens", "auto", "token caps at capture: auto (balanced=MAX_POINTS: about that many tokens per modality, an equal seeded share per prompt), none (every token), N (per modality), or balanced=N,sample=N,image=N,text=N,special=N; N, balanced, image and text at least 64, sample at least 2 (checked again at capture)"),
    Option("device-map", "none", "none, or auto (accelerate spreads a hub model over the visible devices)"),
    Option("no-mechanism", "false", "skip the mechanism metrics (logit gap, attention share: one more pass over post-RoPE queries and keys)", flag=True),
    Option("trust-remote-code", "false", "let a hub checkpoint run its own modelling code", flag=True),
    Option("shard", "none", "run part K of N (K/N, K from 1): whole (model, benchmark) pairs balanced by cost; merge with python -m harness report"),
    Option("benchmark-table", "false", "show pytest-benchmark's timing table (hidden by default; --benchmark-json is written either way)", flag=True),
)


def ini_name(opt: Option) -> str:
    return "ks_" + opt.name.replace("-", "_")


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


# Upper bounds of the numeric options: what one machine can hold, with room to spare. A sign-flip
# draw keeps one sign per prompt, a seed seeds numpy's and torch's generators (32 bits fit both, as
# do the offsets added to it), and the statistics build kernels over up to 2 × max-points vectors.
MAXIMA = {"seed": 2**32 - 1, "permutations": 1_000_000, "max-points": 50_000, "per-head": 128, "batch-size": 4096, "samples": 1_000_000}


def _once(option: str, names, fix: str) -> None:
    twice = sorted({n for n in names if list(names).count(n) > 1})
    if twice:
        raise KeyspaceError(f"--ks-{option}: {', '.join(twice)} named more than once; {fix}")


def _check_resolution(permutations: int, alpha: float | None) -> None:
    """The sign-flip p-value is at least 1 / (1 + permutations): with too few draws it can never fall under
    alpha, and no triple could pass whatever its figures (alpha None: each model's, 0.01 unless a model says)."""
    level = 0.01 if alpha is None else alpha
    if 1.0 / (1.0 + permutations) >= level:
        need = math.ceil(1.0 / level)  # 1 / (1 + P) < alpha  ⇔  P > 1/alpha − 1
        raise KeyspaceError(f"--ks-permutations: {permutations} draws give p ≥ 1/{permutations + 1} = {1.0 / (1 + permutations):.3g}, "
                            f"never under alpha {level:g}, so no triple could pass; give at least {need}")


def _int(name: str, value: str, *, minimum: int, why: str = "") -> int:
    maximum = MAXIMA.get(name)
    usage = f"give a whole number ≥ {minimum}" if maximum is None else f"give a whole number in {minimum}..{maximum}"
    try:
        n = int(value)
    except ValueError:
        raise KeyspaceError(f"--ks-{name}: {value!r} is not an integer; {usage}") from None
    if n < minimum:
        raise KeyspaceError(f"--ks-{name}: {n} is too small{why}; {usage}")
    if maximum is not None and n > maximum:
        raise KeyspaceError(f"--ks-{name}: {n} is too large; {usage}")
    return n


def _float(name: str, value: str, *, low: float, high: float | None = None) -> float:
    bound = f"> {low:g}" + (f" and < {high:g}" if high is not None else "")
    try:
        x = float(value)
    except ValueError:
        raise KeyspaceError(f"--ks-{name}: {value!r} is not a number; give a number {bound}, or 'model'") from None
    if not math.isfinite(x):
        raise KeyspaceError(f"--ks-{name}: {value.strip()} is not a finite number; give a number {bound}")
    if x <= low or (high is not None and x >= high):
        raise KeyspaceError(f"--ks-{name}: {x:g} is out of range; give a number {bound}")
    return x


def parse_device(value: str) -> torch.device:
    v = value.strip().lower()
    if v == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if v == "cpu" or v == "cuda" or (v.startswith("cuda:") and v[5:].isdigit()):
        if v.startswith("cuda") and not torch.cuda.is_available():
            raise KeyspaceError(f"--ks-device: {value} asked for, but no CUDA device is available; use --ks-device cpu or auto")
        return torch.device(v)
    raise KeyspaceError(f"--ks-device: {value!r} is not a device; use auto, cpu, cuda or cuda:N")


def worker_device(device: torch.device, worker: str | None, count: int | None = None) -> torch.device:
    """Under pytest-xdist, worker gwN takes GPU N mod the number of GPUs when `cuda` names none."""
    if device.type != "cuda" or device.index is not None or not worker:
        return device
    count = torch.cuda.device_count() if count is None else count
    return torch.device(f"cuda:{int(worker.removeprefix('gw')) % max(count, 1)}")


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def parse_dtype(value: str, device: torch.device) -> torch.dtype:
    v = value.strip().lower()
    if v == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if v not in DTYPES:
        raise KeyspaceError(f"--ks-dtype: {value!r} is not a dtype; use auto, {', '.join(DTYPES)}")
    return DTYPES[v]


# Fields that choose what runs or where outputs go, not what a triple's figures are.
OUTPUT_FIELDS = (
    "results", "report", "models", "layers", "benchmarks", "baselines", "update_baselines", "resume", "batch_size",
    "cache", "data_dir", "device_map", "trust_remote_code", "threads", "malloc",
    "shard",
)


@dataclass(frozen=True)
class RunConfig:
    """The parsed options of one run."""

    models: tuple[str, ...]
    layers: tuple[str, ...] | None  # None: each model's default layers
    benchmarks: tuple[BenchmarkChoice, ...]
    samples: int | None  # None: all
    device: str
    dtype: str
    seed: int
    threshold: float | None  # None: each model's registry threshold
    alpha: float | None  # None: each model's registry alpha
    permutations: int
    max_points: int
    batch_size: int
    results: Path
    report: Path
    special_as_text: bool
    baselines: BaselineStore | None  # None: no baseline comparison
    update_baselines: bool
    resume: bool
    threads: int | None = None  # torch threads of the forward passes; None: auto (harness.run.threads)
    malloc: str = "keep"  # where freed blocks go: keep or system (harness.allocator)
    per_head: int = 8  # heads reported one by one when the vector has at most this many (harness.stats.per_head)
    cache: Path | None = None  # key cache directory; None: --ks-no-cache (capture afresh, store nothing)
    data_dir: str | None = None  # local copy of hub benchmarks; None: env KS_DATA_DIR, else the hub cache
    open_questions: str = "keep"  # MMMU open questions: keep or skip
    multi_image: str = "first"  # more images than a model takes: first or skip
    capture: str = "keys"  # capture kind (harness.models.taps.KINDS)
    heads: int | None = None  # None: concatenated heads; N: head N's slice alone
    max_tokens: TokenCaps = TokenCaps()  # token caps; auto is balanced=MAX_POINTS
    device_map: str | None = None  # None or "auto"
    trust_remote_code: bool = False
    mechanism: bool = True  # measure logit gap and attention share beside the keys
    shard: Shard | None = None  # None: the whole run; K/N: part K of N of the pairs (harness.run.shard)

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def capture_options(self) -> CaptureOptions:
        """What of this run shapes the captured vectors (the key cache's part of the options)."""
        return CaptureOptions(kind=self.capture, dtype=self.dtype, caps=self.max_tokens, seed=self.seed,
                              mechanism=self.mechanism)

    def as_text(self) -> dict[str, str]:
        """Every option as text, as the options were written (run info, config id)."""
        out = {k: str(v) for k, v in asdict(self).items()}
        out["benchmarks"] = str(tuple(b.text for b in self.benchmarks))
        out["max_tokens"] = self.max_tokens.source
        out["shard"] = str(self.shard) if self.shard else "none"
        return out

    def _shaping(self) -> dict:
        shaping = {k: v for k, v in asdict(self).items() if k not in OUTPUT_FIELDS}
        shaping["max_tokens"] = self.max_tokens.source
        shaping["device"] = torch.device(self.device).type  # cuda:0 and cuda:1 give the same figures
        return shaping

    def shaping(self) -> dict[str, str]:
        """Everything that shapes the figures, as text (what `config_id` digests; a stored baseline keeps it so
        that an entry of other settings can say which differ)."""
        return {k: json.dumps(v, default=str) if not isinstance(v, str) else v for k, v in sorted(self._shaping().items())}

    def config_id(self) -> str:
        """Digest of everything that shapes the figures (not where the outputs go)."""
        return hashlib.sha256(json.dumps(self._shaping(), sort_keys=True, default=str).encode()).hexdigest()[:12]


def defaulting(get: Callable[[str], str], options: tuple[Option, ...]) -> Callable[[str], str]:
    """`get` where an empty value (`--ks-max-tokens=`, `ks_seed =`) means the option's documented default."""
    defaults = {o.name: o.default for o in options}

    def get_or_default(name: str) -> str:
        value = get(name)
        return defaults[name] if value is None or not str(value).strip() else value

    return get_or_default


def parse_config(get: Callable[[str], str], rootdir: Path, *, worker: str | None = None) -> RunConfig:
    """Build a RunConfig from `get(name)`, which returns the command-line value or the ini value
    (an empty one means the option's default).

    `worker` is the pytest-xdist worker id ("gw0" …) of this process, None outside a parallel run."""
    get = defaulting(get, OPTIONS)
    models = _split(get("models"))
    if not models:
        raise KeyspaceError("--ks-models: no model given; e.g. --ks-models tiny-llava")
    benchmarks = parse_benchmarks(get("benchmarks"))
    if not benchmarks:
        raise KeyspaceError("--ks-benchmarks: no benchmark given; e.g. --ks-benchmarks fixture")
    # each would be measured twice and counted twice in every verdict sentence ("holds at 2 of 2 layers")
    _once("models", models, "name each model once")
    _once("benchmarks", [b.name for b in benchmarks], "name each benchmark once, its subsets after one colon (mmmu:Art,Biology)")
    layers_raw = get("layers").strip()
    samples_raw = get("samples").strip().lower()
    device = worker_device(parse_device(get("device")), worker)
    dtype = parse_dtype(get("dtype"), device)

    def path(name: str) -> Path:
        p = Path(get(name)).expanduser()
        return p if p.is_absolute() else rootdir / p

    alpha = None if get("alpha").strip() == "model" else _float("alpha", get("alpha"), low=0.0, high=1.0)
    permutations = _int("permutations", get("permutations"), minimum=1)
    _check_resolution(permutations, alpha)
    return RunConfig(
        models=tuple(models),
        layers=None if layers_raw in ("", "default") else tuple(_split(layers_raw)),
        benchmarks=benchmarks,
        samples=None if samples_raw == "all" else _int("samples", samples_raw, minimum=2),  # the prompt-level test needs 2 prompts
        device=str(device),
        dtype=next(k for k, v in DTYPES.items() if v == dtype),
        seed=_int("seed", get("seed"), minimum=0),
        threshold=None if get("threshold").strip() == "model" else _float("threshold", get("threshold"), low=0.0),
        alpha=alpha,
        permutations=permutations,
        max_points=_max_points(get("max-points")),
        per_head=_int("per-head", get("per-head"), minimum=0),
        threads=parse_threads(get("threads")),
        malloc=parse_malloc(get("malloc")),
        batch_size=_int("batch-size", get("batch-size"), minimum=1),
        results=path("results"),
        report=path("report"),
        special_as_text=parse_flag("special-as-text", get("special-as-text")),
        baselines=_baselines(get("baselines"), path, rootdir),
        update_baselines=parse_flag("update-baselines", get("update-baselines")),
        resume=parse_flag("resume", get("resume")),
        cache=None if parse_flag("no-cache", get("no-cache")) else _cache_dir(get("cache"), rootdir),
        data_dir=get("data-dir").strip() or None,
        open_questions=_choice("open-questions", get("open-questions"), ("keep", "skip")),
        multi_image=_choice("multi-image", get("multi-image"), ("first", "skip")),
        capture=_capture(get("capture")),
        heads=_heads(get("heads")),
        max_tokens=_max_tokens(get("max-tokens"), get("max-points")),
        device_map=_device_map(get("device-map")),
        trust_remote_code=parse_flag("trust-remote-code", get("trust-remote-code")),
        mechanism=not parse_flag("no-mechanism", get("no-mechanism")),
        shard=parse_shard(get("shard")),
    )


TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def parse_flag(name: str, value: str) -> bool:
    """A switch's value (from the command line: "true"; from an ini file: any spelling below). A value
    that is neither, such as `ks_resume = ture`, is an error rather than false: read as false, a
    mistyped `resume` would start a new results file over the old one."""
    v = str(value).strip().lower()
    if v not in TRUE + FALSE:
        raise KeyspaceError(f"--ks-{name}: {str(value).strip()!r} is not a yes/no value; use one of {', '.join(TRUE + FALSE[:-1])}")
    return v in TRUE


def _baselines(value: str, path: Callable[[str], Path], rootdir: Path) -> BaselineStore | None:
    v = value.strip()
    if v.lower() == "none":
        return None
    if v.lower() in ("", "auto"):
        return default_store(rootdir, path("results"))
    return BaselineStore(own=path("baselines"))  # named: a regression run, a missing entry fails


def _cache_dir(value: str, rootdir: Path) -> Path:
    if value.strip() in ("", "user"):
        return default_cache_dir()
    p = Path(value.strip()).expanduser()
    return p if p.is_absolute() else rootdir / p


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    v = value.strip().lower()
    if v not in choices:
        raise KeyspaceError(f"--ks-{name}: {value!r} is not a choice; use {' or '.join(choices)}")
    return v


def _capture(value: str) -> str:
    return check_kind(value.strip().lower())


def _heads(value: str) -> int | None:
    v = value.strip().lower()
    if v == "concat":
        return None
    if v == "per-head":
        raise KeyspaceError("--ks-heads: give the head to analyse as a number N (0-based); per-head views are KeyBank.head(N)")
    return _int("heads", v, minimum=0)


def _max_points(value: str) -> int:
    return _int("max-points", value, minimum=FEWEST_TOKENS, why=f" ({STATISTICS_NEED})")


def _max_tokens(value: str, max_points: str) -> TokenCaps:
    v = value.strip().lower()
    if v == "auto":  # sized from the analysis cap, and stored with its size (config id, cache key)
        v = f"balanced={_max_points(max_points)}"
    return parse_max_tokens(v, floors=True)  # a bad value fails here, in one line, before any model loads


def _device_map(value: str) -> str | None:
    v = value.strip().lower()
    if v in ("", "none"):
        return None
    if v != "auto":
        raise KeyspaceError(f"--ks-device-map: {value!r} is not supported; use none or auto")
    return v
