"""`python -m harness.organisms train [--out DIR] [--quick] [--jobs N]`: regenerate the organisms."""

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
    train.add_argument("--jobs", type=int, default=3, help="organisms trained at once, one single-thread process each (default: 3)")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs: {args.jobs} is not a process count; give 1 or more")
    from .build import QUICK, Plan, train_all

    args.out.mkdir(parents=True, exist_ok=True)
    train_all(args.out, QUICK if args.quick else Plan(), jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
