"""openTSNE against scikit-learn's TSNE inside `tsne_2d`, at equal iterations and equal threads, per size.

Both backends run through `harness.stats.projection.tsne_2d` on the same input (the Gaussian blobs of
`harness.perf.workloads.tsne_data`, 50-d), so both get the same StandardScaler → PCA pipeline, the same
perplexity, 250 early-exaggeration iterations and `--n-iter` after them, and `--threads` threads (BLAS and
OpenMP limited through threadpoolctl, `n_jobs` = threads). Each size is measured in `--rounds` rounds,
the two backends alternating which goes first; a figure is the median over rounds, in CPU seconds of
the process (on one thread the work done, which a shared machine inflates far less than wall time)
and in wall seconds. Beside each: the map's trustworthiness (k = 10, exact over all points). The load
average (`uptime`'s 1-minute figure) is recorded before and after: the machine may be shared.

    OMP_NUM_THREADS=1 nice -n 5 python -m suites.perf.tsne_backends --update PERFORMANCE.md
    python -m suites.perf.tsne_backends --sizes 600 --n-iter 250       # the harness's own map
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from harness.perf.document import update_section

TITLE = "t-SNE backends"
SIZES, N_ITER, ROUNDS, THREADS, TRUST_K = (500, 1000, 1500, 2500, 3500, 5000), 500, 3, 1, 10
BACKENDS = ("openTSNE", "sklearn")


def _one(backend: str, n: int, n_iter: int, threads: int) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, trustworthiness) of one map of n blob points."""
    from threadpoolctl import threadpool_limits

    from harness.perf.workloads import tsne_data
    from harness.stats.projection import trustworthiness, tsne_2d

    x, labels = tsne_data(n)
    with threadpool_limits(limits=threads):
        cpu, wall = time.process_time(), time.perf_counter()
        proj = tsne_2d(x, labels, seed=0, cap=n, backend=backend, n_iter=n_iter, n_jobs=threads)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if proj.method != backend:
        raise RuntimeError(f"asked for {backend}, tsne_2d ran {proj.method}")
    return cpu, wall, trustworthiness(x[proj.kept_index], proj.points, n_neighbors=TRUST_K)


def measure(sizes=SIZES, *, n_iter: int = N_ITER, rounds: int = ROUNDS, threads: int = THREADS) -> dict:
    """Median CPU and wall seconds and trustworthiness per (size, backend), sklearn's over openTSNE's, and the load."""
    for backend in BACKENDS:  # warm-up: imports and first-call costs stay out of the figures
        _one(backend, 60, 10, threads)
    load_start = os.getloadavg()[0]
    raw: dict = {(n, b): [] for n in sizes for b in BACKENDS}
    for r in range(rounds):
        for n in sizes:
            for backend in (BACKENDS if r % 2 == 0 else BACKENDS[::-1]):
                raw[(n, backend)].append(_one(backend, n, n_iter, threads))
                print(f"round {r} {n} {backend}: {raw[(n, backend)][-1]}", file=sys.stderr, flush=True)
    rows = []
    for n in sizes:
        cpu = {b: statistics.median(c for c, _, _ in raw[(n, b)]) for b in BACKENDS}
        wall = {b: statistics.median(w for _, w, _ in raw[(n, b)]) for b in BACKENDS}
        rows.append({"points": n, **{f"{b}_cpu": cpu[b] for b in BACKENDS}, **{f"{b}_wall": wall[b] for b in BACKENDS},
                     **{f"{b}_trust": raw[(n, b)][0][2] for b in BACKENDS},  # the same seed gives the same map every round
                     "cpu_ratio": cpu["sklearn"] / cpu["openTSNE"], "wall_ratio": wall["sklearn"] / wall["openTSNE"]})
    return {"rows": rows, "n_iter": n_iter, "rounds": rounds, "threads": threads, "dim": 50,
            "load_start": load_start, "load_end": os.getloadavg()[0]}


def section(figures: dict) -> str:
    """The figures as the markdown of PERFORMANCE.md's t-SNE backends section."""
    lines = [
        f"`tsne_2d` with each backend on the same 50-d blobs, 250 early-exaggeration iterations and {figures['n_iter']} "
        f"after them on both, {figures['threads']} thread(s) each (threadpoolctl and `n_jobs`); median of "
        f"{figures['rounds']} rounds, the backends alternating which runs first; trustworthiness k = {TRUST_K} over all "
        f"points. Load average (`uptime`, 1 minute, 2 shared cores): {figures['load_start']:.1f} at the start, "
        f"{figures['load_end']:.1f} at the end.",
        "",
        "| points | openTSNE CPU | scikit-learn CPU | scikit-learn / openTSNE, CPU | wall, openTSNE / scikit-learn | "
        "scikit-learn / openTSNE, wall | trustworthiness openTSNE | trustworthiness scikit-learn | faster (CPU) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in figures["rows"]:
        faster = "openTSNE" if r["cpu_ratio"] > 1 else "scikit-learn"
        lines.append(f"| {r['points']:,} | {r['openTSNE_cpu']:.2f} s | {r['sklearn_cpu']:.2f} s | {r['cpu_ratio']:.2f} | "
                     f"{r['openTSNE_wall']:.2f} s / {r['sklearn_wall']:.2f} s | {r['wall_ratio']:.2f} | "
                     f"{r['openTSNE_trust']:.4f} | {r['sklearn_trust']:.4f} | {faster} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m suites.perf.tsne_backends", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help=f"comma-separated point counts (default: {SIZES})")
    p.add_argument("--n-iter", type=int, default=N_ITER, help=f"iterations after early exaggeration, both backends (default: {N_ITER})")
    p.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds per size; the median is reported (default: {ROUNDS})")
    p.add_argument("--threads", type=int, default=THREADS, help=f"threads of each backend (default: {THREADS})")
    p.add_argument("--update", type=Path, default=None, metavar="PERFORMANCE.md",
                   help="write the table into this file's section (its hand-written notes are kept)")
    args = p.parse_args(argv)
    try:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    except ValueError:
        p.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if min(sizes) < 60 or args.n_iter < 1 or args.rounds < 1 or args.threads < 1:
        p.error("--sizes must be >= 60 points; --n-iter, --rounds and --threads >= 1")
    body = section(measure(sizes, n_iter=args.n_iter, rounds=args.rounds, threads=args.threads))
    print(body)
    if args.update:
        args.update.write_text(update_section(args.update.read_text(encoding="utf-8"), TITLE, body), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
