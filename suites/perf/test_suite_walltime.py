"""Wall time of the whole default offline suite, as a user runs it, on this machine.

    python -m pytest suites/ -p no:cacheprovider --ks-cache <fresh tmp dir>

in a subprocess (a fresh cache, so capture is timed too), beside the bare start-up cost
`python -c "import harness.plugin"` measured in the same run. Goal: ≤ 3 min on a 2-core machine.

    pytest suites/perf/test_suite_walltime.py -m perf -p no:cacheprovider
    PYTHONPATH=. python suites/perf/test_suite_walltime.py        # prints the figures
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.perf

ROOT = Path(__file__).resolve().parents[2]
GOAL_S = 180.0


def _timed(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, done


def suite_walltime() -> dict:
    """Seconds of the default suite (fresh cache) and of the plugin import alone, and the suite's summary line."""
    startup_s, _ = _timed([sys.executable, "-c", "import harness.plugin"], ROOT)
    with tempfile.TemporaryDirectory(prefix="ks-perf-") as tmp:
        cmd = [sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider", "--ks-cache", tmp,
               "--ks-results", f"{tmp}/results.jsonl", "--ks-report", f"{tmp}/report.html"]
        suite_s, done = _timed(cmd, ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"default suite failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    return {"suite_s": suite_s, "startup_s": startup_s, "ratio": suite_s / startup_s, "summary": summary,
            "command": "python -m pytest suites/ -q -p no:cacheprovider --ks-cache <fresh tmp dir>"}


def test_default_suite_walltime(benchmark):
    out = benchmark.pedantic(suite_walltime, rounds=1, iterations=1)
    benchmark.extra_info.update(out)


if __name__ == "__main__":
    f = suite_walltime()
    print(f"default suite: {f['suite_s']:.1f} s wall (goal ≤ {GOAL_S:.0f} s), plugin import alone {f['startup_s']:.2f} s, "
          f"ratio {f['ratio']:.0f}x; {f['summary']}")
