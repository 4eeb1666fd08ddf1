"""How many threads torch runs the forward passes with (`--ks-threads`).

On a machine whose cores are taken by other jobs, a second torch thread waits on a core it does not
get, and every parallel operation pays for it: measured on five of the default suite's intervention
tests (whole command) on 2 cores with one core busy, 2 threads took 1.27× the wall time of 1 thread
(34.2 s vs 27.0 s), and on an idle machine 0.96× (26.9 s vs 27.9 s; PERFORMANCE.md). So `auto` takes the cores that are free when the run starts:
the cores this process may use minus the 1-minute load average (rounded), at least 1, divided among
pytest-xdist workers; `OMP_NUM_THREADS`, when set, wins over `auto`. The statistics always run on one
thread (harness.analysis.triple), so the choice moves only the capture and intervention passes, and
keys captured with another thread count differ at most in their last bits (float reductions in
another order), well inside the stored baselines' tolerances.
"""

from __future__ import annotations

import os

from harness.errors import KeyspaceError


def parse_threads(value: str) -> int | None:
    """`--ks-threads`: "auto" (None) or a whole number ≥ 1."""
    v = str(value).strip().lower()
    if v == "auto":
        return None
    try:
        n = int(v)
    except ValueError:
        n = 0
    if n < 1:
        raise KeyspaceError(f"--ks-threads: {value!r} is not a thread count; give auto or a whole number ≥ 1")
    return n


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def choose(requested: int | None, *, workers: int = 1, cores: int | None = None, load: float | None = None,
           env: str | None = None) -> tuple[int, str]:
    """(threads, why) for one process of the run; `workers`: processes sharing the machine (xdist)."""
    if requested is not None:
        return requested, f"{requested} (--ks-threads)"
    env = os.environ.get("OMP_NUM_THREADS") if env is None else env
    if env and env.strip().isdigit() and int(env) >= 1:
        return int(env), f"{int(env)} (OMP_NUM_THREADS)"
    cores = usable_cores() if cores is None else cores
    load = os.getloadavg()[0] if load is None and hasattr(os, "getloadavg") else (load or 0.0)
    free = max(1, cores - int(round(load)))
    n = max(1, free // max(1, workers))
    return n, f"{n} (auto: {cores} cores, load {load:.1f}, {free} free" + (f", {workers} workers" if workers > 1 else "") + ")"
