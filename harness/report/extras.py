"""Display helpers of the report: numbers as a cell shows them, display orders, and the few flat
figures of `extra` (AUC, logit gap, attention share, capture time, control name) as the report shows them.

The sub-records of `extra` are typed where they are made and read back tolerantly by
harness.results.figures (`r.js`, `r.ratio_interval`, `r.tsne`, ...); a value missing or malformed
reads as None here too, so the report shows "–" instead of failing.
"""

from __future__ import annotations

import math

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


def auc(r: TripleResult) -> float | None:
    """Held-out AUC of the JS space's linear probe telling image keys from text keys, each token weighing 1
    (0.5 = indistinguishable): the figure beside the JS estimates."""
    return number(r.extra.get("auc"))


def unit_auc(r: TripleResult) -> float | None:
    """The separability tier's held-out AUC image vs text, each unit weighing 1 as the MMD weighs them (the
    headline AUC); None for records without tiers."""
    t = r.tiers
    s = t.tiers.get("separability") if t else None
    return number(s.get("cross")) if s else None


def headline_auc(r: TripleResult) -> float | None:
    """`unit_auc`, or for a record without tiers the token-weighted `auc` (the caller marks which it shows)."""
    units = unit_auc(r)
    return units if units is not None else auc(r)


def logit_gap(r: TripleResult) -> float | None:
    """The layer's logit gap (also in `r.mechanism`, with the rest of the mechanism figures)."""
    return number(r.extra.get("logit_gap"))


def attention_share(r: TripleResult) -> float | None:
    """The layer's attention share (also in `r.mechanism`)."""
    return number(r.extra.get("attention_share"))


def capture_seconds(r: TripleResult) -> float | None:
    return number(r.extra.get("capture_seconds"))


def control(r: TripleResult) -> str | None:
    """The control's name, None for a real triple."""
    name = r.extra.get("control")
    return str(name) if isinstance(name, str) and name else None


def guard_warnings(r: TripleResult) -> list[tuple[str, str]]:
    """What the guards found in this triple, (kind, line) each: "label" (the problems of its label check,
    harness.analysis.label_check) and "key" (harness.analysis.key_check)."""
    check = r.label_check
    keys = r.extra.get("key_warnings")
    return ([("label", p) for p in (check.problems if check else ())]
            + [("key", w) for w in (keys if isinstance(keys, list) else ()) if isinstance(w, str)])


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
