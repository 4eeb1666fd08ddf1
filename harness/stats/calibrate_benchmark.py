"""Simulation studies of the by-benchmark splits' bounds (docs/statistics.md "Amendment 3", "Amendment 4").

    python -m harness.stats.calibrate_benchmark --study 3|4 [--runs 150] [--ratio 3] [--out /tmp/benchmark.jsonl]

prints the study's table (markdown). Population (``population.py``, as ``calibrate``'s "dominant"
part): d = 64, four categories on image keys only (text keys carry none, one language), so
image/by-category is the one real within-benchmark split and text/by-category a null one. A second
benchmark is the same population with its image keys moved by `b` along a fixed second direction δ_B
(Mahalanobis norm 1); its text keys are unchanged (text/by-benchmark: exactly 0). Study 3: `b` chosen
so that image/by-benchmark's population MMD² is BENCH_OVER_CATEGORY × the category effect; study 4: the
categories carry no effect (category_sd 0: every within-benchmark split is a null one) and b = B_FIXED.
The cross-modal shift is set so that cross / image/by-benchmark = `ratio`: the by-benchmark split binds,
r* = `ratio`. σ is fixed at the population's median heuristic, so every figure is exact
(``population.mmd2_truth``). Each run is one JSON line in `--out` (appended as it finishes). Seeds start
at SEED0[study] (3000, 4000: never used by another study).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy.optimize import brentq

from . import population as P
from .by_benchmark import benchmark_splits
from .calibrate import ALPHA, CAP_TOKENS, D, PERMUTATIONS, THRESHOLD, _ci, append_rows, read_rows
from .gap import cross_modal_gap
from .kernels import MIXTURE_SCALES
from .tiers import all_tiers

RATIO, BENCH_OVER_CATEGORY, B_FIXED = 3.0, 4.0, 1.2
LAYOUTS, PROMPTS = ("shared-offset", "tight-image"), (20, 40, 100)
SEED0 = {3: 3000, 4: 4000}
CATEGORY_SD = {3: 0.5, 4: 0.0}  # study 4: no within-benchmark effect (the by-benchmark split is the one real split)
SPLIT = "image/by-benchmark"


def direction(d: int, lam: np.ndarray) -> np.ndarray:
    """δ_B: a fixed random direction of Mahalanobis norm 1 (seeded, so every run shares it)."""
    g = np.random.default_rng(12345).standard_normal(d)
    return np.sqrt(lam) * g / np.linalg.norm(g)


def design(layout: str, ratio: float = RATIO, study: int = 3) -> dict:
    """The population, σ, the second benchmark's image shift `b` and δ_B, and the exact figures."""
    kw = dict(d=D, layout=layout, text_categories=False, languages=1, category_sd=CATEGORY_SD[study])
    base = P.population(**kw)
    sigma = P.median_sigma(base)
    cat = P.truth(base, sigma, MIXTURE_SCALES).intra["image/by-category"]
    delta_b = direction(D, base.lam)

    def bench(b: float) -> float:  # translation-invariant: the same at any cross-modal shift
        return P.mmd2_truth(base.category_means, base.category_means + b * delta_b, base.lam, sigma, MIXTURE_SCALES)
    b = float(brentq(lambda x: bench(x) - BENCH_OVER_CATEGORY * cat, 0.0, 50.0, xtol=1e-10)) if study == 3 else B_FIXED
    effect = bench(b)

    def cross(s: float) -> float:
        return P.truth(P.population(shift=s, **kw), sigma, MIXTURE_SCALES).cross
    shift = float(brentq(lambda s: cross(s) - ratio * effect, 0.0, 50.0, xtol=1e-10))
    pop = P.population(shift=shift, **kw)
    return {"study": study, "pop": pop, "sigma": sigma, "b": b, "delta_b": delta_b, "category": cat, "bench": effect,
            "cross": cross(shift), "ratio": cross(shift) / effect}


def run_one(layout: str, prompts: int, seed: int, dz: dict) -> dict:
    """One simulated triple with a second benchmark: the tier with the by-benchmark splits bounded (the rule)
    and the old point check on the same data."""
    pop, sigma = dz["pop"], dz["sigma"]
    a = P.sample(pop, prompts=prompts, cap=CAP_TOKENS, seed=seed)
    b = P.sample(pop, prompts=prompts, cap=CAP_TOKENS, seed=seed + 1_000_000)
    image, text = a.sides()
    other_image, other_text = b.sides()
    other_image = type(other_image)((b.image + dz["b"] * dz["delta_b"]).astype(np.float32), other_image.units, other_image.strata)
    gap = cross_modal_gap(image, text, sigma=sigma, permutations=PERMUTATIONS, n_boot=1, seed=seed,
                          kernel_scales=MIXTURE_SCALES, scale_readings=False)
    splits = benchmark_splits(gap.comparisons[0], image, text, other_image, other_text,
                              widths=tuple(sigma * c for c in MIXTURE_SCALES))
    t = all_tiers(image, text, threshold=THRESHOLD, alpha=ALPHA, n_boot=1, seed=seed, with_separability=False,
                  with_support=False, gap=gap, benchmarks=splits)
    bounded = t.by_benchmark.kernel  # the rule of amendment 3: every split bounded, the by-benchmark ones included
    old = t.verdict  # the verdict's rule: the within-benchmark splits bounded, then the by-benchmark point check
    if old == "holds" and any(t.kernel.cross < THRESHOLD * v for v in t.by_benchmark.points.values()):
        old = "undecided (point check)"
    split = {s.name: s for s in bounded.splits}[SPLIT]
    return {"study": dz["study"], "layout": layout, "prompts": prompts, "seed": seed, "truth": dz["ratio"], "low": bounded.low,
            "point": bounded.point, "binding": bounded.binding, "split_high": split.high, "split_low": split.low,
            "verdict": t.by_benchmark.outcome, "old": old, "p": gap.p_value}


def summarise(rows: list[dict]) -> str:
    head = ("| study | layout | S | runs | r* | non-coverage P(L > r*) (criterion a: 1-10 %) | P(U_image/by-benchmark < r*) "
            "(criterion b: ≤ 5 %) | binding: image/by-benchmark | median L | holds, splits bounded | holds, point check |")
    out = [head, "|" + "---|" * 11]
    settings = sorted({(r.get("study", 3), round(r["truth"], 6), r["layout"], r["prompts"]) for r in rows},
                      key=lambda k: (k[0], -k[1], k[2], k[3]))
    for study, ratio, layout, s in settings:
        rs = [r for r in rows if (r.get("study", 3), round(r["truth"], 6), r["layout"], r["prompts"]) == (study, ratio, layout, s)]
        n, truth = len(rs), rs[0]["truth"]
        over = sum(r["low"] > truth for r in rs)
        under = sum(r["split_high"] < truth for r in rs)
        out.append(f"| {study} | {layout} | {s} | {n} | {truth:.3g} | {_ci(over, n)} | {_ci(under, n)} | "
                   f"{sum(r['binding'] == SPLIT for r in rs)}/{n} | {np.median([r['low'] for r in rs]):.3g} | "
                   f"{sum(r['verdict'] == 'holds' for r in rs)}/{n} | {sum(r['old'] == 'holds' for r in rs)}/{n} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.stats.calibrate_benchmark", description=__doc__.split("\n")[0])
    ap.add_argument("--study", type=int, choices=sorted(SEED0), default=4, help="which amendment's study (default 4)")
    ap.add_argument("--runs", type=int, default=150, help="runs per setting; default 150")
    ap.add_argument("--prompts", default=",".join(map(str, PROMPTS)), help="comma-separated prompts per benchmark")
    ap.add_argument("--out", default="calibration-benchmark.jsonl", help="JSON lines of every run (appended)")
    ap.add_argument("--summarise", action="store_true", help="only print the table of an existing --out")
    ap.add_argument("--layouts", default=",".join(LAYOUTS), help="comma-separated layouts (default: both)")
    ap.add_argument("--ratio", type=float, default=RATIO, help=f"population ratio r* (default {RATIO:g}, the pre-registered study)")
    args = ap.parse_args(argv)
    for layout in [x for x in args.layouts.split(",") if x] if not args.summarise else []:
        dz = design(layout, args.ratio, args.study)
        print(f"{layout}: b {dz['b']:.4g}, category {dz['category']:.4g}, by-benchmark {dz['bench']:.4g}, "
              f"cross {dz['cross']:.4g}, r* {dz['ratio']:.4g}", file=sys.stderr, flush=True)
        for s in [int(x) for x in args.prompts.split(",") if x]:
            seeds = range(SEED0[args.study], SEED0[args.study] + args.runs)
            append_rows(args.out, (run_one(layout, s, seed, dz) for seed in seeds))
            print(f"done: {layout} S = {s}", file=sys.stderr, flush=True)
    print(summarise(read_rows(args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
