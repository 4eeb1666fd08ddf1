"""Simulation study of the tiers against populations whose figures are known in closed form.

    python -m harness.stats.calibrate [--runs 20] [--out /tmp/calibration.jsonl]

prints the tables of docs/statistics.md "Calibration of the tiers" (markdown). Populations:
``population.py`` (per-prompt offsets in three layouts, 50-600 image and 20-200 text tokens per
prompt, 1000 kept per modality, d = 64, 4 categories about 0.7 sd apart shared by both modalities,
2 languages with no effect: 4 real splits, 2 of them null; the "dominant" part: category offsets on
image keys only and one language, so image/by-category is the one real effect and text/by-category a
null split, the configuration where the intersection-union bound's level is attained). σ is fixed at
the population's median heuristic, so the mixture kernel's truth is exact (``population.truth``). Each
run is one JSON line in `--out` (appended as it finishes), so a partial study can be summarised
(``--summarise``). Seeds start at SEED0 = 1000 (amendment 1: seeds no earlier study used).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

import numpy as np
import scipy.stats

from . import population as P
from .gap import cross_modal_gap
from .bootstrap import CAP
from .kernel_mean import crossfit_point, kernel_mean_tier, readings
from .kernels import MIXTURE_SCALES
from .tiers import all_tiers, verdict

D, CAP_TOKENS, PERMUTATIONS, N_BOOT = 64, 1000, 200, 200
THRESHOLD, ALPHA = 1.0, 0.01
PARTS = ("null", "drift", "dominant", "measured", "bandwidth", "power", "tiers")
SEED0 = 1000  # amendment 1's study: seeds no earlier run of this study used (those ran from 0)


@dataclass(frozen=True)
class Setting:
    part: str  # "null", "drift", "dominant", "bandwidth", "power", "tiers"
    layout: str
    ratio: float  # population cross / strongest split (0: a null)
    prompts: int
    scale: float = 1.0  # σ of the mixture ladder over the population's median σ
    tiers: bool = False  # also the separability and out-of-support tiers (slower)
    dominant: bool = False  # one real split: category offsets on image keys only, one language
    category_sd: float = 0.5  # the categories' spread (population.population); 2.0: a split measured at S ≥ 40


def population_at(layout: str, ratio: float, dominant: bool = False, category_sd: float = 0.5) -> tuple[P.Population, float]:
    """(population, its median σ) with the given population ratio (0: shift 0, a null); `dominant`: one
    real split (module doc)."""
    kw = dict(d=D, layout=layout, category_sd=category_sd, **({"text_categories": False, "languages": 1} if dominant else {}))
    base = P.population(**kw)
    sigma = P.median_sigma(base)
    if ratio == 0:
        return base, sigma
    return P.population(shift=P.shift_for_ratio(ratio, sigma=sigma, scales=MIXTURE_SCALES, **kw), **kw), sigma


def run_one(setting: Setting, seed: int) -> dict:
    """One simulated triple: the kernel-mean tier's figures (and the others with `tiers`) and its truth."""
    pop, sigma = population_at(setting.layout, setting.ratio, setting.dominant, setting.category_sd)
    truth = P.truth(pop, sigma * setting.scale, MIXTURE_SCALES)
    k = P.sample(pop, prompts=setting.prompts, cap=CAP_TOKENS, seed=seed)
    kw = dict(sigma=sigma * setting.scale, permutations=PERMUTATIONS, n_boot=N_BOOT, seed=seed)
    out = {**setting.__dict__, "seed": seed, "truth_ratio": truth.ratio if truth.strongest > 0 else float("inf")}
    if setting.tiers:
        t = all_tiers(*k.sides(), threshold=THRESHOLD, alpha=ALPHA, **kw)
        kernel, p_value, v = t.kernel, t.gap.p_value, t.verdict
        out.update(paper_ratio=t.paper.ratio, paper_low=t.paper.ratio_low, sep_delta=t.separability.delta,
                   sep_low=t.separability.delta_low, sep_cross=t.separability.cross, sup_delta=t.support.delta,
                   sup_low=t.support.delta_low, sup_excess=t.support.cross.excess)
    else:
        kw.pop("n_boot")
        gap = cross_modal_gap(*k.sides(), n_boot=1, kernel_scales=MIXTURE_SCALES, **kw)
        kernel = kernel_mean_tier(*gap.comparisons, n_boot=N_BOOT, seed=seed)
        out["point_cf"] = crossfit_point(*gap.comparisons, seed=seed)  # amendment 2's candidate point
        p_value = gap.p_value
        v = verdict(kernel, p_value, threshold=THRESHOLD, alpha=ALPHA)
        out.update({f"low_{name}": value for name, value in readings(*gap.comparisons, n_boot=N_BOOT, seed=seed).items()})
    out.update(point=kernel.point, low=kernel.low, p=p_value, verdict=v, binding=kernel.binding, estimable=kernel.estimable,
               split_low={b.name: b.low for b in kernel.splits})
    return out


def settings(runs: int) -> list[tuple[Setting, int]]:
    """The study: (setting, runs) in the order they are run (the cheapest and most decisive first)."""
    plan = []
    for layout in ("shared-offset", "specific-offsets", "tight-image"):
        plan.append((Setting("null", layout, 0.0, 40), runs))
    for layout in ("shared-offset", "tight-image"):
        for s in (20, 40, 80, 160):
            plan.append((Setting("drift", layout, 10.0, s), runs))
    for s in (20, 40, 80, 160):
        plan.append((Setting("dominant", "shared-offset", 10.0, s, dominant=True), runs))
    for s in (20, 40, 80, 160):  # added after amendment 1's figures were seen (S = 20 by amendment 2): a dominant split that is measured
        plan.append((Setting("measured", "shared-offset", 10.0, s, dominant=True, category_sd=2.0), runs))
    for scale in (0.5, 2.0):
        plan.append((Setting("bandwidth", "shared-offset", 10.0, 80, scale=scale), runs))
    for ratio in (3.0, 30.0):
        for s in (40, 100):
            plan.append((Setting("power", "shared-offset", ratio, s), max(4, runs // 2)))
    for layout, ratio in (("shared-offset", 0.0), ("tight-image", 0.0), ("shared-offset", 10.0)):
        plan.append((Setting("tiers", layout, ratio, 40, tiers=True), max(4, min(runs // 3, 12))))  # seconds a run
    return plan


def _ci(k: int, n: int) -> str:
    ci = scipy.stats.binomtest(k, n).proportion_ci(0.95, method="exact") if n else None
    return f"{k}/{n} [{ci.low:.3f}, {ci.high:.3f}]" if ci else "–"


def summarise(rows: list[dict]) -> str:
    """Markdown tables from the JSON lines of a study."""
    def pick(**kw):
        return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]

    out = ["Nulls (S = 40; false \"holds\" with 95 % Clopper–Pearson interval; p-values):", "",
           "| layout | runs | false holds | P(p < 0.01) | P(p < 0.05) | verdicts |", "|---|---|---|---|---|---|"]
    for layout in ("shared-offset", "specific-offsets", "tight-image"):
        rs = pick(part="null", layout=layout)
        if rs:
            ps = np.array([r["p"] for r in rs])
            verdicts = ", ".join(f"{v.split(':')[0]} {sum(r['verdict'] == v for r in rs)}" for v in sorted({r["verdict"] for r in rs}))
            out.append(f"| {layout} | {len(rs)} | {_ci(sum(r['verdict'] == 'holds' for r in rs), len(rs))} | "
                       f"{np.mean(ps < 0.01):.3f} | {np.mean(ps < 0.05):.3f} | {verdicts} |")
    out += ["", "Population ratio exactly 10 (mixture kernel): drift with S, non-coverage of the lower bound L (nominal 5 %) "
            "and of the two older readings of L in the same runs (bootstrap percentiles; bootstrap rescaled to the unbiased "
            "variance); M's median over all runs and over the runs where M is estimable:", "",
            "| part | layout | S | runs | median M | estimable | median M (estimable) | median L | non-coverage P(L > 10) | "
            "bootstrap reading | rescaled reading | holds (t = 1) | holds (t = 10) | undecided |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    cf_out = []  # amendment 2's table, from the runs that carry the cross-fitted point
    for part, layout in (("drift", "shared-offset"), ("drift", "tight-image"), ("dominant", "shared-offset"),
                         ("measured", "shared-offset")):
        med, cf_med = {}, {}
        for s in (20, 40, 80, 160):
            rs = pick(part=part, layout=layout, prompts=s)
            if not rs:
                continue
            truth = rs[0]["truth_ratio"]
            pts, lows = np.array([r["point"] for r in rs]), np.array([r["low"] for r in rs])
            est = np.array([bool(r.get("estimable", True)) for r in rs])
            med[s] = np.median(pts)

            def miss(key):
                v = np.array([r.get(key, np.nan) for r in rs])
                return _ci(int((v > truth).sum()), int(np.isfinite(v).sum()))
            out.append(f"| {part} | {layout} | {s} | {len(rs)} | {med[s]:.3g} | {est.mean():.2f} | "
                       f"{np.median(pts[est]) if est.any() else float('nan'):.3g} | {np.median(lows):.3g} | "
                       f"{miss('low')} | {miss('low_bootstrap')} | {miss('low_rescaled')} | {np.mean([r['verdict'] == 'holds' for r in rs]):.2f} | "
                       f"{np.mean((lows >= 10) & (np.array([r['p'] for r in rs]) < ALPHA)):.2f} | "
                       f"{np.mean([r['verdict'].startswith('undecided') for r in rs]):.2f} |")
            cf = [r for r in rs if "point_cf" in r]
            if cf:
                m, mc = np.array([r["point"] for r in cf]), np.array([r["point_cf"] for r in cf], dtype=float)
                cf_med[s] = (np.median(m), np.nanmedian(mc))
                cf_out.append(f"| {part} | {layout} | {s} | {len(cf)} | {truth:.3g} | {cf_med[s][0]:.3g} | {cf_med[s][1]:.3g} | "
                              f"{np.mean(mc >= CAP):.2f} | {cf_med[s][0] / truth:.2f} | {cf_med[s][1] / truth:.2f} |")
        if 20 in med and 160 in med:
            out.append(f"| {part} | {layout} | 160 / 20 | | {med[160] / med[20]:.2f} | | | | | | | | | |")
        if 20 in cf_med and 160 in cf_med:
            cf_out.append(f"| {part} | {layout} | 160 / 20 | | | {cf_med[160][0] / cf_med[20][0]:.2f} | "
                          f"{cf_med[160][1] / cf_med[20][1]:.2f} | | | |")
    if cf_out:
        out += ["", "Amendment 2: the plug-in point M and the cross-fitted point M_cf in the same runs (median; share of runs at "
                "CAP, i.e. the held-out split effect ≤ 0; median over the truth):", "",
                "| part | layout | S | runs | truth | median M | median M_cf | M_cf at CAP | M / truth | M_cf / truth |",
                "|---|---|---|---|---|---|---|---|---|---|", *cf_out]
    rs1 = pick(part="drift", layout="shared-offset", prompts=80)
    if rs1:
        out += ["", "Bandwidth (shared-offset, S = 80, ratio 10 at σ_med; the mixture ladder moved by the scale):", "",
                "| σ scale | runs | median M | median L | M over scale 1 | L over scale 1 |", "|---|---|---|---|---|---|"]
        m1, l1 = np.median([r["point"] for r in rs1]), np.median([r["low"] for r in rs1])
        for scale in (0.5, 1.0, 2.0):
            rs = rs1 if scale == 1.0 else pick(part="bandwidth", scale=scale)
            if rs:
                m, l_ = np.median([r["point"] for r in rs]), np.median([r["low"] for r in rs])
                out.append(f"| {scale:g} | {len(rs)} | {m:.3g} | {l_:.3g} | {m / m1:.2f} | {l_ / l1:.2f} |")
    out += ["", "Power (shared-offset; share of runs whose verdict holds at threshold 1):", "",
            "| population ratio | S | runs | holds | undecided | absent |", "|---|---|---|---|---|---|"]
    for ratio in (3.0, 10.0, 30.0):
        for s in (40, 80, 100):
            rs = pick(part="power", ratio=ratio, prompts=s) or (pick(part="drift", layout="shared-offset", prompts=s) if ratio == 10.0 else [])
            if rs:
                out.append(f"| {ratio:g} | {s} | {len(rs)} | {np.mean([r['verdict'] == 'holds' for r in rs]):.2f} | "
                           f"{np.mean([r['verdict'].startswith('undecided') for r in rs]):.2f} | {np.mean([r['verdict'] == 'absent' for r in rs]):.2f} |")
    out += ["", "Every tier at S = 40 (claims: paper form ratio's lower bound > 1; separability and out of support: "
            "lower bound of cross − every split > 0; kernel mean: the verdict):", "",
            "| layout | ratio | runs | paper form claims | paper ratio (median) | separability claims | Δ AUC (median) | "
            "out-of-support claims | Δ excess (median) | kernel mean holds |", "|---|---|---|---|---|---|---|---|---|---|"]
    for layout, ratio in (("shared-offset", 0.0), ("tight-image", 0.0), ("shared-offset", 10.0)):
        rs = pick(part="tiers", layout=layout, ratio=ratio)
        if rs:
            n = len(rs)
            out.append(f"| {layout} | {ratio:g} | {n} | {_ci(sum(r['paper_low'] > 1 for r in rs), n)} | "
                       f"{np.median([r['paper_ratio'] for r in rs]):.3g} | {_ci(sum(r['sep_low'] > 0 for r in rs), n)} | "
                       f"{np.median([r['sep_delta'] for r in rs]):.3f} | {_ci(sum(r['sup_low'] > 0 for r in rs), n)} | "
                       f"{np.median([r['sup_delta'] for r in rs]):.3f} | {_ci(sum(r['verdict'] == 'holds' for r in rs), n)} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.stats.calibrate", description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="runs per setting (power and tiers use fewer); default 20")
    ap.add_argument("--out", default="calibration.jsonl", help="JSON lines of every run (appended); default calibration.jsonl")
    ap.add_argument("--summarise", action="store_true", help="only print the tables of an existing --out")
    ap.add_argument("--parts", default="", help=f"comma-separated parts to run (default: all of {', '.join(PARTS)})")
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()] or list(PARTS)
    if unknown := sorted(set(parts) - set(PARTS)):
        ap.error(f"--parts: unknown {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if not args.summarise:
        for setting, runs in (x for x in settings(args.runs) if x[0].part in parts):
            append_rows(args.out, (run_one(setting, seed) for seed in range(SEED0, SEED0 + runs)))
            print(f"done: {setting}", file=sys.stderr, flush=True)
    print(summarise(read_rows(args.out)))
    return 0


def append_rows(path: str, rows) -> None:
    """Append each run's row to `path` as a JSON line as soon as it is made (a cut study keeps what finished)."""
    with open(path, "a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
            fh.flush()


def read_rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


if __name__ == "__main__":
    raise SystemExit(main())
