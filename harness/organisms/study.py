"""The organisms study (docs/organisms.md, "Pre-registration"): behaviour and key-space figures of every organism,
history effects with intervals over seeds, correlations across organisms, and the pre-registered decision.

    python -m harness.organisms study [--root fixtures/organisms] [--out DIR]

Per organism: the conflict probe on all held-out probe scenes (both languages) with item-bootstrap intervals;
per layer, the harness's own triple (analyze_layer) on the `world` benchmark: between-prompt MMD² image–text,
ratio and verdict, classifier AUC, and the mechanism figures (attention share over text queries and at the
answer position). Everything is written to `study.json`; `decide` applies the pre-registered rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy import stats

from . import data, evaluate

LEVEL = 0.90
FIGURES = ("mmd2", "auc", "attention_share", "last_attention_share")  # key-space and attention figures per layer
BEHAVIOUR = ("accuracy", "follows_cue", "conflict_accuracy", "text_reading", "masked_accuracy", "image_reliance")


def item_interval(values: np.ndarray, *, seed: int = 0, n_boot: int = 2000) -> tuple[float, float]:
    """Bootstrap interval (LEVEL, percentile) of the mean of per-item values, resampling items."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(len(values), size=(n_boot, len(values)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(lo), float(hi)


def behaviour(model: Any, processor: Any, probe: evaluate.Probe) -> dict:
    """The conflict probe's figures with item-bootstrap intervals, and the per-item outcomes they come from."""
    out = evaluate.probe_outcomes(model, processor, probe)
    truth = np.array([qa.answer for qa in probe.questions])
    cues = np.array(probe.cues)
    per_item = {
        "accuracy": np.array(out["image"]["picked"]) == truth,
        "follows_cue": np.array(out["conflict"]["picked"]) == cues,
        "conflict_accuracy": np.array(out["conflict"]["picked"]) == truth,
        "text_reading": np.array(out["text"]["picked"]) == cues,
        "masked_accuracy": np.array(out["masked"]["picked"]) == truth,
        "image_reliance": out["image"]["logp_right"] - out["masked"]["logp_right"],
    }
    return {k: {"value": float(np.mean(v)), "interval": item_interval(v.astype(float)), "n": len(v)} for k, v in per_item.items()}


def keyspace(folder: Path, *, layers: Sequence[int] = (0, 1, 2, 3), benchmark: str = "world") -> dict[int, dict]:
    """Layer → the harness's triple figures for the organism checkpoint at `folder` on `benchmark`."""
    import torch

    from harness.analysis.selection import sample_strata  # deferred: the study loads its models only when it runs
    from harness.analysis.triple import AnalysisSettings, analyze_layer
    from harness.benchmarks import LoadOptions, load_benchmark
    from harness.capture.keys import capture_keys
    from harness.capture.mechanism import mechanism_metrics
    from harness.models import adapter_for, get_model_spec

    spec = get_model_spec(f"hf:{folder}")
    loaded = adapter_for("llava").load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    samples, _ = load_benchmark(benchmark, (), seed=0, options=LoadOptions())
    bank = capture_keys(loaded, samples, list(layers), benchmark=benchmark)
    bank = replace(bank, mechanism=mechanism_metrics(loaded, samples, list(layers)))
    settings = AnalysisSettings(threshold=1.0, alpha=0.05, permutations=100, n_boot=100, tsne_cap=0)  # figures, not verdicts
    strata = sample_strata(samples)
    out = {}
    for layer in layers:
        r = analyze_layer(bank, layer, settings, strata=strata)
        mech = r.extra.get("mechanism", {})
        out[layer] = {"mmd2": r.mmd2, "mmd2_interval": [r.extra["mmd2_interval"]["low"], r.extra["mmd2_interval"]["high"]],
                      "ratio": r.ratio, "passed": r.passed, "auc": r.extra.get("auc"),
                      "js_classifier_bits": r.extra["js"].get("classifier", {}).get("bits"),
                      "attention_share": mech.get("attention_share"), "last_attention_share": mech.get("last_attention_share"),
                      "logit_gap": mech.get("logit_gap")}
    return out


INTERVENED = ("text-first", "frozen")  # histories whose every seed gets the intervention arm
FIT_SCENES = 60  # held-out (not probe) scenes whose plain questions the maps are fitted on


def measure(root: Path, names: Sequence[str], *, world_seed: int, n_probe: int, probe_seed: int) -> dict:
    """Every organism's behaviour and key-space figures; the intervention arm for the INTERVENED histories."""
    from .intervene import fitting_items, intervention_arm  # deferred: the study loads its models only when it runs

    from .build import _quiet  # deferred: the study loads its models only when it runs
    from .checkpoint import load

    _quiet()
    w = data.make_world(world_seed, n_images=0, n_text=0, n_eval=FIT_SCENES, n_probe=n_probe)
    probe = evaluate.conflict_probe(w.probe_scenes, w.probe_images, seed=probe_seed)
    fit = fitting_items(w.eval_scenes, w.eval_images)
    out = {}
    for name in names:
        model, processor = load(root / name)
        out[name] = {"behaviour": behaviour(model, processor, probe), "keyspace": keyspace(root / name)}
        if name.rsplit("-s", 1)[0] in INTERVENED:
            out[name]["intervention"] = intervention_arm(model, processor, fit, probe)
        print(f"{name}: follows_cue {out[name]['behaviour']['follows_cue']['value']:.3f}, "
              f"MMD² {[round(v['mmd2'], 4) for v in out[name]['keyspace'].values()]}", flush=True)
    return out


# -- over seeds and organisms ---------------------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    """Difference of two histories' seed means, with a t interval (pooled variance, 2(n − 1) df, LEVEL)."""

    a: float
    b: float
    diff: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "diff": self.diff, "interval": [self.low, self.high], "seeds": self.n}


def difference(a: Sequence[float], b: Sequence[float]) -> Difference:
    a_, b_ = np.asarray(a, float), np.asarray(b, float)
    if len(a_) < 2 or len(b_) < 2:
        raise ValueError(f"difference: {len(a_)} and {len(b_)} seeds; an interval over seeds needs at least 2 of each")
    df = len(a_) + len(b_) - 2
    pooled = ((len(a_) - 1) * a_.var(ddof=1) + (len(b_) - 1) * b_.var(ddof=1)) / df
    se = float(np.sqrt(pooled * (1 / len(a_) + 1 / len(b_))))
    t = float(stats.t.ppf((1 + LEVEL) / 2, df))
    d = float(a_.mean() - b_.mean())
    return Difference(float(a_.mean()), float(b_.mean()), d, d - t * se, d + t * se, min(len(a_), len(b_)))


def spearman(x: Sequence[float], y: Sequence[float], *, seed: int = 0, n_boot: int = 2000) -> dict:
    """Spearman ρ with a bootstrap interval over organisms (LEVEL, percentile; resamples with one value skipped)."""
    x_, y_ = np.asarray(x, float), np.asarray(y, float)
    if len(set(x_)) < 2 or len(set(y_)) < 2:  # a constant figure has no rank correlation
        return {"rho": float("nan"), "interval": [float("nan"), float("nan")], "n": len(x_)}
    rho = float(stats.spearmanr(x_, y_).statistic)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(len(x_), size=len(x_))
        if len(set(x_[i])) > 1 and len(set(y_[i])) > 1:
            boots.append(stats.spearmanr(x_[i], y_[i]).statistic)
    lo, hi = np.quantile(boots, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return {"rho": rho, "interval": [float(lo), float(hi)], "n": len(x_)}


def by_history(measured: dict, history: str) -> list[dict]:
    """The measured organisms of `history` (folder names HISTORY-sK), in seed order."""
    names = sorted((n for n in measured if n.rsplit("-s", 1)[0] == history), key=lambda n: int(n.rsplit("-s", 1)[1]))
    return [measured[n] for n in names]


def layer_mean(m: dict, figure: str, layers: Sequence[int] | None = None) -> float:
    ks = m["keyspace"]
    return float(np.mean([ks[lay][figure] for lay in (layers if layers is not None else ks)]))


def decide(measured: dict, *, aligned_layers: Sequence[int], intervention: dict | None = None) -> dict:
    """The pre-registered decision (docs/organisms.md): Q1 (does the key-space gap track history?) and Q2 (is excess
    text reliance caused by where image keys lie?), each "supported", "refuted" or "undecided", with the figures."""
    tf, joint, aligned = (by_history(measured, h) for h in ("text-first", "joint", "aligned"))
    layers = sorted(tf[0]["keyspace"], key=int)
    per_layer = {lay: difference([m["keyspace"][lay]["mmd2"] for m in tf], [m["keyspace"][lay]["mmd2"] for m in joint])
                 for lay in layers}
    above = sum(d.low > 0 for d in per_layer.values())
    avg = difference([layer_mean(m, "mmd2") for m in tf], [layer_mean(m, "mmd2") for m in joint])
    relative = {"diff": avg.diff / avg.b, "interval": [avg.low / avg.b, avg.high / avg.b]}
    q1 = "supported" if above >= 3 else "refuted" if relative["interval"][1] < 0.10 else "undecided"

    follows = lambda ms: [m["behaviour"]["follows_cue"]["value"] for m in ms]  # noqa: E731
    premise = difference(follows(tf), follows(joint))
    everyone = list(measured.values())
    correlations = {f: spearman([layer_mean(m, f) for m in everyone], follows(everyone)) for f in FIGURES}
    if len(aligned) >= 2:
        align_mmd = difference([layer_mean(m, "mmd2", aligned_layers) for m in aligned], [layer_mean(m, "mmd2", aligned_layers) for m in tf])
        align_follow = difference(follows(aligned), follows(tf))
        arm = {"mmd2_aligned_layers": align_mmd.as_dict(), "follows_cue": align_follow.as_dict()}
        align_supports, align_refutes = align_mmd.high < 0 and align_follow.high < 0, align_mmd.high < 0 and align_follow.low > -0.05
    else:  # amendment 4: a set without two aligned seeds reads the rule with the alignment arm not run
        arm, align_supports, align_refutes = f"not run ({len(aligned)} aligned seeds; it needs 2)", False, False
    floor = float(np.mean(follows(tf))) < 0.05
    iv = intervention or {}
    supports = (premise.low > 0 and correlations["mmd2"]["interval"][0] > 0 and (align_supports or iv.get("supports", False)))
    refutes = align_refutes or iv.get("refutes", False)
    q2 = "undecided" if floor or supports == refutes else "supported" if supports else "refuted"
    return {
        "q1": {"answer": q1, "layers_text_first_above_joint": above, "per_layer": {lay: d.as_dict() for lay, d in per_layer.items()},
               "layer_mean": avg.as_dict(), "relative": relative},
        "q2": {"answer": q2, "premise_text_first_minus_joint_follows": premise.as_dict(), "at_floor": floor,
               "correlation_with_follows_cue": correlations,
               "aligned_minus_text_first": arm,
               "intervention": iv or "not run", "supports": supports, "refutes": refutes},
    }


def intervention_summary(measured: dict) -> dict | None:
    """The intervention arm over text-first's seeds: supports / refutes when more than half of the seeds do (pre-registered
    as "at least 2 of 3 seeds"; amendment 4 reads it so for any number of seeds, the same at three)."""
    from .intervene import arm_verdict  # deferred: the study loads its models only when it runs

    arms = [m["intervention"] for m in by_history(measured, "text-first") if "intervention" in m]
    if not arms:
        return None
    verdicts = [arm_verdict(a) for a in arms]
    return {"seeds": verdicts, "supports": 2 * verdicts.count("supports") > len(verdicts),
            "refutes": 2 * verdicts.count("refutes") > len(verdicts)}


def history_table(measured: dict, histories: Sequence[str]) -> list[dict]:
    """Per history: seed mean, min and max of each behaviour figure and the layer-averaged key-space figures."""
    rows = []
    for h in histories:
        ms = by_history(measured, h)
        if not ms:
            continue
        row = {"history": h, "seeds": len(ms)}
        for f in BEHAVIOUR:
            v = [m["behaviour"][f]["value"] for m in ms]
            row[f] = [float(np.mean(v)), float(min(v)), float(max(v))]
        for f in FIGURES:
            v = [layer_mean(m, f) for m in ms]
            row[f] = [float(np.mean(v)), float(min(v)), float(max(v))]
        for lay in sorted(ms[0]["keyspace"], key=int):
            row[f"mmd2_L{lay}"] = float(np.mean([m["keyspace"][lay]["mmd2"] for m in ms]))
        rows.append(row)
    return rows


def decisions(measured: dict, aligned_layers: Sequence[int]) -> dict:
    """`decision` over every organism measured, and where they were trained on more than one device,
    `decision_by_device` over each device's own (amendment 4: reported side by side); a set without two seeds of
    text-first and of joint has none."""
    def one(ms: dict) -> dict | None:
        if all(len(by_history(ms, h)) >= 2 for h in ("text-first", "joint")):
            return decide(ms, aligned_layers=aligned_layers, intervention=intervention_summary(ms))
        return None

    out = {}
    if (pooled := one(measured)) is not None:
        out["decision"] = pooled
    devices = sorted({m.get("training_device", "cpu") for m in measured.values()})
    if len(devices) > 1:
        out["decision_by_device"] = {d: one({n: m for n, m in measured.items() if m.get("training_device", "cpu") == d})
                                     for d in devices}
    return out


def _is_built(folder: str, histories: Sequence[str]) -> bool:
    """Whether `folder` is a HISTORY-sK organism of the pre-registered recipe (the first recipe's folders are not)."""
    history, _, seed = folder.rpartition("-s")
    return history in histories and seed.isdigit()


def run_study(root: Path, out: Path) -> dict:
    """Measure every organism under `root` (folders HISTORY-sK with a training.json), decide, write `out`/study.json
    with the digest of the files measured (`manifest_sha256`), so a report can tell whether it is still theirs."""
    from .build import ALIGNED_LAYERS, HISTORIES, manifest_digest  # deferred: the study loads its models only when it runs
    from .probe import PROBE_SEED_OFFSET

    names = sorted(p.parent.name for p in root.glob("*-s*/training.json") if _is_built(p.parent.name, HISTORIES))
    if not names:
        raise SystemExit(f"study: no organism under {root} (folders HISTORY-sK with a training.json); build them first: python -m harness.organisms train")
    record = json.loads((root / names[0] / "training.json").read_text(encoding="utf-8"))
    world_seed, n_probe = record["world_seed"], record["plan"]["n_probe"]
    measured = measure(root, names, world_seed=world_seed, n_probe=n_probe, probe_seed=world_seed + PROBE_SEED_OFFSET)
    for name in names:  # the device its training steps ran on (amendment 4: a set may pool CPU- and GPU-trained seeds)
        env = json.loads((root / name / "training.json").read_text(encoding="utf-8"))["environment"]
        measured[name]["training_device"] = env.get("training_device", {}).get("device", "cpu")
    result = {"manifest_sha256": manifest_digest(root), "organisms": measured, "histories": history_table(measured, HISTORIES)}
    result.update(decisions(measured, ALIGNED_LAYERS))
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.json").write_text(json.dumps(result, indent=1, default=_plain) + "\n", encoding="utf-8")
    print(json.dumps(result["histories"], indent=1, default=_plain))
    if "decision" in result:
        print("Q1:", result["decision"]["q1"]["answer"], "Q2:", result["decision"]["q2"]["answer"])
    return result


def _plain(x: Any) -> Any:
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    raise TypeError(f"not JSON: {type(x).__name__}")
