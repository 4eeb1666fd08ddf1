"""Typed sub-records of a TripleResult, each kept in `extra` under its key, read back tolerantly.

The code that makes a figure builds its record here and stores `to_dict()` (the JSON the results
file holds); readers call `from_dict`, which returns None, never raises, for a record that is
missing or malformed (a results file from an older or partial run), so the report shows "–".
`TripleResult` reads each one as a property (`r.ratio_interval`, `r.tsne`, ...).

    extra key          record          made by
    "js"               JSEstimate      harness.analysis.triple (one per estimator, keyed by its short name)
    "ratio_interval"   RatioInterval   harness.analysis.tiers.kernel_figures
    "tsne"             TSNEMap         harness.analysis.triple
    "mechanism"        Mechanism       harness.analysis.triple (from the bank's mechanism metrics)
    "label_check"      LabelCheck      harness.analysis.label_check
    "capture_sampling" Sampling        harness.run.session (how the bank's tokens were kept)
    "text_bias"        TextBias        harness.organisms.probe (organisms only)
    "baseline_drift"   Drift           harness.results.baselines
    "tiers"            TierFigures     harness.analysis.tiers (harness.results.tiers)

No torch here: a report renders without loading a model library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.results.tiers import TierFigures

__all__ = ["JSEstimate", "RatioInterval", "TSNEMap", "Mechanism", "LabelCheck", "Sampling", "TextBias", "Drift",
           "TierFigures", "js_estimates"]


def _real(x) -> int | float | None:
    """x unchanged when it is a real number (bool excluded; NaN kept), else None. The type is kept
    (an int stays an int) so that a record read back writes the same JSON."""
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _finite(x) -> int | float | None:
    v = _real(x)
    return v if v is not None and math.isfinite(v) else None


def _int(x) -> int | None:
    v = _finite(x)
    return int(v) if v is not None else None


def _str(x, default: str = "") -> str:
    return x if isinstance(x, str) else default


@dataclass(frozen=True)
class JSEstimate:
    """Jensen–Shannon divergence between image and text keys by one named estimator (extra["js"][name])."""

    bits: float  # in bits, in [0, 1]; NaN when not estimable
    estimator: str  # how it was estimated from samples (named by the engine, e.g. "classifier-...")
    reason: str = ""  # why it is not estimable (e.g. "too few unique keys"); empty when it is

    @property
    def name(self) -> str:
        """The short name it is kept under ("classifier", "knn")."""
        return self.estimator.split("-")[0]

    def to_dict(self) -> dict:
        return {"bits": self.bits, "estimator": self.estimator, "reason": self.reason}

    @classmethod
    def from_dict(cls, d) -> "JSEstimate | None":
        """None unless there is a number or a reason for its absence."""
        if not isinstance(d, dict):
            return None
        reason, bits = _str(d.get("reason")), _real(d.get("bits"))
        if bits is None and not reason:
            return None
        return cls(float("nan") if bits is None else bits, _str(d.get("estimator")) or "unnamed estimator", reason)


def js_estimates(d) -> dict[str, JSEstimate]:
    """Every well-formed estimate of an extra["js"] record, by the name it is kept under."""
    if not isinstance(d, dict):
        return {}
    read = {name: JSEstimate.from_dict(entry) for name, entry in d.items()}
    return {name: e for name, e in read.items() if e is not None}


@dataclass(frozen=True)
class RatioInterval:
    """Interval of the ratio cross-modal / strongest real intra-modal effect (dimensionless), extra["ratio_interval"]."""

    low: float  # lower bound (the verdict's)
    high: float  # upper bound
    level: float = float("nan")  # two-sided coverage, e.g. 0.9; NaN when not recorded
    n_boot: int = 0  # bootstrap resamples behind it (0: not recorded)
    method: str = ""  # how the bounds were made, in words
    floored_fraction: float | None = None  # share of resamples whose denominator was floored
    saturated: str = ""  # "high" when the upper bound reached the cap, else ""
    cap: float = 1000.0  # the ratio's ceiling; a bound ≥ cap reads "≥ cap"
    note: str = ""  # what a saturated bound or a ratio that is not estimable means, else ""

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "level": self.level, "n_boot": self.n_boot, "method": self.method,
                "floored_fraction": self.floored_fraction, "saturated": self.saturated, "cap": self.cap, "note": self.note}

    @classmethod
    def from_dict(cls, d) -> "RatioInterval | None":
        """None unless both bounds are numbers."""
        if not isinstance(d, dict):
            return None
        low, high = _real(d.get("low")), _real(d.get("high"))
        if low is None or high is None:
            return None
        level, n_boot, cap = _real(d.get("level")), _int(d.get("n_boot")), _finite(d.get("cap"))
        return cls(low, high, float("nan") if level is None else level, n_boot or 0, _str(d.get("method")),
                   _real(d.get("floored_fraction")), _str(d.get("saturated")), cap if cap else 1000.0, _str(d.get("note")))


@dataclass(frozen=True)
class TSNEMap:
    """A 2-D t-SNE map of one layer's tokens (a picture, not a statistic), extra["tsne"]."""

    points: tuple[tuple[float, float], ...]  # embedding coordinates, arbitrary units
    labels: tuple[str, ...]  # "image" / "text" / "special" per point
    cap: int | None  # the engine's cap on points per map
    method: str  # the implementation, e.g. "openTSNE"
    iterations: int | None = None  # gradient iterations behind it (None: not recorded)

    def to_dict(self) -> dict:
        return {"points": [list(p) for p in self.points], "labels": list(self.labels), "cap": self.cap,
                "method": self.method, "iterations": self.iterations}

    @classmethod
    def from_dict(cls, d) -> "TSNEMap | None":
        """None unless there are as many labels as 2-D finite points, and at least one."""
        if not isinstance(d, dict):
            return None
        points, labels = d.get("points"), d.get("labels")
        if not isinstance(points, list) or not isinstance(labels, list) or len(points) != len(labels) or not points:
            return None
        for p in points:
            if not isinstance(p, (list, tuple)) or len(p) != 2 or _finite(p[0]) is None or _finite(p[1]) is None:
                return None
        return cls(tuple((p[0], p[1]) for p in points), tuple(str(x) for x in labels), _int(d.get("cap")),
                   _str(d.get("method")) or "t-SNE", _int(d.get("iterations")))


@dataclass(frozen=True)
class Mechanism:
    """Do text queries score image keys low, and do image keys get their share of attention (one layer,
    harness.capture.mechanism), extra["mechanism"]. Each figure None where a record lacks it."""

    logit_gap: float | None  # mean logit to image keys − to text keys, over text queries × heads, logit units
    attention_share: float | None  # attention on image keys / image share of visible keys (1: uniform)
    last_logit_gap: float | None = None  # the same at each sequence's last prompt token
    last_attention_share: float | None = None
    image_mass: float | None = None  # attention probability on image keys, in [0, 1]
    image_share: float | None = None  # image keys / visible keys, in [0, 1]
    n_queries: int | None = None  # text query positions behind the pooled figures
    n_sequences: int | None = None  # sequences behind them

    def to_dict(self) -> dict:
        return {"logit_gap": self.logit_gap, "attention_share": self.attention_share, "last_logit_gap": self.last_logit_gap,
                "last_attention_share": self.last_attention_share, "image_mass": self.image_mass,
                "image_share": self.image_share, "n_queries": self.n_queries, "n_sequences": self.n_sequences}

    @classmethod
    def from_dict(cls, d) -> "Mechanism | None":
        if not isinstance(d, dict) or not d:
            return None
        return cls(*(_real(d.get(k)) for k in ("logit_gap", "attention_share", "last_logit_gap", "last_attention_share",
                                               "image_mass", "image_share", "n_queries", "n_sequences")))


@dataclass(frozen=True)
class LabelCheck:
    """Token counts of one capture over all its prompts (non-pad tokens, before caps) and what the label
    guards found in them (harness.analysis.label_check), extra["label_check"]."""

    text: int  # tokens labelled text
    special: int  # tokens labelled special
    benchmark_text: int  # tokens of the benchmark text tokenized alone
    problems: tuple[str, ...] = ()  # one sentence per tripped guard; empty when the labels look sound

    def to_dict(self) -> dict:
        return {"text": self.text, "special": self.special, "benchmark_text": self.benchmark_text,
                "problems": list(self.problems)}

    @classmethod
    def from_dict(cls, d) -> "LabelCheck | None":
        """None unless the three counts are integers; problems that are not sentences are left out."""
        if not isinstance(d, dict):
            return None
        counts = [d.get(k) for k in ("text", "special", "benchmark_text")]
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
            return None
        problems = d.get("problems")
        return cls(*counts, tuple(p for p in problems if isinstance(p, str) and p) if isinstance(problems, list) else ())


@dataclass(frozen=True)
class Sampling:
    """Which tokens the bank kept (harness.capture.keys.TokenCaps.describe), extra["capture_sampling"].
    All None and empty: every token was kept (the record is {})."""

    seed: int | None = None  # seed of the draws
    balanced: dict | None = None  # {"per_modality", "prompts", "per_prompt"}: a balanced share per prompt
    per_sample: int | None = None  # tokens kept per prompt, all modalities together
    per_modality: dict = field(default_factory=dict)  # modality → tokens kept over the whole bank

    def to_dict(self) -> dict:
        if self.seed is None and self.balanced is None and self.per_sample is None and not self.per_modality:
            return {}
        out: dict = {"seed": self.seed}
        if self.balanced is not None:
            out["balanced"] = dict(self.balanced)
        if self.per_sample is not None:
            out["per_sample"] = self.per_sample
        if self.per_modality:
            out["per_modality"] = dict(self.per_modality)
        return out

    @classmethod
    def from_dict(cls, d) -> "Sampling | None":
        if not isinstance(d, dict):
            return None
        balanced, per_modality = d.get("balanced"), d.get("per_modality")
        return cls(_int(d.get("seed")), dict(balanced) if isinstance(balanced, dict) else None, _int(d.get("per_sample")),
                   dict(per_modality) if isinstance(per_modality, dict) else {})


@dataclass(frozen=True)
class TextBias:
    """The text-bias probe of an organism (harness.organisms.probe), extra["text_bias"]: shares of
    held-out questions, each None where a record lacks it."""

    n: int | None  # questions asked
    accuracy: float | None  # right with the image alone
    hinted_accuracy: float | None  # right despite a conflicting text cue
    follows_hint: float | None  # names the cue's colour
    text_reading: float | None = None  # right from the cue alone, no image
    chance: float | None = None  # accuracy of a uniform guess
    questions: str = ""  # which questions, in words

    def to_dict(self) -> dict:
        return {"n": self.n, "accuracy": self.accuracy, "hinted_accuracy": self.hinted_accuracy,
                "follows_hint": self.follows_hint, "text_reading": self.text_reading, "chance": self.chance,
                "questions": self.questions}

    @classmethod
    def from_dict(cls, d) -> "TextBias | None":
        if not isinstance(d, dict):
            return None
        n = d.get("n")
        return cls(n if isinstance(n, int) and not isinstance(n, bool) else None,
                   *(_real(d.get(k)) for k in ("accuracy", "hinted_accuracy", "follows_hint", "text_reading", "chance")),
                   _str(d.get("questions")))


@dataclass(frozen=True)
class Drift:
    """The outcome of comparing one triple with its stored baseline (harness.results.baselines), extra["baseline_drift"]."""

    # "ok", "drift", "created" (missing from a named store: fails), "new" (missing, created with a note),
    # "updated" (rewritten by --ks-update-baselines; figures: what it changed), "not-comparable" (a named store's
    # entry of other settings: fails), "other-config" (the default store's: a note), "unreadable" (a damaged
    # baseline file: fails; `note` says why)
    status: str
    path: str  # the baseline file
    figures: dict = field(default_factory=dict)  # figure → {"old", "new", "tolerance", "ok"}
    note: str = ""  # why an entry was not compared ("stored under other settings (seed 0 → 1)"), or the file's error

    FAILING = ("drift", "created", "not-comparable", "unreadable")

    @property
    def fails(self) -> bool:
        return self.status in self.FAILING

    def changes(self) -> str:
        """The figures outside tolerance, old → new ("outcome holds → absent; mmd2 0.14 → 0.09 (tolerance 5% + 1e-06)")."""
        return "; ".join(f"{k} {_fig(v.get('old'))} → {_fig(v.get('new'))} (tolerance {v.get('tolerance')})"
                         for k, v in self.figures.items() if isinstance(v, dict) and not v.get("ok", True))

    def message(self) -> str:
        if self.status == "created":
            return f"baseline created: {self.path}; rerun to compare against it"
        if self.status == "new":
            return f"no stored baseline: created {self.path} (a note, not a failure); later runs compare against it"
        if self.status == "not-comparable":
            return (f"baseline not compared: {self.note} [{self.path}]; rerun with its settings, or "
                    "--ks-update-baselines rewrites it")
        if self.status == "other-config":
            return f"baseline not compared: {self.note} [{self.path}] (a note; judged on its verdict alone)"
        if self.status == "unreadable":
            return f"baseline not compared: {self.note}"
        if self.status == "updated":
            said = self.changes() or ("" if self.note else "no figure outside its tolerance")
            return f"baseline rewritten: {'; '.join(filter(None, [self.note, said]))} [{self.path}]"
        return f"baseline drift: {self.changes()} [{self.path}; --ks-update-baselines rewrites it]"

    def to_dict(self) -> dict:
        return {"status": self.status, "path": self.path, "figures": self.figures, **({"note": self.note} if self.note else {})}

    @classmethod
    def from_dict(cls, d) -> "Drift | None":
        """None unless the status is a string; figures that are not a mapping read as none."""
        if not isinstance(d, dict) or not isinstance(d.get("status"), str):
            return None
        figures = d.get("figures")
        return cls(d["status"], _str(d.get("path")), figures if isinstance(figures, dict) else {}, _str(d.get("note")))


def _fig(value) -> str:
    """A stored or measured figure as a message shows it: numbers to 6 significant digits, words as they are."""
    return f"{value:.6g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
