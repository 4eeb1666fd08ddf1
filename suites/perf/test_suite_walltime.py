"""Wall time of the whole default offline suite, as a user runs it, on this machine.

    python -m pytest suites/ -p no:cacheprovider --ks-cache <fresh tmp dir>

in a subprocess (a fresh cache, so capture is timed too), beside the bare start-up cost
`python -c "import harness.plugin"` measured in the same run. Goal: ≤ 3 min on a 2-core machine.

    pytest suites/perf/test_suite_walltime.py -m perf -p no:cacheprovider
    python -m suites.perf.test_suite_walltime                      # prints the figures (from the repository root)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.perf.workloads import SUITE_GOAL_S, suite_walltime

pytestmark = pytest.mark.perf

ROOT = Path(__file__).resolve().parents[2]  # the checkout whose suite is timed


def test_default_suite_walltime(benchmark):
    out = benchmark.pedantic(suite_walltime, args=(ROOT,), rounds=1, iterations=1)
    benchmark.extra_info.update(out)


if __name__ == "__main__":
    f = suite_walltime(ROOT)
    print(f"default suite: {f['suite_s']:.1f} s wall (goal ≤ {SUITE_GOAL_S:.0f} s), plugin import alone {f['startup_s']:.2f} s, "
          f"ratio {f['ratio']:.0f}x; {f['summary']}")
