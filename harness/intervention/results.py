"""InterventionResult: one record per (model, layer, benchmark, intervention), stored as JSON lines
in its own file (default interventions.jsonl beside the results), apart from the triples' TripleResult file.

Every record carries `record: "intervention"`, so a reader that meets one among triples can tell it apart.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from harness.atomic import write_atomic
from harness.results.records import part_paths

RECORD = "intervention"


@dataclass(frozen=True)
class InterventionResult:
    """Before/after figures of one intervention at one layer, on the held-out prompts."""

    model: str  # registry name of the model
    layer: int  # decoder layer whose pre-RoPE keys were changed (0-based)
    benchmark: str
    intervention: str  # harness.intervention.fit.KINDS name: mean, moments, random, text-mean, text-moments
    control: bool = False  # a control (random direction, or text keys moved toward image statistics)
    modality: str = "image"  # the tokens whose keys were changed
    description: str = ""
    status: str = "passed"  # "passed" (every check holds), "failed" or "error"
    message: str = ""  # the failed checks or the error, empty on a pass
    failed_checks: list = field(default_factory=list)  # names of the failed checks (harness.intervention.checks.checks)
    # Cross-fitting in two folds: each half of the units is measured with the maps fitted on the other half.
    n_fit_prompts: list | int = 0  # per fold, prompts its maps were fitted on
    n_held_prompts: int = 0  # prompts every figure is measured on (each with a map fitted on other prompts)
    n_fit_units: list | int = 0  # per fold, units (a prompt, or prompts sharing an image) its maps were fitted on
    n_held_units: int = 0  # units measured: what every interval resamples
    # "before"/"after" → the triple check's figures of the layer's pre-RoPE keys on the held-out units
    # (harness.stats.cross_modal_gap): mmd2 (between-prompt MMD², kernel units) and mmd2_low/high,
    # p_value (sign flips of units), intra (strongest intra-modal MMD²), strongest (its name),
    # intra_effects, intra_basis, ratio with its unit-bootstrap (Fieller) interval low/high, saturated,
    # sigma (RBF σ, the before keys' for both), units, n_image, n_text, triple_passes (the triple verdict);
    # "change" → harness.stats.change.Mmd2Change fields: MMD² after − before with its paired unit-bootstrap interval.
    divergence: dict = field(default_factory=dict)
    # figure → harness.stats.paired.Effect fields (before, after, change and their intervals; n_prompts
    # counts the units resampled; accuracy also has `chance`, the mean of 1 / options over its prompts):
    # attention_share, logit_gap, last_attention_share, last_logit_gap, accuracy, hint_following, and for
    # `random` random_vs_mean_attention (Δshare(mean) − Δshare(random) per prompt).
    effects: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)  # figure → why it is n/a
    # what the map is: description, shift_norm (per fold, per head), shrinkage, fit_error (worst fold: the
    # mapped fitting keys' distance from the target's mean / covariance, harness.stats.recolour.fit_error)
    map: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)  # wall time of the fit and of the before / after measurements
    settings: dict = field(default_factory=dict)  # seed, level, n_boot, threshold, ...
    record: str = RECORD

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.model, self.layer, self.benchmark, self.intervention)

    def decided(self, problems: dict[str, str]) -> "InterventionResult":
        """This record with its status from the failed checks (check name -> message)."""
        return replace(self, status="failed" if problems else "passed", message=" | ".join(problems.values()),
                       failed_checks=sorted(problems))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, allow_nan=True)

    @classmethod
    def from_dict(cls, data: dict) -> "InterventionResult":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def read_interventions(path: Path) -> list[InterventionResult]:
    """Every intervention record in `path` (later lines win per key); other records and torn lines are skipped."""
    if not Path(path).is_file():
        return []
    latest: dict[tuple, InterventionResult] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict) and data.get("record") == RECORD:
                r = InterventionResult.from_dict(data)
                latest[r.key] = r
    return list(latest.values())


def read_intervention_files(paths) -> list[InterventionResult]:
    """The records of every file in `paths`, in order; a later record wins per key (missing files read as empty)."""
    latest: dict[tuple, InterventionResult] = {}
    for p in paths:
        latest.update((r.key, r) for r in read_interventions(p))
    return list(latest.values())


def merge_intervention_parts(path: Path, since: float) -> None:
    """Fold the parallel (xdist) workers' part files of `path` written at or after `since` into `path` (this
    session's records, later records winning per key, sorted by key) and remove them; nothing without parts."""
    parts = [p for p in part_paths(Path(path)) if p.stat().st_mtime >= since]
    if not parts:
        return
    records = read_interventions_since(path, since)
    write_atomic(Path(path), "".join(r.to_json() + "\n" for r in sorted(records, key=lambda r: r.key)).encode("utf-8"))
    for p in parts:
        p.unlink()


def read_interventions_since(path: Path, since: float) -> list[InterventionResult]:
    """The records of `path` and of its parallel (xdist) part files, each file only when it was
    modified at or after `since` (a wall-clock time); later records win per key."""
    return read_intervention_files(p for p in [Path(path), *part_paths(Path(path))] if p.is_file() and p.stat().st_mtime >= since)
