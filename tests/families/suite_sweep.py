"""Every tiny family checkpoint through the whole default suite, as a user runs a hub checkpoint: saved, then
`pytest suites/ --ks-models hf:DIR` (its triples at the model's default layers, the controls, the intervention
study on fixture and world, the report), one line per family.

    python tests/families/suite_sweep.py --jobs 2                 # every family (torchvision ones need it)
    python tests/families/suite_sweep.py gemma3n granite4_vision  # these only
    python tests/families/suite_sweep.py --jobs 2 -- --ks-capture rotated-keys --ks-layers first

Per family: the test outcomes pytest counted and the records' statuses (triples, controls, interventions), and
every `error` record's line. A failed check on these random-weight checkpoints is a finding about that model
(an absent gap, a random control that moves attention as the mean shift does); an error record or a run that
did not finish is the harness's to explain, so either makes the exit status 1. 20-600 s per family on
one core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # run as a file: the repository's harness and tests.families


def save(family: str, out: Path) -> None:
    """The family's tiny checkpoint, saved as a user's hub download would be (the seed of tests/families/table.py)."""
    import torch

    from tests.families.zoo import BUILDERS

    torch.manual_seed(0)
    model, processor = BUILDERS[family]()
    model.save_pretrained(out)
    processor.save_pretrained(out)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.is_file() else []


def _kind(record: dict) -> str:
    if "intervention" in record:
        return "intervention"
    return "control" if record.get("extra", {}).get("control") else "triple"


def sweep_one(family: str, extra: list[str]) -> dict:
    """One family's outcomes (module doc)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        made = subprocess.run([sys.executable, __file__, "--save", family, str(work / "ckpt")], capture_output=True, text=True)
        if made.returncode:
            return {"family": family, "finished": False, "line": f"could not build: {made.stderr.strip().splitlines()[-1:]}"}
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider", "--ks-models", f"hf:{work / 'ckpt'}",
             "--ks-results", str(work / "results.jsonl"), "--ks-report", str(work / "report.html"), "--ks-cache",
             str(work / "cache"), "--ks-threads", "1", *extra],
            cwd=REPO, capture_output=True, text=True,
        )
        lines = run.stdout.strip().splitlines()
        records = _records(work / "results.jsonl") + [r for r in _records(work / "interventions.jsonl") if "intervention" in r]
    statuses = Counter((_kind(r), r["status"]) for r in records)
    errors = sorted({f"{r.get('intervention') or r['layer']}: {str(r.get('message', '')).splitlines()[0][:300]}"
                     for r in records if r["status"] == "error"})
    return {"family": family, "finished": run.returncode in (0, 1), "line": lines[-1] if lines else run.stderr.strip()[-300:],
            "statuses": dict(sorted(statuses.items())), "errors": errors}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--save"]:
        save(argv[1], Path(argv[2]))
        return 0
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    from tests.families.zoo import BUILDERS

    p = argparse.ArgumentParser(prog="python tests/families/suite_sweep.py", description=__doc__.splitlines()[0])
    p.add_argument("families", nargs="*", help=f"model types (default: all {len(BUILDERS)})")
    p.add_argument("--jobs", type=int, default=1, help="families run at once, each its own process on one thread")
    args = p.parse_args(argv)
    unknown = sorted(set(args.families) - set(BUILDERS))
    if unknown:
        p.error(f"no tiny checkpoint of {', '.join(unknown)}; give some of {', '.join(sorted(BUILDERS))}")
    bad = 0
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        jobs = [pool.submit(sweep_one, f, extra) for f in sorted(args.families or BUILDERS)]
        for job in as_completed(jobs):
            out = job.result()
            bad += (not out["finished"]) or bool(out.get("errors"))
            counts = ", ".join(f"{kind} {status} {n}" for (kind, status), n in out.get("statuses", {}).items())
            print(f"{out['family']}: {out['line']} | {counts}", flush=True)
            for error in out.get("errors", []):
                print(f"    error at {error}", flush=True)
    print(f"{len(jobs)} families, {bad} with an error record or an unfinished run")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
