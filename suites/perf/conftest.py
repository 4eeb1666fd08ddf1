"""Timing runs: declared as the `perf` marker and skipped unless asked for with `-m perf`."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "perf: timing comparison (run with -m perf)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "perf" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="timing run; select it with -m perf")
    for item in items:
        if "perf" in item.keywords:
            item.add_marker(skip)
