"""The jinja2 environment of every report page: the package's templates, autoescape on."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
