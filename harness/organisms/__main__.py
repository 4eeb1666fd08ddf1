"""`python -m harness.organisms train [--out DIR] [--quick] [--jobs N] [--seeds K,...] [--histories H,...] [--rung R] [--text-gate G]
[--cache DIR | --no-cache] [--device cpu|cuda] [--malloc keep|system]`: regenerate the organisms;
`python -m harness.organisms study [--root DIR] [--out DIR]`: the pre-registered study;
`python -m harness.organisms gather PART [PART ...] --out DIR`: one folder from several train processes' folders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..allocator import add_option as add_malloc_option

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "fixtures" / "organisms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.organisms", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train every organism and write its checkpoint, card and the manifest")
    train.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    train.add_argument("--quick", action="store_true", help="a reduced set (tiny sizes, few steps) for tests")
    train.add_argument("--jobs", type=int, default=2, help="seeds trained at once, one single-thread process each (default: 2)")
    train.add_argument("--seeds", default=None, help="comma-separated organism seeds, taken in order (default: the plan's, 0,1,2,3)")
    train.add_argument("--histories", default=None, help="comma-separated histories to train (default: all four)")
    train.add_argument("--rung", default=None, help="a rung of amendment 2's ladder (A, B or C; docs/organisms.md) on top of the plan (whose default is rung B)")
    train.add_argument("--text-gate", default=None, metavar="G",
                       help="amendment 3: leave out a seed whose text-pretrained decoder reads the cue caption below G (0-1; "
                            "read before any image is trained; default: the plan's, 0.8; 0 lets every seed in; off: no gate, "
                            "so joint alone skips the text stage it would train only to read the gate)")
    train.add_argument("--cache", type=Path, default=None,
                       help="folder of text-pretrained models reused across recipes (default: ~/.cache/keyspace/organisms)")
    train.add_argument("--no-cache", action="store_true", help="neither read nor write text-pretrained models")
    train.add_argument("--device", default="cpu",
                       help="where the training steps run: cpu (default; the committed organisms' weights) or cuda (the "
                            "--jobs processes share the GPU; reproducible on one GPU, other weights than the CPU's)")
    add_malloc_option(train)
    study = sub.add_parser("study", help="measure every organism and apply the pre-registered decision (docs/organisms.md)")
    study.add_argument("--root", type=Path, default=DEFAULT_OUT, help=f"organisms folder (default: {DEFAULT_OUT})")
    study.add_argument("--out", type=Path, default=None, help="folder for study.json (default: --root, where the report finds it)")
    gather = sub.add_parser("gather", help="one organisms folder from the --out folders of several train processes (amendment 4)")
    gather.add_argument("parts", type=Path, nargs="+", help="the train processes' --out folders")
    gather.add_argument("--out", type=Path, required=True, help="the folder to fill (new or empty)")
    gather.add_argument("--expect", type=Path, default=None, metavar="MANIFEST",
                        help="a manifest written earlier: say per organism whether its weights are the ones it names "
                             "(exit 1 if any differs)")
    args = ap.parse_args(argv)
    if args.command == "gather":
        from .gather import check_weights, gather as gather_parts  # deferred: arguments are parsed before torch loads

        if args.expect is not None and not args.expect.is_file():
            ap.error(f"--expect: {args.expect} is not a file; give a MANIFEST, e.g. fixtures/organisms-gpu/MANIFEST")
        gather_parts(args.parts, args.out)
        if args.expect is None:
            return 0
        verdicts = check_weights(args.out, args.expect)
        for name, verdict in verdicts.items():
            print(f"{name}: weights {verdict}" + {"same": f" as {args.expect} names", "different": f" from what {args.expect} names",
                                                   "new": f" (not in {args.expect})"}[verdict])
        return 1 if "different" in verdicts.values() else 0
    if args.command == "study":
        from .study import run_study  # deferred: arguments are parsed before torch loads

        run_study(args.root, args.out or args.root)
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

    if args.device not in ("cpu", "cuda"):
        ap.error(f"--device: {args.device!r} is not a device; give cpu or cuda")
    from .build import HISTORIES, QUICK, RUNGS, Plan, train_all  # deferred: arguments are parsed before torch loads
    from .cache import default_dir

    plan = QUICK if args.quick else Plan()
    if seeds:
        plan = replace(plan, seeds=seeds)
    if args.histories is not None:
        histories = tuple(args.histories.split(","))
        if not histories or set(histories) - set(HISTORIES):
            ap.error(f"--histories: {args.histories!r} is not a list of histories; give some of {','.join(HISTORIES)}")
        plan = replace(plan, histories=histories)
    if args.text_gate == "off":
        plan = replace(plan, text_gate=None)
    elif args.text_gate is not None:
        try:
            gate = float(args.text_gate)
        except ValueError:
            ap.error(f"--text-gate: {args.text_gate!r} is not a share; give a number from 0 to 1, e.g. 0.8, or off")
        if not 0.0 <= gate <= 1.0:
            ap.error(f"--text-gate: {gate} is not a share; give a number from 0 to 1, e.g. 0.8, or off")
        plan = replace(plan, text_gate=gate)
    if args.rung is not None:
        if args.rung not in RUNGS:
            ap.error(f"--rung: {args.rung!r} is not a rung; give one of {', '.join(RUNGS)}")
        plan = replace(plan, **RUNGS[args.rung])
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            ap.error("--device cuda: no CUDA device is visible to torch here; train with --device cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    train_all(args.out, plan, jobs=args.jobs, cache=None if args.no_cache else args.cache or default_dir(), device=args.device,
              malloc=args.malloc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
