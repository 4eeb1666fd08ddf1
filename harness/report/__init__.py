"""Report rendering: console table (tabulate) and the self-contained HTML report (jinja2)."""

from .console import console_table
from .html import render_html, render_report
from harness.results.meta import meta_path, read_run_info, write_run_info

__all__ = ["console_table", "meta_path", "read_run_info", "render_html", "render_report", "write_run_info"]
