"""Per model: the tiers of the claim × layers, the verdict row marked, and one sentence saying what holds where.

Reads ``extra["tiers"]`` (harness.analysis.tiers.tiers_record) of the real triples (controls are
left out); the template only loops over the rows. A cell shows a tier's headline figure with its
interval over units, and whether that tier's own claim is met (● met, ○ not, – no figure).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from harness.results.captured import WORDS, noun, scope
from harness.results.tiers import ASSERTED, ORDER, SHORT, tier_claim
from harness.results.records import TripleResult

from . import extras
from .table import capped, fmt

RATIO_CAP = 1000.0  # where the statistics cap a ratio's bounds (harness.stats.bootstrap.CAP; a test checks they agree)

def questions(what: str = "keys") -> dict[str, str]:
    """The question each row answers, of `what` was captured (harness.results.captured.noun)."""
    return {
        "paper form": "token-level MMD² over random halves, and its square root, the same ratio of MMDs (the paper's "
                      "0.408 vs ~0.012, about 34, may be either): a replication, never evidence",
        "separability": "held-out AUC image vs text, minus the strongest real split's",
        "out of support": f"share of image {what} outside the text {what}' support, minus the same for held-out text {what}",
        "kernel mean": "between-prompt MMD² over every real split (mixture kernel): the asserted verdict",
        "kernel mean at one σ": "the same tier under each RBF of the mixture alone (σ = scale × σ_med): readings beside "
                                "the verdict, never it; the rule's outcome at each",
        "kernel mean, by-benchmark bounded": "the same tier with each by-benchmark split bounded like every other "
                                             "split (two or more benchmarks): a reading beside the verdict, whose by-benchmark "
                                             "check is on the point (docs/statistics.md, amendments 3-4: not adopted)",
        "per head": "the kernel-mean ratio [lower bound] of each head's slice of the vector, and the asserted rule on it "
                    "(figures: with H heads about H × alpha read 'holds' by chance)",
        "per head: separability": "each head's held-out AUC image vs text, and its difference from the strongest real split [lower bound]",
        "per head: out of support": f"each head's share of image {what} outside the text {what}' support vs held-out text {what}, "
                                    "and its excess over the strongest real split's [lower bound]",
    }


HEAD_ROWS = ("per head", "per head: separability", "per head: out of support")
SIGMA_ROW = "kernel mean at one σ"
BENCH_ROW = "kernel mean, by-benchmark bounded"
MARK = {"holds": "●", "absent": "○"}  # a verdict's mark; "?" for either undecided outcome


def _sigma_cell(record: dict | None) -> dict:
    """The kernel-mean tier at each single σ of the mixture (``tiers_record``'s "per σ"), the rule's mark at each."""
    readings = ((record or {}).get(ASSERTED) or {}).get("per σ") or []
    if not readings:
        return {"text": "–", "note": "", "mark": "–", "cls": ""}
    text = "; ".join(f"×{r['scale']:g} {MARK.get(r['outcome'], '?')} {fmt(r['point'], 3)} ≥ {fmt(r['low'], 3)}" for r in readings)
    met = sum(r["outcome"] == "holds" for r in readings)
    return {"text": text, "note": f"the rule holds at {met} of {len(readings)} single σ", "mark": f"{met}/{len(readings)}", "cls": ""}


def _bench_cell(record: dict | None) -> dict:
    """The kernel-mean tier with the by-benchmark splits bounded (``tiers_record``'s "by-benchmark bounded")."""
    t = ((record or {}).get(ASSERTED) or {}).get("by-benchmark bounded")
    if not t:
        return {"text": "–", "note": "", "mark": "–", "cls": ""}
    text, note = _headline(ASSERTED, t)
    splits = ", ".join(f"{name} [{capped(b['low'], RATIO_CAP)}, {capped(b['high'], RATIO_CAP)}]" for name, b in t["splits"].items())
    return {"text": text, "note": f"{note}; {splits}; the rule would read {SHORT.get(t['outcome'], t['outcome'])}",
            "mark": MARK.get(t["outcome"], "?"), "cls": ""}


def _sigmas(layers: dict[int, dict]) -> str:
    """Where the rule holds at single σ: "L1 (×0.5, ×1), L3 (×1)" ("no layer" where nowhere); "" without readings."""
    readings = {layer: ((rec.get(ASSERTED) or {}).get("per σ") or []) for layer, rec in sorted(layers.items())}
    if not any(readings.values()):
        return ""
    held = {layer: [f"×{r['scale']:g}" for r in rs if r["outcome"] == "holds"] for layer, rs in readings.items()}
    hit = [f"L{layer} ({', '.join(scales)})" for layer, scales in held.items() if scales]
    return f"; at one σ alone (readings, not the verdict) the rule holds at {', '.join(hit) if hit else 'no layer'}"


def _headline(name: str, t: dict) -> tuple[str, str]:
    """(figure, interval) of one tier for a cell."""
    if name == "paper form":
        return (f"ratio {fmt(t['ratio'], 3)}", f"[{fmt(t['low'], 3)}, {fmt(t['high'], 3)}]; "
                f"of MMD (√): {fmt(_root(t['ratio']), 3)} [{fmt(_root(t['low']), 3)}, {fmt(_root(t['high']), 3)}]")
    if name == "separability":
        return f"AUC {fmt(t['cross'], 3)}, Δ {fmt(t['delta'], 2)}", f"Δ ≥ {fmt(t['delta_low'], 2)}"
    if name == "out of support":
        return f"{fmt(t['image_outside'], 2)} vs {fmt(t['text_outside'], 2)}", f"Δ {fmt(t['delta'], 2)} ≥ {fmt(t['delta_low'], 2)}"
    ratio = f"ratio {fmt(t['point'], 3)}" if t.get("estimable", True) else f"ratio {fmt(t['point'], 3)} (not estimable)"
    return ratio, f"≥ {fmt(t['low'], 3)} ({t['binding'] or 'no split'})"


def _root(ratio: float) -> float:
    """The paper-form ratio read as a ratio of MMDs instead of MMD²s (the paper's 0.408 vs ~0.012 may be
    either): its square root where it is ≥ 0, else nan."""
    return ratio ** 0.5 if extras.finite(ratio) is not None and ratio >= 0 else float("nan")


def _cell(name: str, record: dict | None) -> dict:
    t = (record or {}).get(name)
    if not t:
        return {"text": "–", "note": "", "mark": "–", "cls": ""}
    text, note = _headline(name, t)
    if name == ASSERTED:
        verdict = record["verdict"]
        mark = MARK.get(verdict, "?")
        return {"text": text, "note": note + f"; {SHORT.get(verdict, verdict)}", "mark": mark, "cls": "v-holds" if verdict == "holds" else "v-expected"}
    met = tier_claim(name, t)
    return {"text": text, "note": note, "mark": "–" if met is None else ("●" if met else "○"), "cls": ""}


def _head_text(row: str, h: dict) -> tuple[str, bool]:
    """(a head's figure in a `row` cell, whether the row's claim is met on it)."""
    nan = float("nan")
    if row == "per head":
        return f"h{h['head']} {fmt(h['ratio'], 3)} ≥ {fmt(h['ratio_low'], 3)}", h["verdict"] == "holds"
    if row == "per head: separability":
        low = h.get("auc_delta_low", nan)
        return f"h{h['head']} AUC {fmt(h.get('auc', nan), 3)}, Δ ≥ {fmt(low, 2)}", bool(h.get("splits")) and low > 0.0
    low = h.get("outside_delta_low", nan)
    return (f"h{h['head']} {fmt(h.get('image_outside', nan), 2)} vs {fmt(h.get('text_outside', nan), 2)}, Δ ≥ {fmt(low, 2)}",
            bool(h.get("splits")) and low > 0.0)


def _head_cell(row: str, record: dict | None) -> dict:
    t = (record or {}).get("per head") or {}
    heads = t.get("by_head") or []
    if not heads:
        return {"text": "–", "note": t.get("note", ""), "mark": "–", "cls": ""}
    cells = [_head_text(row, h) for h in heads]
    met = sum(ok for _, ok in cells)
    claim = "the rule holds" if row == "per head" else "the claim beyond every split is met"
    return {"text": "; ".join(text for text, _ in cells), "note": f"{claim} at {met} of {len(heads)} heads of the {_noun(t.get('kind'))}",
            "mark": f"{met}/{len(heads)}", "cls": ""}


def _noun(kind) -> str:
    """The per-head record's kind in words ("rotated keys"); "vectors" where it names none this version knows."""
    return WORDS[kind].noun if kind in WORDS else "vectors"


def tier_tables(results: Sequence[TripleResult]) -> list[dict]:
    """One table per (model, benchmark): rows = tiers (the asserted one marked), columns = layers."""
    by: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    kept: dict[tuple[str, str], list[TripleResult]] = defaultdict(list)
    for r in results:
        tiers = r.tiers
        if extras.control(r) is None and r.status != "error" and tiers is not None:
            by[(r.model, r.benchmark)][r.layer] = tiers.to_dict()
            kept[(r.model, r.benchmark)].append(r)
    tables = []
    for (model, bench), layers in sorted(by.items()):
        order, what = sorted(layers), noun(kept[(model, bench)])
        asked = questions(what)
        rows = [{"tier": name, "asserted": name == ASSERTED, "question": asked[name],
                 "cells": [_cell(name, layers[layer]) for layer in order]} for name in ORDER]
        if any((layers[layer].get(ASSERTED) or {}).get("per σ") for layer in order):
            rows.append({"tier": SIGMA_ROW, "asserted": False, "question": asked[SIGMA_ROW],
                         "cells": [_sigma_cell(layers[layer]) for layer in order]})
        if any((layers[layer].get(ASSERTED) or {}).get("by-benchmark bounded") for layer in order):
            rows.append({"tier": BENCH_ROW, "asserted": False, "question": asked[BENCH_ROW],
                         "cells": [_bench_cell(layers[layer]) for layer in order]})
        if any((layers[layer].get("per head") or {}).get("by_head") for layer in order):
            rows += [{"tier": row, "asserted": False, "question": asked[row],
                      "cells": [_head_cell(row, layers[layer]) for layer in order]} for row in HEAD_ROWS]
        tables.append({"model": model, "benchmark": bench, "layers": [f"L{layer}" for layer in order], "rows": rows,
                       "sentence": sentence(model, bench, layers, what, scope(kept[(model, bench)]))})
    return tables


def _where(layers: dict[int, dict], test) -> str:
    hit = [f"L{layer}" for layer, rec in sorted(layers.items()) if test(rec)]
    return ", ".join(hit) if hit else "no layer"


def _heads(layers: dict[int, dict], what: str) -> str:
    """Where the per-head figures meet each claim: "the rule holds at L1 h0; separable ... at ...; outside ... at ..."."""
    def at(key: str) -> str:
        hit = [f"L{layer} h{h}" for layer, rec in sorted(layers.items()) for h in (rec.get("per head") or {}).get(key) or []]
        return ", ".join(hit) if hit else "no head"
    return (f"the rule holds at {at('holds_at')}, separable beyond every split at {at('separable_at')}, "
            f"outside the text {what}' support beyond every split at {at('outside_at')}")


def sentence(model: str, bench: str, layers: dict[int, dict], what: str = "keys", head: str = "") -> str:
    """What holds in which tier, for one model on one benchmark (`what`: the captured vectors, plural; `head`:
    captured.scope, what else they measured, e.g. one head's slice; "" for nothing else)."""
    def met(name):
        return lambda rec: tier_claim(name, rec.get(name) or {}) is True
    verdicts = defaultdict(list)
    for layer, rec in sorted(layers.items()):
        verdicts[SHORT.get(rec["verdict"], rec["verdict"])].append(f"L{layer}")
    said = "; ".join(f"{v} at {', '.join(ls)}" for v, ls in sorted(verdicts.items()))
    per_head = f"; per head (figures), {_heads(layers, what)}" if any(
        (rec.get("per head") or {}).get("by_head") for rec in layers.values()) else ""
    if any((rec.get(ASSERTED) or {}).get("by-benchmark bounded") for rec in layers.values()) and (per_head or _sigmas(layers)):
        per_head += " (single-σ and per-head readings compare within the benchmark: the by-benchmark check is not in them)"
    return (f"{model} on {bench}{f' ({head})' if head else ''}: kernel mean (the verdict) {said}; separable beyond every real split at "
            f"{_where(layers, met('separability'))}; out of the text {what}' support beyond every split at "
            f"{_where(layers, met('out of support'))}; the paper's token-level form exceeds its random halves at "
            f"{_where(layers, met('paper form'))} (a replication, not evidence){_sigmas(layers)}{per_head}.")
