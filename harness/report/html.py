"""Render the HTML report from typed results with jinja2 (autoescape on; templates compute nothing).

The report is one self-contained file: inline CSS, inline SVG figures and a few lines of inline
JavaScript (table sorting); a Content-Security-Policy forbids every fetch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from harness.intervention.results import InterventionResult
from harness.results.records import TripleResult

from .environment import environment
from .interventions import section_view
from .view import TSNE_CAP, report_view


def render_html(results: Sequence[TripleResult], *, run_info: dict | None = None, meta_note: str = "",
                tsne_cap: int = TSNE_CAP, interventions: Sequence[InterventionResult] = (),
                known: Mapping[tuple, str] = {}) -> str:
    """The report as a string; `meta_note` says why run metadata is missing when it is; `interventions`:
    the run's intervention records, shown in their own section (none: no section) and with one sentence
    per model in the Verdicts block; `known`: intervention record key → why its failure is the stored,
    expected outcome (harness.intervention.baselines.known_outcomes)."""
    view = report_view(results, run_info or {}, meta_note=meta_note, tsne_cap=tsne_cap)
    section = (section_view(interventions, known) if interventions
               else {"interventions": [], "figures": [], "intervention_verdicts": []})
    view["answer"] = [*view["answer"], *section["intervention_verdicts"]]
    return environment().get_template("report.html.j2").render(view=view, **section)


def render_report(results: Sequence[TripleResult], path: Path, *, run_info: dict | None = None,
                  meta_note: str = "", tsne_cap: int = TSNE_CAP, interventions: Sequence[InterventionResult] = (),
                  known: Mapping[tuple, str] = {}) -> Path:
    """Write the report for `results` to `path` and return the path (arguments as render_html)."""
    html = render_html(results, run_info=run_info, meta_note=meta_note, tsne_cap=tsne_cap, interventions=interventions,
                       known=known)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
