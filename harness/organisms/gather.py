"""One organisms folder from the folders of several `train` processes (docs/organisms.md, amendment 4).

A session lent the GPU machine trains each seed in several processes at once, each into a folder of its own
(`suites/perf/gpu_session.sh`), and a process cut by the lease's limit keeps what it had saved. `gather` copies
every organism it finds into one folder, evaluates on this CPU any organism whose weights were saved but whose
process was cut before its evaluation (held-out accuracy and the conflict probe run on the CPU in any case; the
record says where and why), and writes the folder's MANIFEST and a timing.json that keeps each process's laps.

    python -m harness.organisms gather PART [PART ...] --out DIR [--expect MANIFEST]

`--expect` holds the gathered weights against a manifest written earlier (a rebuild of fixtures/organisms-gpu's
seeds against its MANIFEST): per organism, whether its model.safetensors is the one the manifest names (records
and cards name the machine and are not compared).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable

from . import data, evaluate
from .build import HISTORIES, _quiet, evaluate_saved, write_manifest
from .environment import environment
from .probe import PROBE_SEED_OFFSET

CUT = "its weights were saved when training ended; the process was cut by a time limit before evaluating them"
WEIGHTS = "model.safetensors"


def organisms_in(part: Path) -> list[Path]:
    """The organism folders (HISTORY-sK with weights and a training record) directly under `part`."""
    found = []
    for folder in sorted(p for p in part.iterdir() if p.is_dir()):
        history, _, seed = folder.name.rpartition("-s")
        if history in HISTORIES and seed.isdigit() and (folder / "training.json").is_file() and (folder / WEIGHTS).is_file():
            found.append(folder)
    return found


def gather(parts: list[Path], out: Path, log: Callable[[str], None] = print) -> dict:
    """Copy every organism under `parts` into `out`, finish the evaluation of any that lacks it, write MANIFEST and
    timing.json; returns {"organisms": names, "evaluated_here": names}."""
    sources: dict[str, Path] = {}
    for part in parts:
        if not part.is_dir():
            raise SystemExit(f"gather: {part} is not a folder; give the --out folders of train processes")
        for folder in organisms_in(part):
            if folder.name in sources:
                raise SystemExit(f"gather: {folder.name} is in both {sources[folder.name].parent} and {part}; give each organism once")
            sources[folder.name] = folder
    if not sources:
        raise SystemExit(f"gather: no organism (HISTORY-sK with model.safetensors and training.json) under {', '.join(map(str, parts))}")
    out.mkdir(parents=True, exist_ok=True)
    _quiet()
    evaluated, worlds = [], {}
    for name, folder in sorted(sources.items()):
        target = out / name
        if target.exists():
            raise SystemExit(f"gather: {target} exists already; give an empty --out")
        shutil.copytree(folder, target)
        record = json.loads((target / "training.json").read_text(encoding="utf-8"))
        if "heldout" not in record:
            plan = record["plan"]
            key = (plan["seed"], plan["n_images"], plan["n_text"], plan["n_eval"], plan["n_probe"])
            if key not in worlds:
                w = data.make_world(plan["seed"], n_images=plan["n_images"], n_text=plan["n_text"], n_eval=plan["n_eval"],
                                    n_probe=plan["n_probe"])
                worlds[key] = (w, evaluate.conflict_probe(w.probe_scenes, w.probe_images, seed=plan["seed"] + PROBE_SEED_OFFSET))
            w, probe = worlds[key]
            record["evaluated_by_gather"] = {"why": CUT, "environment": environment("cpu")}
            evaluate_saved(target, record, w, probe)
            evaluated.append(name)
            log(f"{name}: evaluated here ({CUT})")
        log(f"{name}: from {folder.parent}")
    timing = {"note": "the laps of each train process, by its --out folder (a process cut by a limit wrote none)",
              "parts": {str(part): (json.loads((part / "timing.json").read_text()) if (part / "timing.json").is_file() else None)
                        for part in parts}}
    (out / "timing.json").write_text(json.dumps(timing, indent=1) + "\n", encoding="utf-8")
    write_manifest(out)
    return {"organisms": sorted(sources), "evaluated_here": evaluated}


def check_weights(out: Path, expected: Path) -> dict[str, str]:
    """Organism → "same" / "different" / "new" (not named in `expected`): its weights in `out` against the
    sha256 `expected` (a MANIFEST) names for them."""
    named = {}
    for line in expected.read_text(encoding="utf-8").splitlines():
        digest, _, rel = line.partition("  ")
        if rel.endswith("/" + WEIGHTS):
            named[rel.split("/")[0]] = digest
    verdicts = {}
    for folder in organisms_in(out):
        if folder.name not in named:
            verdicts[folder.name] = "new"
        else:
            same = hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest() == named[folder.name]
            verdicts[folder.name] = "same" if same else "different"
    return verdicts
