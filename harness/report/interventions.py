"""The interventions' report section: per (model, benchmark), a before/after table and per-layer plots.

The partial `templates/_interventions.html.j2` is a section of the main report (report.html, when the
run measured interventions) and the body of their own page (interventions.html
beside the records). Both need only `interventions` and `figures` from `section_view`. Templates
compute nothing; every string is made here.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from itertools import groupby
from pathlib import Path
from typing import Mapping, Sequence

from harness.intervention.results import InterventionResult

from .environment import environment
from .extras import finite as _num
from .plots import broken_at_gaps
from .svg import inline_svg

FIGURES = (  # effects key, column title, plot title
    ("attention_share", "attention share (text queries)", "attention share of image keys, text queries (1 = uniform)"),
    ("last_attention_share", "attention share (last token)", "attention share of image keys, last prompt token"),
    ("logit_gap", "logit gap", "logit gap image − text keys, text queries (logits)"),
    ("accuracy", "accuracy", "accuracy (the option the model finds likeliest: letter, or words)"),
    ("hint_following", "hint-following", "share of answers following a wrong hint"),
)
COLOURS = {"before": "#000000", "mean": "#E69F00", "moments": "#0072B2", "random": "#999999",
           "text-mean": "#009E73", "text-moments": "#CC79A7"}


# The checks that test a claim about the keys (harness.intervention.checks), by the interventions they
# apply to; the map's fit to its own target is checked too, but a pass on it alone says only that the map
# does what it says, so a record whose claim checks were all undecided reads "not checked", never "passed".
CLAIM_CHECKS = {
    "divergence_change": ("the MMD² falls", lambda name: name != "random"),
    "divergence": ("reaches the intra-modal level", lambda name: name == "moments"),
    "random_vs_mean_attention": ("random ≠ mean on attention", lambda name: name == "random"),
}
BEHAVIOUR = ("accuracy", "hint_following")  # answers, meaningless where the model answers at chance


@dataclass(frozen=True)
class Outcome:
    """What one intervention test says, for a reader."""

    label: str  # "passed", "failed", "known outcome", "not checked", "error"
    kind: str  # CSS class suffix, as the triples' verdicts: holds, bad, expected, unchecked, error
    checked: tuple[str, ...]  # the claim checks decided on this record (CLAIM_CHECKS words)
    unchecked: tuple[str, ...]  # the claim checks the data could not decide

    @property
    def detail(self) -> str:
        parts = []
        if self.checked:
            parts.append("checked: " + ", ".join(self.checked))
        if self.unchecked:
            parts.append("not checked: " + ", ".join(self.unchecked))
        return "; ".join(parts) or "the map's fit only"


def outcome(r: InterventionResult, known: Mapping[tuple, str] = {}) -> Outcome:
    """The record's outcome; `known`: record key → why its failure is the stored, expected outcome
    (harness.intervention.baselines.expected_failure)."""
    applicable = [key for key, (_, applies) in CLAIM_CHECKS.items() if applies(r.intervention)]
    unchecked = tuple(CLAIM_CHECKS[k][0] for k in applicable if k in r.notes)
    checked = tuple(CLAIM_CHECKS[k][0] for k in applicable if k not in r.notes)
    if r.status == "error":
        return Outcome("error", "error", (), ())
    if r.status == "failed":
        return Outcome("known outcome", "expected", checked, unchecked) if r.key in known else Outcome(
            "failed", "bad", checked, unchecked)
    if not checked:
        return Outcome("not checked", "unchecked", checked, unchecked)
    return Outcome("passed", "holds", checked, unchecked)


def at_chance(r: InterventionResult) -> str:
    """Why the behavioural figures of `r` say nothing (accuracy before: its interval includes chance), or ""."""
    e = r.effects.get("accuracy")
    if not e or "chance" not in e or _num(e.get("before_low")) is None or _num(e.get("before_high")) is None:
        return ""
    if e["before_low"] <= e["chance"] <= e["before_high"]:
        return (f"accuracy {_span(e['before'], e['before_low'], e['before_high'])} includes chance ({_fmt(e['chance'])}): "
                "the model answers at chance here, so accuracy and hint-following are not shown")
    return ""


def _fmt(x) -> str:
    v = _num(x)
    return "–" if v is None else f"{v:.3g}"


def _span(point, low, high) -> str:
    return f"{_fmt(point)} [{_fmt(low)}, {_fmt(high)}]" if _num(point) is not None else "–"


def effect_cells(r: InterventionResult, key: str) -> tuple[str, str]:
    """(before, after → change) cells of one effect, or the reason it is n/a."""
    e = r.effects.get(key)
    if not e:
        return "n/a", r.notes.get(key, "not measured")
    chance = f" (chance {_fmt(e['chance'])})" if "chance" in e else ""
    return (_span(e["before"], e["before_low"], e["before_high"]) + chance,
            f"{_span(e['after'], e['after_low'], e['after_high'])}; Δ {_span(e['change'], e['change_low'], e['change_high'])}")


def divergence_cells(r: InterventionResult) -> tuple[str, str]:
    d = r.divergence
    if not d:
        return "–", "–"
    b, a = d["before"], d["after"]
    def cell(x: dict) -> str:
        p = f", p {_fmt(x['p_value'])}" if "p_value" in x else ""
        return f"MMD² {_fmt(x['mmd2'])}{p}, ratio {_span(x['ratio'], x['low'], x['high'])}"

    c = d.get("change")
    change = f"; Δ MMD² {_span(c['change'], c['change_low'], c['change_high'])}" if c else ""
    return cell(b), cell(a) + change


def moved(r: InterventionResult, chance: str = "") -> str:
    """What the intervention moved, after − before with its interval, in one line for the summary table: the
    cross-modal MMD², the text queries' attention share of image keys and, unless the model answers at chance,
    hint-following ("" where nothing was measured)."""
    parts = []
    c = (r.divergence or {}).get("change")
    if c:
        parts.append(f"MMD² {_span(c['change'], c['change_low'], c['change_high'])}")
    for key, name in (("attention_share", "attention share"), ("hint_following", "hint-following")):
        e = r.effects.get(key)
        if e and not (chance and key in BEHAVIOUR):
            parts.append(f"{name} {_span(e['change'], e['change_low'], e['change_high'])}")
    return "; ".join(parts)


def _change_level(r: InterventionResult) -> float | None:
    """The coverage of the record's Δ intervals (its divergence change's), None where it names none."""
    return _num(((r.divergence or {}).get("change") or {}).get("level"))


def _undecided_note(r: InterventionResult) -> str:
    """The divergence checks the data could not decide, in one line (the reason is the same for both)."""
    which = [name for key, name in (("divergence_change", "the fall of the MMD²"), ("divergence", "the intra-modal level"))
             if key in r.notes]
    if not which:
        return ""
    reason = next(r.notes[k] for k in ("divergence_change", "divergence") if k in r.notes)
    return f"not checked: {' and '.join(which)}: {reason.split(': there is no gap')[0]}"


def _sizes(r: InterventionResult) -> str:
    """'fitted 36 + 36 (18 + 18 units) / measured 72 (36)': per fold, then all measured."""
    def each(v) -> str:
        return " + ".join(map(str, v)) if isinstance(v, list) else str(v)

    return f"{each(r.n_fit_prompts)} ({each(r.n_fit_units)}) / {r.n_held_prompts} ({r.n_held_units})"


_PLOTS: dict[str, str] = {}  # drawn plots by their records and tag: a suite run draws each once for its two pages
_PLOTS_KEPT = 64


def _plot(records: Sequence[InterventionResult], tag: str) -> str:
    """The inline SVG of `records`' plot (the same records and tag give the same bytes, so it is drawn once per
    process: the run's interventions.html and report.html show the same plots)."""
    import matplotlib

    key = hashlib.sha256(json.dumps([tag, *(asdict(r) for r in records)], sort_keys=True, default=str).encode()).hexdigest()
    if key not in _PLOTS:
        fig = _figure(records)
        buf = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "keyspace-interventions", "font.size": 7}):
            fig.savefig(buf, format="svg", metadata={"Date": None})  # no date: the same records give the same file
        if len(_PLOTS) >= _PLOTS_KEPT:
            _PLOTS.pop(next(iter(_PLOTS)))
        _PLOTS[key] = inline_svg(buf.getvalue(), tag, label="before and after each intervention, per layer")
    return _PLOTS[key]


def _figure(records: Sequence[InterventionResult]):
    """Before and after each intervention, per layer: one panel per figure, a point per layer with its
    interval; lines join adjacent layers only, so none is drawn across a layer not measured."""
    from matplotlib.figure import Figure  # the object API draws without pyplot or a chosen backend

    panels = [("ratio", "cross-modal / intra-modal MMD² ratio (keys)")] + [(k, title) for k, _, title in FIGURES]
    cols = 3
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(3.3 * cols, 2.6 * rows + 0.4))
    names = list(dict.fromkeys(r.intervention for r in records))
    for i, (key, title) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.set_xticks(sorted({r.layer for r in records}))  # the layers measured, whatever the jitter
        ax.set_title(title, fontsize=7, wrap=True)
        ax.set_xlabel("layer")
        series = {"before": {}}
        for r in records:
            if key == "ratio" and r.divergence:
                b, a = r.divergence["before"], r.divergence["after"]
                series["before"][r.layer] = (b["ratio"], b["low"], b["high"])
                series.setdefault(r.intervention, {})[r.layer] = (a["ratio"], a["low"], a["high"])
            elif r.effects.get(key):
                e = r.effects[key]
                series["before"][r.layer] = (e["before"], e["before_low"], e["before_high"])
                series.setdefault(r.intervention, {})[r.layer] = (e["after"], e["after_low"], e["after_high"])
        for j, name in enumerate(["before", *names]):
            pts = sorted((x, v) for x, v in series.get(name, {}).items() if all(_num(t) is not None for t in v))
            if not pts:
                continue
            layers, ys, below, above = broken_at_gaps([x for x, _ in pts], [v[0] for _, v in pts],
                                                      [max(v[0] - v[1], 0) for _, v in pts],
                                                      [max(v[2] - v[0], 0) for _, v in pts])
            xs = [x + 0.08 * (j - len(names) / 2) for x in layers]
            ax.errorbar(xs, ys, yerr=[below, above], fmt="o-" if name == "before" else "s--", ms=3, lw=1, capsize=2,
                        color=COLOURS.get(name, "#D55E00"), label=name)
        if key == "ratio":
            ax.set_yscale("symlog", linthresh=1.0)
            ax.axhline(1.0, color="#999999", lw=0.6, ls=":")  # the intra-modal level
    handles, labels = fig.axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


OUTCOME_ORDER = ("passed", "failed", "known outcome", "not checked", "error")


def intervention_sentences(records: Sequence[InterventionResult], known: Mapping[tuple, str] = {}) -> list[str]:
    """One sentence per model: how its intervention tests came out, with counts (report.interventions.outcome):
    "passed" only where a claim check was decided and held; "not checked" where only the map's fit could be."""
    by_model: dict[str, list[InterventionResult]] = defaultdict(list)
    for r in records:
        by_model[r.model].append(r)
    out = []
    for model, rs in sorted(by_model.items()):
        counts = defaultdict(int)
        failed = []
        for r in sorted(rs, key=lambda r: (r.benchmark, r.layer, r.intervention)):
            label = outcome(r, known).label
            counts[label] += 1
            if label in ("failed", "error"):
                failed.append(f"L{r.layer} {r.benchmark} {r.intervention}")
        where = ", ".join(sorted({r.benchmark for r in rs}))
        layers = ", ".join(f"L{x}" for x in sorted({r.layer for r in rs}))
        tally = ", ".join(f"{counts[k]} {k}" for k in OUTCOME_ORDER if counts[k] or k in ("passed", "failed"))
        sentence = f"{model}: interventions {tally} (of {len(rs)} at {layers} on {where})"
        if failed:
            sentence += f"; failed or errored: {', '.join(failed)}"
        if counts["not checked"]:
            sentence += "; not checked: nothing for its claim checks to decide (no gap beyond the intra-modal effects before, or a mean shift that moves no attention)"
        out.append(sentence + ".")
    return out


def interventions_view(records: Sequence[InterventionResult], known: Mapping[tuple, str] = {}) -> list[dict]:
    """One entry per (model, benchmark): its summary rows and detail rows (one per layer × intervention),
    and its plot. Behavioural cells are blanked, with the reason, where accuracy is at chance."""
    ordered = sorted(records, key=lambda r: (r.model, r.benchmark, r.layer, r.intervention))
    groups = []
    for n, ((model, bench), rs) in enumerate(groupby(ordered, key=lambda r: (r.model, r.benchmark))):
        rs = list(rs)
        rows, summary = [], []
        for r in rs:
            o = outcome(r, known)
            chance = at_chance(r)
            cells = [("–", "at chance") if chance and k in BEHAVIOUR else effect_cells(r, k) for k, _, _ in FIGURES]
            notes = "; ".join(x for x in (_undecided_note(r), chance) if x)
            message = known.get(r.key, r.message) if o.label == "known outcome" else r.message
            rows.append({"layer": r.layer, "intervention": r.intervention, "control": r.control, "status": o.label,
                         "cls": f"v-{o.kind}", "message": message, "divergence": divergence_cells(r), "cells": cells,
                         "notes": notes, "n": _sizes(r)})
            summary.append({"layer": r.layer, "intervention": r.intervention + (" (control)" if r.control else ""),
                            "outcome": o.label, "cls": f"v-{o.kind}", "checks": o.detail, "moved": moved(r, chance),
                            "message": message if o.kind in ("bad", "error", "expected") else ""})
        measured = [r for r in rs if r.status != "error"]
        levels = sorted({f"{lv:.0%}".replace("%", " %") for lv in (_change_level(r) for r in rs) if lv is not None})
        groups.append({"model": model, "benchmark": bench, "rows": rows, "summary": summary,
                       "interval": f"{' / '.join(levels)} interval" if levels else "interval",
                       "plot": _plot(measured, f"iv{n}") if measured else ""})
    return groups


def section_view(records: Sequence[InterventionResult], known: Mapping[tuple, str] = {}) -> dict:
    """What the section's partial needs: `interventions` (interventions_view), `figures` (column titles)
    and `intervention_verdicts` (one sentence per model, as in the Verdicts block)."""
    return {"interventions": interventions_view(records, known), "figures": [title for _, title, _ in FIGURES],
            "intervention_verdicts": intervention_sentences(records, known)}


def render_interventions(records: Sequence[InterventionResult], path: Path, known: Mapping[tuple, str] = {}) -> Path:
    """Write the interventions page for `records` to `path` and return the path; `known` as in `outcome`."""
    html = environment().get_template("interventions.html.j2").render(**section_view(records, known))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
