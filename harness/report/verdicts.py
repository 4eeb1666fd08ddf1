"""The answer first: one sentence per model, and a verdict per (model, benchmark, layer).

Shared by the HTML report (sentences, matrix) and the console (the same sentences last), so both
say the same thing. An expected outcome is never shown as a failure: a control that must find no
gap and finds none is "as expected", and a "finding absent" that the stored baseline records is
"absent, as stored", not red.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping, Sequence

from harness.intervention.results import InterventionResult

from harness.results.captured import noun, scope
from harness.results.tiers import SHORT, tier_claim
from harness.results.records import TripleResult

from . import extras
from .interventions import intervention_sentences

CONTROL_EXPECTED = {  # control name → whether the finding's criterion should be met on it
    "shuffled-labels": False,  # image/text labels permuted: no real gap to find
    "text-as-image": False,  # text keys labelled as image: same distribution on both sides
    "synthetic-shift": True,  # a known shift injected into one side: must be detected
}


@dataclass(frozen=True)
class Verdict:
    """What one triple says, for a reader: a short label and its kind (the CSS class suffix)."""

    label: str  # "holds", "absent", "absent, as stored", "undecided (...)", "drift", "error", "as expected", "UNEXPECTED"
    kind: str  # "holds", "expected" (an expected negative), "bad" (a test failure), "error"
    symbol: str  # a shape beside the colour, so colour is never the only cue


def triple_verdict(r: TripleResult) -> Verdict:
    if r.status == "error":
        return Verdict("error", "error", "!")
    name = extras.control(r)
    if name is not None:
        want, got = CONTROL_EXPECTED.get(name), extras.criterion_met(r)
        if want is None:
            return Verdict("holds" if got else "absent", "holds" if got else "expected", "?")
        return Verdict("as expected", "expected", "✓") if want == got else Verdict("UNEXPECTED", "bad", "✗")
    drift = r.baseline_drift
    if drift is not None and drift.fails:  # the test failed on its baseline, whatever the verdict
        said = "holds" if r.passed else (undecided_label(r) if r.status == "undecided" else "absent")
        return Verdict(f"{said}, {BASELINE_FAILURE[drift.status]}", "bad", "✗")
    if r.passed:
        return Verdict("holds", "holds", "●")
    if r.status == "undecided":
        return Verdict(undecided_label(r), "expected", "?")
    if drift is not None and drift.status == "ok":
        return Verdict("absent, as stored", "expected", "○")
    if drift is not None and drift.status == "updated":
        return Verdict("absent, stored now", "expected", "○")
    return Verdict("absent", "bad", "○")


# how a verdict cell names a baseline comparison that fails the test (harness.results.figures.Drift.FAILING)
BASELINE_FAILURE = {"drift": "drift", "created": "baseline created", "not-comparable": "baseline of other settings",
                    "unreadable": "baseline file unreadable"}


def undecided_label(r: TripleResult) -> str:
    """Why an undecided triple is undecided, short: "undecided (no real sub-population)", ..."""
    t = r.tiers
    return SHORT.get(t.verdict, t.verdict) if t else "undecided"


def _thresholds(by_bench: Mapping[str, Sequence[TripleResult]]) -> str:
    """The threshold the ratio's lower bound must reach ("threshold 1"; "thresholds 1 and 10" where they differ),
    which is what "holds" asserts: 1, more than the most different real sub-populations; 10, ten times more."""
    values = sorted({r.threshold for rs in by_bench.values() for r in rs if extras.finite(r.threshold)})
    if not values:
        return "threshold not recorded"
    return ("threshold " if len(values) == 1 else "thresholds ") + " and ".join(f"{v:g}" for v in values)


def _layers(rs: Sequence[TripleResult]) -> str:
    return ", ".join(f"L{r.layer}" for r in sorted(rs, key=lambda r: r.layer))


def _benchmark_clause(rs: Sequence[TripleResult]) -> str:
    bench = rs[0].benchmark
    done = [r for r in rs if r.status != "error"]
    errors = [r for r in rs if r.status == "error"]
    if not done:
        return f"is untested on {bench} ({_layers(errors)} could not run)"
    clause = f"holds at {sum(r.passed for r in done)} of {len(done)} layers on {bench}"
    undecided = [r for r in done if r.status == "undecided"]
    if undecided:
        why = sorted({undecided_label(r) for r in undecided})
        clause += f" ({' / '.join(why)} at {_layers(undecided)})"
    absent = [r for r in done if not r.passed and r.status != "undecided"]
    if absent:
        stored = all(triple_verdict(r).kind == "expected" for r in absent)
        clause += f" (absent at {_layers(absent)}" + (", as stored" if stored else "") + ")"
    if errors:
        clause += f", {_layers(errors)} could not run"
    return clause + _beside_clause(done)


BESIDE = (("separability", "separable beyond every real split"),
          ("out of support", "out of the text {what}' support beyond every split"))  # {what}: captured.noun


def _beside_clause(done: Sequence[TripleResult]) -> str:
    """The held-out tiers' own claims, counted over the same layers as the verdict (side by side with it,
    never in place of it): "; beside it, separable beyond every real split at 4 of 4 layers, ...". Empty where
    the records carry no tiers (results written before they were computed)."""
    tiers = [r.tiers for r in done]
    if not tiers or any(t is None for t in tiers):
        return ""
    parts = []
    for name, words in BESIDE:
        known = [tier_claim(name, t.tiers.get(name) or {}) for t in tiers]
        if all(k is None for k in known):
            continue
        parts.append(f"{words.format(what=noun(done))} at {sum(k is True for k in known)} of {len(known)} layers")
    return "; beside it, " + ", ".join(parts) if parts else ""


def _controls_clause(controls: Sequence[TripleResult]) -> str:
    """"controls as expected" only when every control ran and gave its expected verdict; a control that
    errored (or could not run) is named with its one line, never folded into the others."""
    if not controls:
        return "no controls run"
    off = [r for r in controls if triple_verdict(r).kind != "expected"]
    if not off:
        return "controls as expected"
    return "controls NOT as expected: " + ", ".join(control_outcome(r) for r in off)


def control_outcome(r: TripleResult) -> str:
    """What one control gave, for a reader: its name and verdict, or that it errored and why (first line)."""
    if r.status == "error":
        line = next((x.strip() for x in (r.message or "").splitlines() if x.strip()), "no message")
        return f"{extras.control(r)} control errored: {line}"
    return f"{extras.control(r)} {triple_verdict(r).label}"


def sentences(results: Sequence[TripleResult]) -> list[str]:
    """One sentence per model: where the finding holds, per benchmark (with the held-out tiers' counts
    beside it), and how its controls went."""
    real: dict[str, dict[str, list[TripleResult]]] = defaultdict(lambda: defaultdict(list))
    controls: dict[str, list[TripleResult]] = defaultdict(list)
    for r in results:
        if extras.control(r) is None:
            real[r.model][r.benchmark].append(r)
        else:
            controls[r.model].append(r)
    out = []
    for model in sorted(real):
        clauses = [_benchmark_clause(rs) for _, rs in sorted(real[model].items())]
        measured = scope(r for rs in real[model].values() for r in rs)
        out.append(f"{model}{f' ({measured})' if measured else ''}: the finding (kernel-mean tier, {_thresholds(real[model])}, the verdict) "
                   + "; ".join(clauses)
                   + f"; {_controls_clause(controls[model])}.")
    for model in sorted(set(controls) - set(real)):  # the synthetic control, or controls of a model without triples
        out.append(f"{model} control(s): {_controls_clause(controls[model]).replace('controls ', '')}.")
    return out


def matrix(results: Sequence[TripleResult]) -> dict:
    """Rows per (model, benchmark), one cell per layer, and the row's controls; missing layers stay blank."""
    real = [r for r in results if extras.control(r) is None]
    layers = sorted({r.layer for r in real})
    cells: dict[tuple[str, str], dict[int, Verdict]] = defaultdict(dict)
    for r in real:
        cells[(r.model, r.benchmark)][r.layer] = triple_verdict(r)
    controls = defaultdict(list)
    for r in results:
        if extras.control(r) is not None:
            controls[r.model].append(triple_verdict(r))
    rows = []
    for (model, bench), by_layer in sorted(cells.items()):
        verdicts = controls.get(model, [])
        ok = sum(v.kind == "expected" for v in verdicts)
        rows.append({
            "model": model, "benchmark": bench,
            "cells": [_cell(by_layer.get(layer)) for layer in layers],
            "controls": {"text": f"{ok} of {len(verdicts)} as expected" if verdicts else "–",
                         "cls": ("v-expected" if ok == len(verdicts) else "v-bad") if verdicts else ""},
        })
    return {"layers": [f"L{layer}" for layer in layers], "rows": rows}


def _cell(v: Verdict | None) -> dict:
    if v is None:
        return {"text": "", "symbol": "", "cls": ""}
    return {"text": v.label, "symbol": v.symbol, "cls": f"v-{v.kind}"}


def console_verdicts(results: Sequence[TripleResult], records: Sequence[InterventionResult] = (),
                     known: Mapping[tuple, str] = {}) -> list[str]:
    """The lines a session's console ends with: the triples' sentences, then the interventions'."""
    return [*sentences(results), *intervention_sentences(records, known)]
