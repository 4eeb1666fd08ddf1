"""Typed, tolerant readers for the figures a TripleResult keeps in `extra` (and its intra baselines).

The statistics engine fills `extra` by name; a result from an older or partial run may lack any of
them, or hold a malformed value. Every reader here returns None (never raises) in that case, so
the report shows "–" instead of failing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.results.records import TripleResult

JS_ESTIMATORS = ("classifier", "knn")  # keys of extra["js"], in display order
TSNE_LABELS = ("image", "text", "special")  # token labels a t-SNE map may carry
# Canonical order of intra-modal baselines; others (a future split) follow alphabetically.
# Display order of intra-modal effects: today's names, then those of results written before the
# prompt-level statistics (random and by-sample halves), which old results files still carry.
INTRA_ORDER = (
    "image/by-language", "text/by-language", "image/by-category", "text/by-category", "image/by-position",
    "text/by-position", "image/by-benchmark", "text/by-benchmark",
    "image/random", "text/random", "image/by-sample", "text/by-sample",
)


def number(x) -> float | None:
    """x as a float when it is a real number (bool excluded), else None. NaN stays NaN."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


def finite(x) -> float | None:
    """x as a float when it is a finite number, else None."""
    v = number(x)
    return v if v is not None and math.isfinite(v) else None


@dataclass(frozen=True)
class JS:
    bits: float  # Jensen–Shannon divergence image vs text keys, in bits, in [0, 1]; NaN when not estimable
    estimator: str  # how it was estimated from samples (named by the engine)
    reason: str = ""  # why it is not estimable (e.g. "too few unique keys"); empty when it is


@dataclass(frozen=True)
class Interval:
    low: float  # lower end of the bootstrap interval of the ratio
    high: float  # upper end
    level: float  # coverage, e.g. 0.95
    n_boot: int  # bootstrap resamples behind it
    cap: float = 1000.0  # the ratio's ceiling (strongest baseline floored at 1/cap of the cross term); ≥ cap reads "≥ cap"


@dataclass(frozen=True)
class Drift:
    status: str  # "ok", "drift" or "created" (comparison with the stored baseline)
    figures: dict  # figure name → what the comparison found (free-form)


@dataclass(frozen=True)
class TSNE:
    points: list  # [[x, y], ...] embedding coordinates (arbitrary units)
    labels: list  # "image" / "text" / "special" per point
    cap: int | None  # the engine's cap on points per map
    method: str  # the implementation, e.g. "openTSNE"


def js(r: TripleResult, which: str) -> JS | None:
    entry = r.extra.get("js")
    entry = entry.get(which) if isinstance(entry, dict) else None
    if not isinstance(entry, dict):
        return None
    reason = entry.get("reason") if isinstance(entry.get("reason"), str) else ""
    if number(entry.get("bits")) is None and not reason:
        return None
    bits = number(entry.get("bits"))
    return JS(float("nan") if bits is None else bits, str(entry.get("estimator") or "unnamed estimator"), reason)


def auc(r: TripleResult) -> float | None:
    """Held-out AUC of a linear probe telling image keys from text keys (0.5 = indistinguishable)."""
    return number(r.extra.get("auc"))


def logit_gap(r: TripleResult) -> float | None:
    return number(r.extra.get("logit_gap"))


def attention_share(r: TripleResult) -> float | None:
    return number(r.extra.get("attention_share"))


def capture_seconds(r: TripleResult) -> float | None:
    return number(r.extra.get("capture_seconds"))


def control(r: TripleResult) -> str | None:
    name = r.extra.get("control")
    return str(name) if isinstance(name, str) and name else None


def ratio_interval(r: TripleResult) -> Interval | None:
    ci = r.extra.get("ratio_interval")
    if not isinstance(ci, dict):
        return None
    low, high = number(ci.get("low")), number(ci.get("high"))
    if low is None or high is None:
        return None
    level = number(ci.get("level"))
    n_boot = number(ci.get("n_boot"))
    cap = finite(ci.get("cap"))
    return Interval(low, high, level if level is not None else float("nan"),
                    int(n_boot) if n_boot is not None and math.isfinite(n_boot) else 0, cap if cap else 1000.0)


def baseline_drift(r: TripleResult) -> Drift | None:
    d = r.extra.get("baseline_drift")
    if not isinstance(d, dict) or not isinstance(d.get("status"), str):
        return None
    figures = d.get("figures")
    return Drift(d["status"], figures if isinstance(figures, dict) else {})


def label_warnings(r: TripleResult) -> list[str]:
    """Warnings the labeller raised about this triple's tokens (list of strings in extra["label_warnings"])."""
    w = r.extra.get("label_warnings")
    return [str(x) for x in w if isinstance(x, str) and x] if isinstance(w, list) else []


def tsne(r: TripleResult) -> TSNE | None:
    """The t-SNE map when it is well-formed (as many labels as 2-D numeric points), else None."""
    t = r.extra.get("tsne")
    if not isinstance(t, dict):
        return None
    points, labels = t.get("points"), t.get("labels")
    if not isinstance(points, list) or not isinstance(labels, list) or len(points) != len(labels) or not points:
        return None
    for p in points:
        if not isinstance(p, (list, tuple)) or len(p) != 2 or finite(p[0]) is None or finite(p[1]) is None:
            return None
    cap = number(t.get("cap"))
    return TSNE(points, [str(x) for x in labels], int(cap) if cap is not None and math.isfinite(cap) else None, str(t.get("method") or "t-SNE"))


def intra_names(results) -> list[str]:
    """Every intra-modal baseline name found in `results`, in canonical order."""
    seen = {name for r in results for name in r.intra}
    return [n for n in INTRA_ORDER if n in seen] + sorted(seen.difference(INTRA_ORDER))


def max_intra(r: TripleResult) -> float | None:
    values = [v for v in (finite(x) for x in r.intra.values()) if v is not None]
    return max(values) if values else None


def criterion_met(r: TripleResult) -> bool | None:
    """The verdict the analysis gave (ratio's lower bound ≥ threshold and p < alpha); None for an error.

    Taken from the result, never recomputed here, so the report cannot disagree with the test."""
    return None if r.status == "error" else bool(r.passed)
