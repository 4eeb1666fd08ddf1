"""Render the HTML report from typed results with jinja2 (autoescape on; templates compute nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.results import TripleResult

from .view import report_view


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(results: Sequence[TripleResult], path: Path, *, run_info: dict | None = None) -> Path:
    html = environment().get_template("report.html.j2").render(view=report_view(results, run_info or {}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
