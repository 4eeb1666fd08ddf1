"""Typed results: one TripleResult per (model, layer, benchmark), stored as JSON lines.

Each finished triple is appended and flushed at once, so a crash loses only the triple in flight.

Every line carries the version of its format (`"schema": SCHEMA`): the fields of TripleResult, all of them
on every line, and the figures of `extra` named in EXTRA. A renamed, removed or added field or figure (or a
changed meaning or unit) bumps SCHEMA. A reader takes a line only when it is a record of this schema: a line
of another version, with an unknown or a missing field, or an unknown figure in `extra` is named and skipped,
never read with defaults, since a lost field would show NaN or "–" for a figure, or (a control's lost
`extra`) put the record on another record's key. Lines without `schema` were written before it existed,
with the same fields, and read as this schema.
"""

from __future__ import annotations

import functools
import json
import os
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable

from harness.atomic import write_atomic
from harness.errors import KeyspaceError
from harness.filelock import locked
from harness.results.figures import (Drift, JSEstimate, LabelCheck, Mechanism, RatioInterval, Sampling, TextBias,
                                     TierFigures, TSNEMap, js_estimates)

SCHEMA = 2  # version of the record format (the module's docstring); lines without it are the format before it, read as 2


@dataclass(frozen=True)
class TripleResult:
    """The verdict and every figure of one (model, layer, benchmark) triple."""

    model: str  # registry name (or hf:… spec) of the model
    layer: int  # decoder layer index (0-based)
    benchmark: str  # benchmark name, with subsets when given (e.g. "mmmu:Art")
    status: str  # "passed", "failed", "undecided" (the verdict's tier cannot decide: never a pass) or "error"
    n_image: int = 0  # image-token vectors used in the statistics (after the point cap)
    n_text: int = 0  # text-token vectors used in the statistics (after the point cap)
    mmd2: float = float("nan")  # between-prompt MMD² between image and text keys (RBF kernel, see `bandwidth`; docs/statistics.md)
    mmd: float = float("nan")  # sqrt(max(mmd2, 0))
    p_value: float = float("nan")  # prompt-level (sign-flip) p-value of mmd2, (1 + #null ≥ obs) / (1 + permutations)
    permutations: int = 0  # permutations behind p_value
    bandwidth: float = float("nan")  # RBF σ (median heuristic on the pooled sample), in key units
    space: str = "raw"  # space the statistics were computed in: raw, standardized or pca50
    intra: dict = field(default_factory=dict)  # intra-modal effect name ("image/by-category", …) → between-prompt MMD²
    ratio: float = float("nan")  # the kernel-mean tier's cross / strongest real split (median-unbiased); by-position when none
    threshold: float = float("nan")  # the ratio the test requires
    alpha: float = float("nan")  # the p-value the test requires to be under
    passed: bool = False  # the verdict holds: the kernel-mean tier's lower bound ≥ threshold against every real split and p_value < alpha
    seconds: float = 0.0  # wall seconds of the whole analysis of this triple on one clock: selection, every tier, JS/AUC and the t-SNE map (capture is timed per model/benchmark)
    counts: dict = field(default_factory=dict)  # vectors captured per modality before the cap
    config_id: str = ""  # digest of the options that shape the figures (for --ks-resume)
    samples_digest: str = ""  # digest of the sample ids used
    message: str = ""  # the failure or error message, empty on a pass
    extra: dict = field(default_factory=dict)  # further figures (JS, AUC, interval, ...) by name, each in EXTRA
    schema: int = SCHEMA  # version of the record format this line was written in (SCHEMA)

    @property
    def tiers(self) -> TierFigures | None:
        """Every tier of the claim with the verdict's outcome (None in results written before the tiers)."""
        return TierFigures.from_dict(self.extra.get("tiers"))

    # The typed sub-records kept in `extra` (harness.results.figures), read tolerantly: None (or {}) where
    # a record is missing or malformed, as in a results file written by an older or partial run.
    @property
    def js(self) -> dict[str, JSEstimate]:
        """JS divergence image vs text by estimator short name ("classifier", "knn"); well-formed ones only."""
        return js_estimates(self.extra.get("js"))

    @property
    def ratio_interval(self) -> RatioInterval | None:
        return RatioInterval.from_dict(self.extra.get("ratio_interval"))

    @property
    def tsne(self) -> TSNEMap | None:
        return TSNEMap.from_dict(self.extra.get("tsne"))

    @property
    def mechanism(self) -> Mechanism | None:
        return Mechanism.from_dict(self.extra.get("mechanism"))

    @property
    def label_check(self) -> LabelCheck | None:
        return LabelCheck.from_dict(self.extra.get("label_check"))

    @property
    def sampling(self) -> Sampling | None:
        return Sampling.from_dict(self.extra.get("capture_sampling"))

    @property
    def text_bias(self) -> TextBias | None:
        return TextBias.from_dict(self.extra.get("text_bias"))

    @property
    def baseline_drift(self) -> Drift | None:
        return Drift.from_dict(self.extra.get("baseline_drift"))

    @property
    def key(self) -> tuple[str, int, str, str]:
        """Identity of the triple: model, layer, benchmark, and the control name ('' for a real triple)."""
        return (self.model, self.layer, self.benchmark, self.extra.get("control", ""))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, allow_nan=True, sort_keys=False)

    @classmethod
    def from_dict(cls, data: object) -> "TripleResult":
        """The record `data` holds (one without `schema` reads as this schema); ValueError saying what is wrong
        when `data` is not a record of this schema (`shape_problem`): nothing is dropped or filled in."""
        problem = shape_problem(data)
        if problem:
            raise ValueError(problem)
        return cls(**data)


# Every figure `extra` may hold in this schema, by the code that writes it (harness.results.figures types the
# sub-records). A key outside it is a figure of another schema, perhaps a renamed one: a new figure goes here,
# with SCHEMA bumped.
EXTRA = frozenset({
    # harness.analysis.triple
    "kind", "head", "text_side", "key_warnings", "kernel", "estimator", "units", "intra_basis", "strongest_intra",
    "noise_floor", "null", "mmd2_interval", "ratio_interval", "tiers", "js", "js_space", "auc", "tsne",
    "logit_gap", "attention_share", "mechanism", "by_benchmark",
    "prompt_format", "label_check",  # harness.analysis.label_check
    "capture_sampling", "capture_seconds", "text_bias", "baseline_drift", "by_benchmark_missing",  # harness.run.session
    "control", "expect_pass", "control_description",  # harness.run.session, on a control's record only
})
CONTROL_ONLY = ("expect_pass", "control_description")  # figures a control's record holds beside its name
_ACCEPTS = {str: (str,), int: (int,), float: (int, float), bool: (bool,), dict: (dict,)}
_INTERVENTION = "intervention"  # an intervention record's `record` (harness.intervention.results): its own file
_OTHER = f"not a schema-{SCHEMA} record (a file of another harness version?)"


def shape_problem(data: object) -> str | None:
    """Why a parsed JSON value is not a TripleResult of this schema, or None: another schema's version, a field
    of the wrong type, an unknown or a missing field (a renamed one is both), an unknown figure in `extra`, a
    control's record without its name (it would take the key of the real triple)."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    if data.get("record") == _INTERVENTION:
        return "an intervention record, not a triple's result (give its file with --interventions)"
    version = data.get("schema", SCHEMA)
    if version != SCHEMA or isinstance(version, bool):
        return (f"results schema {json.dumps(version)[:20]}, this harness reads schema {SCHEMA} (and lines without "
                "a schema, written before it): read the file with the harness version that wrote it")
    return _type_problem(data) or _field_problem(data) or _extra_problem(data["extra"])


@functools.cache
def _hints() -> dict:
    return typing.get_type_hints(TripleResult)


def _type_problem(data: dict) -> str | None:
    for f in fields(TripleResult):
        if f.name not in data:
            continue
        value, want = data[f.name], _hints()[f.name]
        if isinstance(value, bool) and want is not bool:
            return f"{f.name} is true/false, not a {want.__name__}"
        if not isinstance(value, _ACCEPTS[want]):
            return f"{f.name} is {json.dumps(value)[:40]}, not a {want.__name__}"
    return None


def _field_problem(data: dict) -> str | None:
    names = [f.name for f in fields(TripleResult)]
    unknown = [k for k in data if k not in names]
    missing = [k for k in names if k not in data and k != "schema"]
    said = [*(["unknown field " + _few(unknown)] if unknown else []), *(["no " + _few(missing)] if missing else [])]
    return f"{'; '.join(said)}: {_OTHER}" if said else None


def _extra_problem(extra: dict) -> str | None:
    unknown = sorted(set(extra) - EXTRA)
    if unknown:
        return f"extra holds unknown figure {_few(unknown)}: {_OTHER}"
    name = extra.get("control")
    if name is not None and not (isinstance(name, str) and name):
        return f"extra.control is {json.dumps(name)[:40]}, not a control's name"
    beside = [k for k in CONTROL_ONLY if k in extra]
    if name is None and beside:
        return f"extra holds a control's {beside[0]} but no control name: read, it would replace the real triple's record"
    return None


def _few(names: list[str], shown: int = 4) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


TORN = "not JSON (a line torn by an interrupted write?)"


def _parse(lines: Iterable[str]) -> tuple[list[TripleResult], list[tuple[int, str]]]:
    """The results in `lines` (later lines win per triple) and (line number, why) per unusable non-empty line."""
    latest: dict[tuple[str, int, str, str], TripleResult] = {}
    problems = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            problems.append((number, TORN))
            continue
        try:
            result = TripleResult.from_dict(data)
        except ValueError as exc:
            problems.append((number, str(exc)))
            continue
        latest[result.key] = result
    return list(latest.values()), problems


def parse_lines(lines: Iterable[str]) -> tuple[list[TripleResult], list[str]]:
    """The results in `lines` (later lines win per triple) and one problem per unusable non-empty line,
    by line number ("line 7: not JSON"); a torn line and a line that is not a record of this schema
    (`shape_problem`) are skipped alike."""
    results, problems = _parse(lines)
    return results, [f"line {number}: {why}" for number, why in problems]


def torn_path(path: Path) -> Path:
    """Where a torn last line of `path` is kept (appended, one fragment per line) when it is repaired."""
    return path.with_name(path.name + ".torn")


def repair_tail(path: Path) -> str | None:
    """Make `path` end at a line boundary before anything is appended to it.

    An interrupted write leaves a last line without its newline; appending onto it would fuse the
    fragment with the next result and lose that result too. The fragment is moved to `torn_path`
    (kept, not deleted) and the file cut back to its last full line. Returns one line saying so, or None.
    Call under the file's lock."""
    if not path.is_file():
        return None
    with path.open("rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return None
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return None
        fh.seek(max(0, size - (1 << 22)))  # a result line is tens of KB; look back 4 MB at most
        block = fh.read()
        start = size - len(block) + block.rfind(b"\n") + 1 if b"\n" in block else 0
        fh.seek(start)
        fragment = fh.read()
        with torn_path(path).open("ab") as kept:
            kept.write(fragment + b"\n")
        fh.truncate(start)
        fh.flush()
        os.fsync(fh.fileno())
    return (f"{path}: its last line was torn by an interrupted write ({len(fragment)} bytes); "
            f"moved to {torn_path(path)} before appending, every finished line kept")


def append_result(path: Path, result: TripleResult) -> str | None:
    """Append one JSON line and flush it to disk before returning.

    A torn last line is first moved aside (see `repair_tail`); the returned line says so, else None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        note = repair_tail(path)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(result.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return note


def part_path(path: Path, worker: str) -> Path:
    """Where one parallel worker appends its results before the controller merges them."""
    return path.with_name(f"{path.name}.{worker}.part")


def part_paths(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.part"))


def merge_parts(path: Path, *, keep_existing: bool) -> list[TripleResult]:
    """Fold the workers' part files into `path` (after what it holds, when kept) and remove them."""
    parts = part_paths(path)
    merged = (read_results(path) if keep_existing else []) + [r for p in parts for r in read_results(p)]
    latest = {r.key: r for r in merged}
    write_results(path, sorted(latest.values(), key=lambda r: r.key))
    for p in parts:
        p.unlink()
    return list(latest.values())


def read_results(path: Path) -> list[TripleResult]:
    """All results in the file a run keeps or extends (--ks-resume, its workers' parts), later lines win per
    triple; a torn line (a crash mid-write) is skipped. A line that is not a record of this schema is a
    KeyspaceError naming it: kept, it would be a finished triple with lost figures, or extended, a file
    of two schemas."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", errors="replace") as fh:
        results, problems = _parse(fh)
    foreign = [(number, why) for number, why in problems if why != TORN]
    if foreign:
        (number, why), more = foreign[0], len(foreign) - 1
        also = f" (and {more} more line(s) not of this schema)" if more else ""
        raise KeyspaceError(f"{path} line {number}: {why}{also}; a run keeps and extends only a results file it "
                            "reads whole: give another --ks-results, or drop --ks-resume to start this one anew")
    return results


def write_results(path: Path, results: Iterable[TripleResult]) -> None:
    """Replace `path` atomically with `results`."""
    write_atomic(path, "".join(r.to_json() + "\n" for r in results).encode("utf-8"))
