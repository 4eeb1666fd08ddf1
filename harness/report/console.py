"""The terminal summary table printed at the end of every session (and by `python -m harness report`)."""

from __future__ import annotations

from typing import Sequence

from tabulate import tabulate

from harness.results.records import TripleResult

from . import extras
from .table import capped, fmt
from .verdicts import triple_verdict


def _ratio(r: TripleResult) -> str:
    """The ratio, with its bootstrap interval in brackets when the result has one."""
    ci = r.ratio_interval
    if ci is None:
        return fmt(r.ratio, 4)
    return capped(r.ratio, ci.cap, 4) + f" [{capped(ci.low, ci.cap)}, {capped(ci.high, ci.cap)}]"


def console_table(results: Sequence[TripleResult]) -> str:
    """One row per triple, controls last: verdict, sizes, MMD², p, strongest baseline, ratio [interval]."""
    ordered = sorted(results, key=lambda r: (extras.control(r) is not None, r.model, r.benchmark, r.layer))
    has_controls = any(extras.control(r) for r in ordered)
    rows = []
    for r in ordered:
        row = [r.model, r.layer, r.benchmark]
        if has_controls:
            row.append(extras.control(r) or "")
        row += [triple_verdict(r).label, r.n_image, r.n_text, fmt(r.mmd2), fmt(r.p_value, 3), fmt(extras.max_intra(r)),
                _ratio(r), fmt(r.threshold, 3), f"{r.seconds:.2f}"]
        rows.append(row)
    headers = ["model", "layer", "benchmark"] + (["control"] if has_controls else []) + [
        "verdict", "n_img", "n_txt", "MMD²", "p", "max intra", "ratio [CI]", "thr", "s"]
    text_columns = {"model", "benchmark", "control", "verdict"}
    align = ["left" if h in text_columns else "right" for h in headers]
    # Numbers are preformatted strings ("–" when missing): keep tabulate from reparsing them.
    return tabulate(rows, headers=headers, disable_numparse=True, colalign=align)
