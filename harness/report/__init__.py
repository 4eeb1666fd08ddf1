"""Report rendering: console table (tabulate) and the self-contained HTML report (jinja2)."""

from .console import console_table
from .html import render_report

__all__ = ["console_table", "render_report"]
