"""The terminal summary table printed at the end of every session."""

from __future__ import annotations

from typing import Sequence

from tabulate import tabulate

from harness.results import TripleResult


def console_table(results: Sequence[TripleResult]) -> str:
    rows = [
        (r.model, r.layer, r.benchmark, r.status, r.n_image, r.n_text, r.mmd2, r.p_value,
         max(r.intra.values()) if r.intra else float("nan"), r.ratio, r.threshold, f"{r.seconds:.2f}")
        for r in sorted(results, key=lambda r: (r.model, r.benchmark, r.layer))
    ]
    headers = ("model", "layer", "benchmark", "status", "n_img", "n_txt", "MMD²", "p", "max intra", "ratio", "thr", "s")
    return tabulate(rows, headers=headers, floatfmt=".4g")
