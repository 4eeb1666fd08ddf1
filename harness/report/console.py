"""The terminal summary table printed at the end of every session (and by `python -m harness report`)."""

from __future__ import annotations

from typing import Sequence

from tabulate import tabulate

from harness.results import TripleResult

from . import extras
from .table import fmt


def _ratio(r: TripleResult) -> str:
    """The ratio, with its bootstrap interval in brackets when the result has one."""
    ci = extras.ratio_interval(r)
    return fmt(r.ratio, 4) + (f" [{fmt(ci.low, 3)}, {fmt(ci.high, 3)}]" if ci else "")


def console_table(results: Sequence[TripleResult]) -> str:
    """One row per triple, controls last: verdict, sizes, MMD², p, strongest baseline, ratio [interval]."""
    ordered = sorted(results, key=lambda r: (extras.control(r) is not None, r.model, r.benchmark, r.layer))
    has_controls = any(extras.control(r) for r in ordered)
    rows = []
    for r in ordered:
        row = [r.model, r.layer, r.benchmark]
        if has_controls:
            row.append(extras.control(r) or "")
        row += [r.status, r.n_image, r.n_text, fmt(r.mmd2), fmt(r.p_value, 3), fmt(extras.max_intra(r)),
                _ratio(r), fmt(r.threshold, 3), f"{r.seconds:.2f}"]
        rows.append(row)
    headers = ["model", "layer", "benchmark"] + (["control"] if has_controls else []) + [
        "status", "n_img", "n_txt", "MMD²", "p", "max intra", "ratio [CI]", "thr", "s"]
    text_columns = {"model", "benchmark", "control", "status"}
    align = ["left" if h in text_columns else "right" for h in headers]
    # Numbers are preformatted strings ("–" when missing): keep tabulate from reparsing them.
    return tabulate(rows, headers=headers, disable_numparse=True, colalign=align)
