"""The harness beside the libraries a user would otherwise pick, measured side by side in one run.

    nice -n 10 $PEERS_VENV/bin/python -m suites.perf.peers --json peers.json    # everything (~30 min on 2 cores)
    python -m suites.perf.peers --only mmd --sizes 2000                                # a part

1. Two-sample MMD test with 1000 permutations, RBF kernel at one bandwidth σ (the harness's median
   heuristic, computed once per size and given to every peer): the harness's cross-modal test (the
   between-prompt MMD² and its prompt-level sign-flip test, `harness.stats.between`; see
   `harness_mmd` below: the one place to change when its signature changes), and, in a row of its
   own, the whole `harness.stats.cross_modal_gap` (the same test plus the intra-modal baselines, the
   noise floor and the 200-replicate bootstrap); the harness's token-level `mmd_test` (100 and 1000
   permutations: the peers' own work, the like-with-like baseline); alibi-detect's PyTorch `MMDDrift`
   (1000 permutations and its default 100) and torch-two-sample's `MMDStatistic` + `pval`, at 2 × 2000 × 128 and
   2 × 10000 × 128. The data: prompts holding 50 image (x) and 50 text (y) tokens each (40 prompts
   at 2000 tokens per side, 200 at 10000), one offset per prompt shared by its image and text tokens
   (sd 0.3), token noise sd 1, y shifted by 0.05 in every coordinate. The peers test tokens as if
   independent and compute the token-level U-statistic; their MMD² is compared with the harness's
   token-level `mmd2_unbiased` on the same data (computed outside the timed call), while the
   harness's reported figure is the between-prompt MMD² (a different estimand when prompts matter).
2. t-SNE: openTSNE against scikit-learn's TSNE, at 600, 5000 and 20000 points, both single-threaded,
   750 iterations each (250 with early exaggeration), from the same StandardScaler → PCA-50 input (the harness's pipeline),
   with trustworthiness (10 neighbours; exact up to 5000 points, above that the mean over 2000
   seeded query points of the same sum).

Each measurement runs in a fresh child process (same seeded data), so its peak memory is its own:
the child's peak resident set minus its resident set just before the timed call. A peer's
measurement over --timeout seconds (default 300; the harness, the baseline of every ratio, gets 4×)
is killed and recorded as a timeout with that bound; a test with more permutations is then not
started either, and is recorded with the same bound.
Ratios are each peer's seconds over the harness's in the same run, in two comparisons kept apart
(suites/perf/peers_table.py): the same work (token-level against the harness's token-level test) and
different work (token-level against the harness's prompt-level test).

The peers are installed only in a separate benchmark environment, never as project dependencies,
and without touching the shared torch or numpy:

    python3 -m venv --system-site-packages $PEERS_VENV    # any directory of yours
    $PEERS_VENV/bin/pip install --no-deps alibi-detect numba llvmlite catalogue toml
    git clone https://github.com/josipd/torch-two-sample && cd torch-two-sample    # not on PyPI
    sed -i "s/        'pytest-runner',//" setup.py
    $PEERS_VENV/bin/pip install cython wheel
    $PEERS_VENV/bin/pip install --no-deps --no-build-isolation .
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from harness.perf.document import replace_section
from suites.perf.peers_setup import (
    BOOT, DIM, HARNESS_TESTS, MMD_PEERS, MMD_SIZES, PERMS, SHIFT, TOKENS_PER_PROMPT, TSNE_ITER, TSNE_PEERS, TSNE_SIZES,
    TSNE_TOKENS_PER_PROMPT,
)
from suites.perf.peers_table import TITLE, section

ROOT = Path(__file__).resolve().parents[2]  # the checkout: the children run `python -m suites.perf.peers` from it


# -- data (the same in every child) -------------------------------------------------------------
def mmd_data(n: int, seed: int = 0):
    """x (image), y (text) [n, DIM] float32 and the prompt id of each row (the same for both):
    n // TOKENS_PER_PROMPT prompts, each holding TOKENS_PER_PROMPT rows of x and of y that share
    the prompt's offset (sd 0.3); token noise sd 1; y's mean shifted by SHIFT in every coordinate."""
    import numpy as np

    rng = np.random.default_rng(seed)
    prompts = np.repeat(np.arange(n // TOKENS_PER_PROMPT), TOKENS_PER_PROMPT)
    offsets = rng.normal(0, 0.3, (n // TOKENS_PER_PROMPT, DIM))

    def draw(shift: float):
        return (offsets[prompts] + rng.normal(0, 1, (n, DIM)) + shift).astype(np.float32)

    return draw(0.0), draw(SHIFT), prompts


def tsne_data(n: int, seed: int = 0):
    """PCA-50 input as the harness feeds t-SNE: 3 modality clusters of 128-d keys with per-prompt offsets."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[0.55, 0.35, 0.10])
    centres = rng.normal(0, 2.0, (3, DIM))
    prompts = rng.integers(0, max(n // TSNE_TOKENS_PER_PROMPT, 1), size=n)
    offsets = rng.normal(0, 0.5, (prompts.max() + 1, DIM))
    x = centres[labels] + offsets[prompts] + rng.normal(0, 1, (n, DIM))
    z = StandardScaler().fit_transform(x)
    return PCA(n_components=50, random_state=seed).fit_transform(z)


# -- the measured calls ---------------------------------------------------------------------------
def harness_mmd(x, y, prompts_x, prompts_y, sigma: float, permutations: int) -> tuple[float, float]:
    """(between-prompt MMD², p) of the harness's cross-modal test as `cross_modal_gap` runs it: one
    pooled kernel summed over (prompt, side) cells, then the sign-flip test over prompts."""
    import numpy as np
    import torch

    from harness.stats import CellGram, Comparison, sign_flip_test

    _, unit = np.unique(np.concatenate([prompts_x, prompts_y]), return_inverse=True)
    unit = unit.ravel()
    cell = unit * 2 + np.r_[np.zeros(len(prompts_x), np.int64), np.ones(len(prompts_y), np.int64)]
    n_units = int(unit.max()) + 1
    gram = CellGram(torch.cat([torch.from_numpy(x), torch.from_numpy(y)]), cell, 2 * n_units, sigma)
    cells = np.arange(2 * n_units)
    cross = Comparison.build(gram, cells // 2, cells % 2 == 0, cells % 2 == 1, n_units, paired=True)
    observed, null = sign_flip_test(cross, permutations=permutations, seed=0)
    return observed, (1.0 + float((null >= observed).sum())) / (1.0 + len(null))


def harness_gap(x, y, prompts_x, prompts_y, sigma: float, permutations: int) -> tuple[float, float]:
    """(between-prompt MMD², p) of the whole `cross_modal_gap`: the test, the intra-modal baselines
    (position halves: no labels here), the noise floor and the BOOT-replicate bootstrap."""
    from harness.stats import Side, cross_modal_gap

    r = cross_modal_gap(Side(x, prompts_x), Side(y, prompts_y), sigma=sigma, permutations=permutations, n_boot=BOOT, seed=0)
    return r.mmd2, r.p_value


def harness_token_mmd(x, y, sigma: float, permutations: int) -> tuple[float, float]:
    """(token-level MMD², p) of the harness's `mmd_test`: the peers' own work (tokens permuted as if independent)."""
    from harness.stats import mmd_test

    r = mmd_test(x, y, permutations=permutations, seed=0, bandwidth=sigma)
    return r.mmd2, r.p_value


def alibi_mmd(x, y, sigma: float, permutations: int) -> tuple[float, float]:
    import numpy as np
    from alibi_detect.cd import MMDDrift

    # alibi's GaussianRBF is exp(-||a - b||² / (2 σ²)), the harness's convention
    cd = MMDDrift(x, backend="pytorch", p_val=0.05, sigma=np.array([sigma], dtype=np.float32),
                  configure_kernel_from_x_ref=False, n_permutations=permutations, device="cpu")
    out = cd.predict(y)["data"]
    return float(out["distance"]), float(out["p_val"])


def tts_mmd(x, y, sigma: float, permutations: int) -> tuple[float, float]:
    import torch
    from torch_two_sample import MMDStatistic

    stat = MMDStatistic(len(x), len(y))
    value, matrix = stat(torch.from_numpy(x), torch.from_numpy(y), alphas=[1.0 / (2 * sigma**2)], ret_matrix=True)
    return float(value), float(stat.pval(matrix, n_permutations=permutations))


def run_mmd(peer: str, n: int, sigma: float) -> dict:
    import torch  # noqa: F401  imports stay out of the timed call
    if peer in HARNESS_TESTS:
        import harness.stats  # noqa: F401
    elif peer.startswith("alibi"):
        import alibi_detect.cd  # noqa: F401
    else:
        import torch_two_sample  # noqa: F401
    x, y, prompts = mmd_data(n)
    if peer.startswith("harness"):
        run = harness_mmd if peer == "harness" else harness_gap
        call = lambda: run(x, y, prompts, prompts, sigma, PERMS)  # noqa: E731
    elif peer.startswith("token"):
        call = lambda: harness_token_mmd(x, y, sigma, int(peer.split("-")[1]))  # noqa: E731
    elif peer.startswith("alibi"):
        call = lambda: alibi_mmd(x, y, sigma, int(peer.split("-")[1]))  # noqa: E731
    else:
        call = lambda: tts_mmd(x, y, sigma, int(peer.split("-")[1]))  # noqa: E731
    figures = _timed(call, ("mmd2", "p"))
    if peer == "harness":  # the token-level U-statistic the peers compute, outside the timed call
        from harness.stats import mmd2_unbiased

        figures["token_mmd2"] = mmd2_unbiased(x, y, sigma=sigma)
    return figures


def run_tsne(peer: str, n: int) -> dict:
    import numpy as np

    z = tsne_data(n)
    if peer == "openTSNE":
        from openTSNE import TSNE

        call = lambda: np.asarray(TSNE(n_components=2, perplexity=30, random_state=0, n_jobs=1, verbose=False,  # noqa: E731
                                       early_exaggeration_iter=250, n_iter=TSNE_ITER - 250).fit(z))
    else:
        from sklearn.manifold import TSNE

        # max_iter counts the early-exaggeration iterations too; its default (1000) would be unequal work
        call = lambda: TSNE(n_components=2, perplexity=30, random_state=0, init="pca", n_jobs=1,  # noqa: E731
                            max_iter=TSNE_ITER).fit_transform(z)
    figures = _timed(lambda: (call(),), ("points",))
    figures["trustworthiness"] = trust(z, figures.pop("points"))
    return figures


def _timed(call, names: tuple[str, ...]) -> dict:
    import psutil

    before = psutil.Process().memory_info().rss
    start = time.perf_counter()
    values = call()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "peak_GB": max(peak - before, 0) / 1e9, **dict(zip(names, values))}


def trust(x, points, k: int = 10, queries: int = 2000, exact_up_to: int = 5000) -> float:
    """Trustworthiness (Venna & Kaski; sklearn's definition): exact up to 5000 points, else its
    sum estimated over `queries` seeded query points (each term is one point's penalty)."""
    import numpy as np

    n = len(x)
    if n <= exact_up_to:
        from harness.stats import trustworthiness

        return float(trustworthiness(x, points, n_neighbors=k))
    rng = np.random.default_rng(0)
    penalty = 0.0
    for i in rng.choice(n, size=min(queries, n), replace=False):
        high = ((x - x[i]) ** 2).sum(1)
        high[i] = np.inf
        rank = np.empty(n, dtype=np.int64)
        rank[np.argsort(high, kind="stable")] = np.arange(1, n + 1)  # 1 = nearest in the input
        low = ((points - points[i]) ** 2).sum(1)
        low[i] = np.inf
        near = np.argpartition(low, k)[:k]  # the map's k nearest
        penalty += np.maximum(rank[near] - k, 0).sum()
    penalty *= n / min(queries, n)
    return float(1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * penalty)


# -- driver ---------------------------------------------------------------------------------------
def _child(args: list[str], timeout: float) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    try:
        out = subprocess.run([sys.executable, "-m", "suites.perf.peers", *args], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout_s": timeout}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["exit status %d" % out.returncode])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def sigma_for(n: int) -> float:
    from harness.stats import median_bandwidth

    x, y, _ = mmd_data(n)
    return float(median_bandwidth(x, y, seed=0))


def drive(only: str, mmd_sizes, tsne_sizes, timeout: float) -> dict:
    figures: dict = {"mmd": {}, "tsne": {}, "timeout_s": timeout, "threads": os.environ.get("OMP_NUM_THREADS"),
                     "tsne_iterations": {peer: TSNE_ITER for peer in TSNE_PEERS},
                     "load_average_start": os.getloadavg()[0]}
    if only in ("all", "mmd"):
        for n in mmd_sizes:
            sigma = sigma_for(n)
            row = figures["mmd"][str(n)] = {"sigma": sigma}
            for peer in MMD_PEERS:
                if peer == "alibi-1000" and "timeout_s" in row.get("alibi-100", {}):
                    row[peer] = {"timeout_s": timeout, "not_run": "100 permutations already exceeded the bound"}
                    continue
                # the harness is the baseline of every ratio: it gets 4× the bound, so a loaded machine still measures it
                row[peer] = _child(["--child", "mmd", peer, str(n), repr(sigma)], timeout * (4 if peer in HARNESS_TESTS else 1))
                row[peer]["load_average"] = os.getloadavg()[0]
                print(f"mmd {n} {peer}: {row[peer]}", file=sys.stderr, flush=True)
    if only in ("all", "tsne"):
        for n in tsne_sizes:
            row = figures["tsne"][str(n)] = {}
            for peer in TSNE_PEERS:
                row[peer] = _child(["--child", "tsne", peer, str(n)], timeout)
                row[peer]["load_average"] = os.getloadavg()[0]
                print(f"tsne {n} {peer}: {row[peer]}", file=sys.stderr, flush=True)
    figures["load_average_end"] = os.getloadavg()[0]  # the machine is shared: ratios, not seconds, compare
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m suites.perf.peers", description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=("all", "mmd", "tsne"), default="all")
    p.add_argument("--sizes", default=None, help="comma-separated sizes for the part run (default: the preset ones)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before a measurement is recorded as a timeout (default: 300)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--update", type=Path, default=None, metavar="PERFORMANCE.md", help="write the figures into this file's Peers section")
    p.add_argument("--from-json", type=Path, default=None, help="render figures a previous run wrote with --json instead of measuring")
    p.add_argument("--tsne-from", type=Path, default=None, metavar="JSON",
                   help="with --only mmd: take the t-SNE figures from a previous run's --json instead of leaving them out")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        kind, peer, n, *rest = args.child
        result = run_mmd(peer, int(n), float(rest[0])) if kind == "mmd" else run_tsne(peer, int(n))
        print(json.dumps(result))
        return 0
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else None
    if args.from_json:
        figures = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        figures = drive(args.only, sizes or MMD_SIZES, sizes or TSNE_SIZES, args.timeout)
    if args.tsne_from:
        earlier = json.loads(args.tsne_from.read_text(encoding="utf-8"))
        figures["tsne"] = earlier["tsne"]
        figures["tsne_note"] = earlier.get("tsne_note") or f"taken from an earlier run ({args.tsne_from.name})"
    print(json.dumps(figures, indent=2))
    if args.update:
        args.update.write_text(replace_section(args.update.read_text(encoding="utf-8"), TITLE, section(figures)), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
