"""Everything the template shows, computed here (templates compute nothing)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

from harness.results import TripleResult


def fmt(x: float, digits: int = 4) -> str:
    if isinstance(x, (int,)) and not isinstance(x, bool):
        return str(x)
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}g}"


def report_view(results: Sequence[TripleResult], run_info: dict) -> dict:
    ordered = sorted(results, key=lambda r: (r.model, r.benchmark, r.layer))
    verdicts: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0, "error": 0})
    for r in ordered:
        verdicts[r.model][r.status] += 1
    by_benchmark: dict[str, list[dict]] = defaultdict(list)
    for r in ordered:
        by_benchmark[r.benchmark].append(
            {
                "model": r.model, "layer": r.layer, "status": r.status,
                "n_image": r.n_image, "n_text": r.n_text, "mmd2": fmt(r.mmd2), "mmd": fmt(r.mmd),
                "p_value": fmt(r.p_value, 3), "intra": ", ".join(f"{k} {fmt(v, 3)}" for k, v in r.intra.items()),
                "ratio": fmt(r.ratio, 3), "threshold": fmt(r.threshold, 3), "seconds": f"{r.seconds:.2f}",
                "message": r.message,
            }
        )
    return {
        "title": "keyspace report",
        "run": run_info,
        "verdicts": [{"model": m, **v} for m, v in verdicts.items()],
        "benchmarks": [{"name": b, "rows": rows} for b, rows in by_benchmark.items()],
    }
