"""Behaviour beside geometry: the text-bias probe figures some triples carry (extra["text_bias"], organisms only)."""

from __future__ import annotations

from typing import Sequence

from harness.results.records import TripleResult

from .extras import finite

FIGURES = ("accuracy", "hinted_accuracy", "follows_hint", "text_reading", "chance")


def text_bias_rows(real: Sequence[TripleResult]) -> list[dict]:
    """One row per model whose triples carry the probe: n and the figures (None where absent or malformed)."""
    rows: dict[str, dict] = {}
    for r in real:
        probe = r.text_bias
        if r.model in rows or probe is None:
            continue
        rows[r.model] = {"model": r.model, "n": probe.n, **{k: finite(getattr(probe, k)) for k in FIGURES}}
    return [rows[m] for m in sorted(rows)]
