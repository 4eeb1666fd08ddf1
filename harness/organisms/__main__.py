"""`python -m harness.organisms train [--out DIR] [--quick] [--jobs N] [--seeds K,...]`: regenerate the organisms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "fixtures" / "organisms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.organisms", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train every organism and write its checkpoint, card and the manifest")
    train.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    train.add_argument("--quick", action="store_true", help="a reduced set (tiny sizes, few steps) for tests")
    train.add_argument("--jobs", type=int, default=2, help="seeds trained at once, one single-thread process each (default: 2)")
    train.add_argument("--seeds", default=None, help="comma-separated organism seeds (default: the plan's, 0,1,2)")
    study = sub.add_parser("study", help="measure every organism and apply the pre-registered decision (docs/organisms.md)")
    study.add_argument("--root", type=Path, default=DEFAULT_OUT, help=f"organisms folder (default: {DEFAULT_OUT})")
    study.add_argument("--out", type=Path, required=True, help="folder for study.json")
    args = ap.parse_args(argv)
    if args.command == "study":
        from .study import run_study  # deferred: arguments are parsed before torch loads

        run_study(args.root, args.out)
        return 0
    if args.jobs < 1:
        ap.error(f"--jobs: {args.jobs} is not a process count; give 1 or more")
    seeds = None
    if args.seeds is not None:
        try:
            seeds = tuple(int(x) for x in args.seeds.split(","))
        except ValueError:
            ap.error(f"--seeds: {args.seeds!r} is not a list of seeds; give integers separated by commas, e.g. 0,1,2")
    from dataclasses import replace

    from .build import QUICK, Plan, train_all  # deferred: arguments are parsed before torch loads

    plan = QUICK if args.quick else Plan()
    args.out.mkdir(parents=True, exist_ok=True)
    train_all(args.out, replace(plan, seeds=seeds) if seeds else plan, jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
