"""The organisms study's answer, carried beside a run that measures the organisms (run metadata → report).

`python -m harness.organisms study` writes `study.json` into the organisms' folder with the digest of their
manifest (`manifest_sha256`). `summary` reads it back in the few figures the report shows: the pre-registered
answers to Q1 and Q2 (docs/organisms.md) with the figures they rest on, the histories' means over seeds and the
intervention arm per seed, and whether the study is of the files the folder holds now (its digest against the
folder's MANIFEST). Nothing here recomputes a figure: a study of other files is shown as such, never as theirs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

STUDY = "study.json"
AMENDED = ("organisms-gpu", "study-pooled.json", "MANIFEST-pooled")  # amendment 4: beside the organisms' folder
READINGS = (("decision", None, "pooled (the amended answer)"), ("decision_by_device", "cpu", "CPU-trained seeds (as committed)"),
            ("decision_by_device", "cuda", "GPU-trained seeds alone"))


def _interval(d: dict) -> dict:
    """{value, low, high} of a study difference (diff), correlation (rho) or paired effect (delta), with its interval."""
    value = next(d[k] for k in ("diff", "rho", "delta") if k in d)
    return {"value": value, "low": d["interval"][0], "high": d["interval"][1]}


def _arm(name: str, organism: dict) -> dict | None:
    iv = organism.get("intervention")
    if not iv:
        return None
    runs = iv["runs"]
    return {"organism": name, "before": iv["before"]["follows_cue"], "floor": bool(iv.get("floor")),
            "ot": _interval(runs["ot@all"]["follows_cue"]),
            "ot_accuracy": runs["ot@all"].get("accuracy", {}).get("delta"),
            "beyond_random": _interval(iv["ot_minus_random"]), "beyond_logit": _interval(iv["ot_minus_logit"]),
            "reversed": runs.get("ot@all,alpha=-1", {}).get("follows_cue", {}).get("delta"),
            "early": runs.get("ot@early", {}).get("follows_cue", {}).get("delta"),
            "late": runs.get("ot@late", {}).get("follows_cue", {}).get("delta"),
            "bias": {name.split("b=")[1]: _interval(r["follows_cue"]) for name, r in runs.items() if name.startswith("bias@")}}


def _alignment_arm(arm: dict | str) -> dict:
    """The alignment arm's two differences, or the reason it was not run (amendment 4: fewer than 2 aligned seeds)."""
    if isinstance(arm, str):
        return {"aligned_not_run": arm}
    return {"aligned_mmd2": _interval(arm["mmd2_aligned_layers"]), "aligned_follows": _interval(arm["follows_cue"])}


def _is_of(study: dict, manifest: Path) -> bool:
    """Whether `study` was made from the files `manifest` names now (its recorded digest is the manifest's)."""
    return manifest.is_file() and study.get("manifest_sha256") == hashlib.sha256(manifest.read_bytes()).hexdigest()


def _seeds(study: dict, device: str | None) -> str:
    counts: dict[str, int] = {}
    for name, m in study.get("organisms", {}).items():
        if device is None or m.get("training_device", "cpu") == device:
            history = name.rsplit("-s", 1)[0]
            counts[history] = counts.get(history, 0) + 1
    return ", ".join(f"{h} {counts[h]}" for h in ("text-first", "joint", "aligned", "frozen") if h in counts)


def amended(folder: Path) -> dict | None:
    """Amendment 4's readings (docs/organisms.md), from the pooled study beside the organisms' folder
    (organisms-gpu/study-pooled.json); None where there is none. Each reading: its answers and the figures they
    rest on. `matches`: the study is of the pooled manifest committed beside it."""
    where = Path(folder).parent / AMENDED[0]
    path = where / AMENDED[1]
    if not path.is_file():
        return None
    shown = f"{where.parent.name}/{where.name}/{AMENDED[1]}"
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
        readings = []
        for key, device, label in READINGS:
            d = study[key] if device is None else study.get(key, {}).get(device)
            if not d:
                continue
            q1, q2 = d["q1"], d["q2"]
            iv = q2["intervention"]
            readings.append({"reading": label, "seeds": _seeds(study, device), "q1": q1["answer"], "q2": q2["answer"],
                             "relative": _interval(q1["relative"]), "layers_above": q1["layers_text_first_above_joint"],
                             "premise": _interval(q2["premise_text_first_minus_joint_follows"]),
                             "rho_mmd2": _interval(q2["correlation_with_follows_cue"]["mmd2"]),
                             "rho_attention": _interval(q2["correlation_with_follows_cue"]["attention_share"]),
                             **_alignment_arm(q2["aligned_minus_text_first"]),
                             "intervention": iv if isinstance(iv, str) else iv["seeds"]})
    except (OSError, ValueError, KeyError, TypeError) as err:
        return {"source": shown, "problem": f"unreadable ({type(err).__name__}: {err})"}
    return {"source": shown, "matches": _is_of(study, where / AMENDED[2]),
            "n": len(study.get("organisms", {})), "readings": readings}


def summary(folder: Path) -> dict | None:
    """The study of the organisms in `folder`, as the report shows it; None where no study was written there.
    A study.json that cannot be read is a summary with its `problem`, not an exception (the run goes on)."""
    path = Path(folder) / STUDY
    if not path.is_file():
        return None
    shown = f"{path.parent.parent.name}/{path.parent.name}/{STUDY}"  # e.g. fixtures/organisms/study.json, not this machine's path
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
        decision = study["decision"]
        q1, q2 = decision["q1"], decision["q2"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        return {"source": shown, "problem": f"unreadable ({type(err).__name__}: {err}); rerun python -m harness.organisms study"}
    organisms = study.get("organisms", {})
    return {
        "source": shown,
        "matches": _is_of(study, Path(folder) / "MANIFEST"),
        "organisms": sorted(organisms),
        "q1": {"answer": q1["answer"], "layers_above": q1["layers_text_first_above_joint"],
               "per_layer": [{"layer": int(k), "text_first": d["a"], "joint": d["b"], **_interval(d)}
                             for k, d in sorted(q1["per_layer"].items(), key=lambda kv: int(kv[0]))],
               "relative": _interval(q1["relative"])},
        "q2": {"answer": q2["answer"], "premise": _interval(q2["premise_text_first_minus_joint_follows"]),
               "at_floor": q2["at_floor"],
               "correlations": {f: _interval(d) for f, d in q2["correlation_with_follows_cue"].items()},
               **_alignment_arm(q2["aligned_minus_text_first"]),
               "intervention": q2["intervention"] if isinstance(q2["intervention"], str) else q2["intervention"]["seeds"]},
        "histories": [{"history": h["history"], "seeds": h["seeds"],
                       "mmd2_layers": [h[k] for k in sorted(h) if k.startswith("mmd2_L")],
                       **{k: h[k][0] for k in ("mmd2", "auc", "follows_cue", "accuracy", "text_reading", "image_reliance")},
                       "follows_range": h["follows_cue"][1:]} for h in study.get("histories", [])],
        "arms": [a for a in (_arm(n, organisms[n]) for n in sorted(organisms)) if a is not None],
        **({"amended": a} if (a := amended(folder)) else {}),
    }
