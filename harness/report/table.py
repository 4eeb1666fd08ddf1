"""Columns and cells of the report's sortable tables (the template only loops over them).

A cell is a dict: `text` (shown), `sort` (the key the header click sorts by: a number written in
full precision, or text; "" when missing, sorted last), `note` (a smaller second line), `title`
(tooltip) and `cls` (CSS class).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from harness.results.captured import noun
from harness.results.records import TripleResult

from . import extras
from .verdicts import CONTROL_EXPECTED, control_outcome, triple_verdict

MISSING = "–"
# Columns of the compact table shown first (what decides the verdict and the figures a reader
# checks); every column is in the full table behind a toggle.
# JS is not among them: it collapses under prompt clustering (docs/statistics.md), so the held-out AUC and
# the out-of-support share take its place; it stays in the full table.
COMPACT = ("model", "layer", "status", "ratio", "p", "mmd2", "auc", "out-of-support", "drift")


def fmt(x, digits: int = 4) -> str:
    """A number for humans: integers as is, floats to `digits` significant figures, "–" when missing."""
    if x is None or isinstance(x, bool):
        return MISSING if x is None else str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float) and math.isnan(x):
        return MISSING
    return f"{x:.{digits}g}"


def capped(x, cap: float | None, digits: int = 3) -> str:
    """A bound the statistics cap (the ratio's interval stops at 1000) reads as such, never as a value."""
    if cap is not None and extras.finite(x) is not None and x >= cap * (1 - 1e-9):
        return f"≥ {cap:g}"
    if cap is not None and extras.finite(x) is not None and x <= -cap * (1 - 1e-9):  # unbounded below (no cross effect)
        return f"≤ -{cap:g}"
    return fmt(x, digits)


def _sort_key(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return repr(float(x)).replace("inf", "Infinity")  # parseFloat reads "Infinity", not "inf"
    return str(x)


def cell(value, text: str | None = None, *, note: str = "", title: str = "", cls: str = "") -> dict:
    shown = text if text is not None else (fmt(value) if not isinstance(value, str) else value)
    return {"text": shown, "sort": _sort_key(value), "note": note, "title": title, "cls": cls}


def column(key: str, label: str, title: str, kind: str = "num", sub: str = "") -> dict:
    """A header: `label` on top, `sub` (unit, split, estimator) in small type below, `title` as tooltip."""
    return {"key": key, "label": label, "sub": sub, "title": title, "type": kind}


def _js_cell(r: TripleResult, which: str, shared: str | None) -> dict:
    js = r.js.get(which)
    if js is None:
        return cell(None)
    if js.reason or extras.finite(js.bits) is None:
        return cell(None, "n/a" + (f": {js.reason}" if js.reason else ""), title=f"estimator: {js.estimator}; not estimable")
    return cell(js.bits, fmt(js.bits, 3), note="" if shared else js.estimator, title=f"estimator: {js.estimator}")


def _ratio_cell(r: TripleResult) -> dict:
    ci = r.ratio_interval
    if ci is None:
        return cell(r.ratio, fmt(r.ratio, 3))
    level = f"{ci.level:.0%}" if math.isfinite(ci.level) else "?"
    return cell(r.ratio, capped(r.ratio, ci.cap), note=f"[{capped(ci.low, ci.cap)}, {capped(ci.high, ci.cap)}]",
                title=f"{level} interval: {ci.method or f'bootstrap over samples, {ci.n_boot} resamples'}; "
                      f"the ratio is capped at {ci.cap:g}")


def _verdict_cell(r: TripleResult) -> dict:
    v = triple_verdict(r)
    return cell(r.status, f"{v.symbol} {v.label}", title=f"test status: {r.status}", cls=f"v-{v.kind}")


def _drift_cell(r: TripleResult) -> dict:
    """The comparison's status, with what moved (drift, rewritten) or why nothing was compared beside it."""
    d = r.baseline_drift
    if d is None:
        return cell(None)
    shown = {"drift": d.changes(), "updated": d.changes() or "nothing outside tolerance"}.get(d.status, d.note)
    text = f"{d.status}: {shown}" if shown else d.status
    title = d.message() if d.status not in ("ok",) else "every stored figure within its tolerance: " + "; ".join(
        f"{k} {v.get('old')} → {v.get('new')}" for k, v in d.figures.items() if isinstance(v, dict))
    cls = "drift-drift" if d.fails else (f"drift-{d.status}" if d.status in ("ok", "new") else "")
    return cell(d.status, text, title=title, cls=cls)


def _shared_estimator(results: Sequence[TripleResult], which: str) -> str | None:
    names = {js.estimator for js in (r.js.get(which) for r in results) if js is not None}
    return names.pop() if len(names) == 1 else None


def _table(spec: list[tuple[dict, Callable[[TripleResult], dict]]], results: Sequence[TripleResult]) -> dict:
    """Columns, their count, and one row per result; each cell's class carries its column's alignment."""
    def row(r: TripleResult) -> dict:
        cells = [make(r) for _, make in spec]
        for (col, _), c in zip(spec, cells):
            c["cls"] = f"{col['type']} {c['cls']}".strip()
        # each warning once: the analysis has put some in the message already
        shown = [f"{kind} warning: {text}" for kind, text in extras.guard_warnings(r) if text not in r.message]
        message = " ".join([r.message] + shown).strip()
        return {"cells": cells, "message": message}

    return {"columns": [c for c, _ in spec], "width": len(spec), "rows": [row(r) for r in results]}


def _support_cell(r: TripleResult) -> dict:
    t = r.tiers
    s = t.tiers.get("out of support") if t else None
    if not s:
        return cell(None)
    return cell(s["image_outside"], f"{fmt(s['image_outside'], 2)} vs {fmt(s['text_outside'], 2)}",
                note=f"Δ {fmt(s['excess'], 2)} ≥ {fmt(s['excess_low'], 2)}",
                title="excess = image share − text share, with its one-sided lower bound over units")


def _auc_cell(r: TripleResult) -> dict:
    shown = extras.headline_auc(r)
    return cell(shown, fmt(shown, 3), note="tokens" if shown is not None and extras.unit_auc(r) is None else "")


def triple_table(results: Sequence[TripleResult], *, compact: bool = False) -> dict:
    """Columns and rows (one per triple, with its message) of a benchmark's table; `compact`: the
    COMPACT columns only, which fit a laptop screen."""
    est = {w: _shared_estimator(results, w) for w in extras.JS_ESTIMATORS}
    intra, what = extras.intra_names(results), noun(results)
    # Order: what decides the verdict first (ratio, threshold, p), then the figures behind it.
    spec: list[tuple[dict, Callable[[TripleResult], dict]]] = [
        (column("model", "model", "model registry name or hub spec", "text"), lambda r: cell(r.model)),
        (column("layer", "layer", "decoder layer index (0-based)"), lambda r: cell(r.layer)),
        (column("status", "verdict", "the kernel-mean tier: holds where p < alpha and every real split's lower bound "
                "of cross / effect ≥ threshold; absent where some split's upper bound is under it; else undecided", "text"),
         _verdict_cell),
        (column("ratio", "ratio", "kernel-mean tier: MMD² / strongest real intra-modal split (the point ratio; 'not estimable' where that split's "
                "effect is not bounded above 0), "
                "interval below: min of the splits' lower and upper Fieller bounds", sub="[interval]"),
         _ratio_cell),
        (column("threshold", "thr", "the ratio the test requires"), lambda r: cell(r.threshold, fmt(r.threshold, 3))),
        (column("p", "p", "prompt-level p-value of MMD² (sign flips of whole units: each unit's image and text "
                "blocks swapped at random)"),
         lambda r: cell(r.p_value, fmt(r.p_value, 3), title=f"{r.permutations} permutations, alpha {fmt(r.alpha, 3)}")),
        (column("mmd2", "MMD²", f"between-prompt MMD² image vs text {what}, mixture kernel (RBF at σ × 0.25 … 4, "
                "σ the median heuristic)",
                sub="σ below"),
         lambda r: cell(r.mmd2, note=f"σ {fmt(r.bandwidth, 3)}" if extras.finite(r.bandwidth) else "")),
    ]
    for name in intra:
        spec.append((column(f"intra-{name}", "intra", f"intra-modal baseline MMD², {name} split", sub=name),
                     lambda r, n=name: cell(r.intra.get(n), fmt(extras.number(r.intra.get(n)), 3))))
    for which, label in (("classifier", "JS clf"), ("knn", "JS kNN")):
        spec.append((column(f"js-{which}", label, f"Jensen–Shannon divergence in bits, {which} estimator",
                            sub="bits" + (f" · {est[which]}" if est[which] else "")),
                     lambda r, w=which: _js_cell(r, w, est[w])))
    spec += [
        (column("auc", "AUC", f"held-out AUC of a linear probe image vs text {what}, each unit (prompt) weighing 1 "
                "as the MMD weighs them: the separability tier's (a record without tiers: the token-weighted one, "
                "so marked)"), _auc_cell),
        (column("auc-tokens", "AUC tokens", f"held-out AUC of the JS space's linear probe image vs text {what}, each "
                "token weighing 1 (the figure beside the JS estimates)"),
         lambda r: cell(extras.auc(r), fmt(extras.auc(r), 3))),
        (column("out-of-support", "out of support", f"share of held-out image {what} outside the text {what}' support "
                f"(kNN, τ the 95 % quantile of held-out text {what}) vs the same share of held-out text {what}",
                sub="image vs text"), _support_cell),
        (column("logit-gap", "logit gap", "mean attention logit text queries give image keys minus the mean they give "
                "text keys (negative: image keys scored lower)", sub="logits"),
         lambda r: cell(extras.logit_gap(r), fmt(extras.logit_gap(r), 3))),
        (column("attention-share", "attn share", "image attention mass / image token share (1 = fair share)",
                sub="mass / tokens"),
         lambda r: cell(extras.attention_share(r), fmt(extras.attention_share(r), 3))),
        (column("n", "n", f"image and text {what} used (after the point cap)", sub="img / txt"),
         lambda r: cell(r.n_image, f"{r.n_image} / {r.n_text}")),
        (column("space", "space", "space the figures were computed in", "text"), lambda r: cell(r.space)),
        (column("seconds", "analysis", "wall seconds of the analysis of this triple", sub="s"),
         lambda r: cell(r.seconds, f"{r.seconds:.2f}")),
        (column("capture-seconds", "capture", f"wall seconds of the capture of the {what}", sub="s"),
         lambda r: cell(extras.capture_seconds(r), fmt(extras.capture_seconds(r), 3))),
        (column("drift", "baseline", "comparison with the stored baseline: ok, drift, created, new, updated, other-config, "
                "not-comparable or unreadable (Definitions)", "text"), _drift_cell),
    ]
    if compact:
        spec = [entry for entry in spec if entry[0]["key"] in COMPACT]
    return _table(spec, results)


def control_table(results: Sequence[TripleResult]) -> dict:
    """Columns and rows of the controls: the verdict each control should give and the one it gave."""
    def expected(r: TripleResult) -> bool | None:
        return CONTROL_EXPECTED.get(extras.control(r) or "")

    def yes_no(x: bool | None, yes: str, no: str) -> str | None:
        return None if x is None else (yes if x else no)

    def agrees(r: TripleResult) -> dict:
        if r.status == "error":
            return cell(control_outcome(r).replace(f"{extras.control(r)} control ", "", 1), cls="v-error")
        if expected(r) is None or extras.criterion_met(r) is None:
            return cell(None)
        v = triple_verdict(r)
        return cell(v.label, cls=f"v-{v.kind}")

    spec = [
        (column("control", "control", "the control's name", "text"), lambda r: cell(extras.control(r))),
        (column("model", "model", "model registry name or hub spec", "text"), lambda r: cell(r.model)),
        (column("benchmark", "benchmark", "benchmark the control was built from", "text"), lambda r: cell(r.benchmark)),
        (column("layer", "layer", "decoder layer index (0-based)"), lambda r: cell(r.layer)),
        (column("expected", "expected", "whether the gap criterion should be met on this control", "text"),
         lambda r: cell(yes_no(expected(r), "gap", "no gap"))),
        (column("found", "found", "the ratio's lower bound ≥ threshold and p < alpha on this control", "text"),
         lambda r: cell(yes_no(extras.criterion_met(r), "gap", "no gap"))),
        (column("agrees", "outcome", "found vs expected", "text"), agrees),
        (column("mmd2", "MMD²", "unbiased MMD² of the control's two sides"), lambda r: cell(r.mmd2)),
        (column("p", "p", "permutation p-value"), lambda r: cell(r.p_value, fmt(r.p_value, 3))),
        (column("ratio", "ratio", "MMD² / strongest intra-modal baseline", sub="[interval]"), _ratio_cell),
        (column("threshold", "thr", "the ratio the test requires"), lambda r: cell(r.threshold, fmt(r.threshold, 3))),
    ]
    return _table(spec, results)
