"""The pre-registered check of fewer power iterations in the held-out maps of wide keys.

docs/statistics.md "The held-out maps of wide keys" states the check and its acceptance rule; this
script runs it and prints, per candidate count of power iterations, how far each figure moves from
scikit-learn's default (7) on 18 triples of 4,096-wide keys shaped like the real-size case:

    python -m suites.perf.map_iterations                  # the whole check (about 6 min on one core)
    python -m suites.perf.map_iterations --json out.json  # and every figure, for the record

Keys: 200 prompts × (60 image + 40 text tokens), 1,500 kept per modality; per-direction variance
λ_i ∝ i^−α (mean 1) in a fixed random orthonormal basis (so the StandardScaler before the PCA does not
make the spectrum flat); a prompt offset of 0.5 √λ per direction; image prompts in two categories, one
shifted by 0.5 √λ_5 along the 5th direction; the modality shift 1.5 √λ_j along direction j (10 or 60) or
1.5 × a random unit direction. Text prompts carry their prompt's category too (a split with no effect).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

D, PROMPTS, IMAGE_PER, TEXT_PER, KEEP = 4096, 200, 60, 40, 1500
ALPHAS = (0.5, 1.0, 1.5)
DIRECTIONS = ("10th", "60th", "random")
SEEDS = (0, 1)
CANDIDATES = (2, 3, 4)
DEFAULT = 7  # scikit-learn's "auto" for 50 components of these shapes
# the pre-registered acceptance rule
TYPICAL, MOST, JS_MOST = 0.01, 0.02, 0.02


def basis(d: int = D, seed: int = 12345) -> np.ndarray:
    """[d, d] a fixed random orthonormal basis (float32)."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q.astype(np.float32)


def triple(alpha: float, direction: str, seed: int, rot: np.ndarray):
    """(image Side, text Side) of one simulated triple (see the module doc), keys as wide as `rot`."""
    from harness.stats.gap import Side

    D = len(rot)  # noqa: N806 (the width, as the module's D)
    rng = np.random.default_rng(seed * 100 + int(alpha * 10) + DIRECTIONS.index(direction))
    lam = np.arange(1, D + 1, dtype=np.float64) ** -alpha
    sd = np.sqrt(lam / lam.mean())  # [D] per-direction sd, mean variance 1
    if direction == "random":
        v = rng.standard_normal(D)
        shift = 1.5 * v / np.linalg.norm(v)
    else:
        j = int(direction[:-2]) - 1
        shift = np.zeros(D)
        shift[j] = 1.5 * sd[j]
    category = rng.integers(0, 2, PROMPTS)
    cat_shift = np.zeros(D)
    cat_shift[4] = 0.5 * sd[4]
    offset = 0.5 * sd * rng.standard_normal((PROMPTS, D))
    img = (np.repeat(offset + category[:, None] * cat_shift + shift, IMAGE_PER, axis=0)
           + sd * rng.standard_normal((PROMPTS * IMAGE_PER, D)))
    txt = np.repeat(offset, TEXT_PER, axis=0) + sd * rng.standard_normal((PROMPTS * TEXT_PER, D))
    ui, ut = np.repeat(np.arange(PROMPTS), IMAGE_PER), np.repeat(np.arange(PROMPTS), TEXT_PER)
    ki = np.sort(rng.choice(len(img), KEEP, replace=False))
    kt = np.sort(rng.choice(len(txt), KEEP, replace=False))
    to = lambda a: (a.astype(np.float32) @ rot.T)  # noqa: E731 (into the fixed basis)
    image = Side(to(img[ki]), ui[ki], {"category": category[ui[ki]].astype(str)})
    text = Side(to(txt[kt]), ut[kt], {"category": category[ut[kt]].astype(str)})
    return image, text


def figures(image, text, power) -> dict[str, float]:
    """The compared figures of one triple with `power` iterations in the wide maps."""
    import harness.stats.space as space
    from harness.stats.js import probe_figures
    from harness.stats.tiers import all_tiers

    before = space.WIDE_POWER_ITERATIONS
    space.WIDE_POWER_ITERATIONS = power
    try:
        t = all_tiers(image, text, permutations=100, n_boot=200, probe_space="pca50", with_support=False)
        js, _, auc = probe_figures(image.x, text.x, groups=(image.units, text.units), space="pca50", maps=t.maps)
    finally:
        space.WIDE_POWER_ITERATIONS = before
    sep = t.separability
    out = {"cross AUC": sep.cross, "cross AUC low": sep.cross_low, "cross AUC high": sep.cross_high,
           "delta": sep.delta, "delta low": sep.delta_low, "probe AUC": auc, "JS (bits)": js.bits}
    out.update({f"split {k} AUC": v for k, v in sep.splits.items()})
    return out


def judge(rows: list[dict], candidate: int) -> dict:
    """The acceptance rule on the moves of one candidate from the default."""
    moves, js_moves = [], []
    for r in rows:
        base, cand = r[str(DEFAULT)], r[str(candidate)]
        for k in base:
            d = abs(cand[k] - base[k])
            (js_moves if k.startswith("JS") else moves).append(d)
    moves, js_moves = np.array(moves), np.array(js_moves)
    ok = (np.mean(moves <= TYPICAL) >= 0.95 and moves.max() <= MOST and js_moves.max() <= JS_MOST)
    return {"candidate": candidate, "figures": len(moves), "share within 0.01": float(np.mean(moves <= TYPICAL)),
            "largest move": float(moves.max()), "median move": float(np.median(moves)),
            "largest JS move": float(js_moves.max()), "accepted": bool(ok)}


def main(argv: list[str] | None = None) -> int:
    from threadpoolctl import threadpool_limits

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write every figure and the verdicts here")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rot, rows = basis(), []
    with threadpool_limits(limits=1):
        for alpha in ALPHAS:
            for direction in DIRECTIONS:
                for seed in seeds:
                    image, text = triple(alpha, direction, seed, rot)
                    row = {"alpha": alpha, "direction": direction, "seed": seed}
                    for power in (DEFAULT, *CANDIDATES):
                        start = time.perf_counter()
                        row[str(power)] = figures(image, text, power)
                        row[f"seconds {power}"] = time.perf_counter() - start
                    rows.append(row)
                    print(f"alpha {alpha} {direction} seed {seed}: cross AUC "
                          + ", ".join(f"{p}: {row[str(p)]['cross AUC']:.4f}" for p in (DEFAULT, *CANDIDATES)), file=sys.stderr, flush=True)
    verdicts = [judge(rows, c) for c in CANDIDATES]
    kept = next((v["candidate"] for v in verdicts if v["accepted"]), DEFAULT)
    for v in verdicts:
        print(json.dumps(v))
    print(f"kept: {kept} power iterations")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "verdicts": verdicts, "kept": kept}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
