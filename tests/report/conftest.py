"""Realistic synthetic TripleResults (every extra figure the engine records) for the report tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.results.records import TripleResult

MODELS = ("tiny-llava", "tiny-qwen2.5-vl")
LAYERS = (0, 2, 3)
BENCHMARKS = ("fixture", "mmbench-cn")
CONTROLS = {"shuffled-labels": 0.9, "text-as-image": 1.4, "synthetic-shift": 60.0}  # name → ratio it shows


def tsne_points(n: int, seed: int, *, separated: bool = True) -> dict:
    """A t-SNE map of n points: three blobs (image / text / special) as openTSNE would leave them."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["image", "text", "special"], size=n, p=[0.35, 0.55, 0.10])
    centres = {"image": (-18.0, 4.0), "text": (15.0, -3.0), "special": (2.0, 20.0)} if separated else {}
    pts = [
        [round(float(x), 4), round(float(y), 4)]
        for (x, y) in (rng.normal(centres.get(lab, (0.0, 0.0)), 6.0) for lab in labels)
    ]
    return {"points": pts, "labels": [str(x) for x in labels], "cap": n, "method": "openTSNE"}


def triple(model: str = "tiny-llava", layer: int = 2, benchmark: str = "fixture", *, ratio: float = 40.0,
           status: str | None = None, control: str | None = None, tsne_n: int = 600, seed: int = 0,
           message: str = "", extra: dict | None = None, **fields) -> TripleResult:
    """One finished triple with every figure; `ratio` sets the cross-modal gap, the rest follows."""
    rng = np.random.default_rng(seed)
    intra = {
        "image/random": 0.0008 * (1 + rng.random()), "text/random": -0.0002 + 0.0004 * rng.random(),
        "image/by-sample": 0.0015 * (1 + rng.random()), "text/by-sample": 0.0011 * (1 + rng.random()),
        "image/by-benchmark": 0.0020 * (1 + rng.random()),
    }
    denominator = max(intra.values())
    mmd2 = ratio * denominator
    threshold, alpha = 10.0, 0.01
    p = 1 / 1001 if ratio > 3 else 0.2 + 0.5 * rng.random()
    passed = ratio >= threshold and p < alpha
    figures = {
        "js": {"classifier": {"bits": min(1.0, 0.02 * ratio ** 0.8), "estimator": "classifier-logloss"},
               "knn": {"bits": min(1.0, 0.018 * ratio ** 0.8), "estimator": "knn-k5"}},
        "auc": min(0.999, 0.5 + 0.01 * ratio),
        "ratio_interval": {"low": ratio * 0.82, "high": ratio * 1.21, "level": 0.95, "n_boot": 200},
        "logit_gap": 0.05 * ratio ** 0.5 + rng.random(),
        "attention_share": max(0.05, 1.0 - 0.01 * ratio),
        "capture_seconds": 3.5 + rng.random(),
        "baseline_drift": {"status": "ok", "figures": {"mmd2": {"expected": mmd2, "actual": mmd2, "rtol": 0.05}}},
        "tsne": tsne_points(tsne_n, seed),
    }
    if control:
        figures["control"] = control
    figures.update(extra or {})
    values = dict(
        model=model, layer=layer, benchmark=benchmark, status=status or ("passed" if passed else "failed"),
        n_image=1500, n_text=1500, mmd2=mmd2, mmd=math.sqrt(max(mmd2, 0.0)), p_value=p, permutations=1000,
        bandwidth=1.2 + 0.1 * layer, space="raw", intra=intra, ratio=ratio, threshold=threshold, alpha=alpha,
        passed=passed, seconds=1.1 + rng.random(), counts={"image": 4608, "text": 8675, "special": 1368},
        config_id="fe2a809a26b3", samples_digest="71593a788b367cff",
        message=message or ("" if passed else f"ratio {ratio:.3g} < threshold {threshold:g}"), extra=figures,
    )
    values.update(fields)
    return TripleResult(**values)


def result_set(tsne_n: int = 600) -> list[TripleResult]:
    """2 models × 3 layers × 2 benchmarks, one of them failing, plus the three controls."""
    out = []
    for m, model in enumerate(MODELS):
        for b, bench in enumerate(BENCHMARKS):
            for layer in LAYERS:
                ratio = 8.0 if (m, b, layer) == (1, 1, 3) else 30.0 + 40.0 * layer + 25.0 * m
                out.append(triple(model, layer, bench, ratio=ratio, tsne_n=tsne_n, seed=100 * m + 10 * b + layer))
    for i, (name, ratio) in enumerate(CONTROLS.items()):
        out.append(triple(MODELS[0], 2, "fixture", ratio=ratio, control=name, tsne_n=tsne_n, seed=900 + i))
    return out


RUN_INFO = {
    "harness": "0.1.0", "torch": "2.13.0+cpu", "transformers": "5.23.0", "python": "3.11.9",
    "device": "cpu: x86_64", "dtype": "float32", "seed": 0, "git_commit": "efab50c", "config_id": "fe2a809a26b3",
    "options": {"models": "tiny-llava,tiny-qwen2.5-vl", "benchmarks": "fixture,mmbench-cn", "layers": "default"},
    "samples": {"fixture": {"count": 72, "digest": "71593a788b367cff"}, "mmbench-cn": {"count": 72, "digest": "71593a788b367cff"}},
}


@pytest.fixture
def results() -> list[TripleResult]:
    return result_set()


@pytest.fixture
def run_info() -> dict:
    return dict(RUN_INFO)


@pytest.fixture
def make_triple():
    return triple


@pytest.fixture(scope="session")
def synthetic_report(tmp_path_factory) -> tuple[list[TripleResult], str]:
    """The full synthetic result set (2 models × 3 layers × 2 benchmarks + controls), rendered once."""
    from harness.report import render_report

    results = result_set()
    path = render_report(results, tmp_path_factory.mktemp("report") / "report.html", run_info=dict(RUN_INFO))
    return results, path


# -- intervention records covering every outcome the report names ------------------------------------------
from dataclasses import replace as _replace  # noqa: E402

from harness.intervention.results import InterventionResult  # noqa: E402

UNDECIDED = "before, the triple check does not find the gap here (p 0.3, ratio 0.8 [0.2, 2]): there is no gap beyond the intra-modal effects to close, so "


def effect(before, after, low=None, high=None, **more) -> dict:
    low = before - 0.05 if low is None else low
    high = before + 0.05 if high is None else high
    change = after - before
    return {"before": before, "after": after, "change": change, "before_low": low, "before_high": high,
            "after_low": after - 0.05, "after_high": after + 0.05, "change_low": change - 0.02,
            "change_high": change + 0.02, "n_prompts": 40, "level": 0.9, "n_boot": 200, **more}


def record(name="mean", *, model="organism-a", layer=2, benchmark="world", triple_passes=True, accuracy=0.9,
           status="passed", failed=(), notes=None) -> InterventionResult:
    div = {"before": {"mmd2": 0.1, "intra": 0.01, "ratio": 2.84, "low": 0.832, "high": 19.5, "sigma": 1.0, "units": 40,
                      "p_value": 0.001, "triple_passes": triple_passes},
           "after": {"mmd2": 0.01, "intra": 0.01, "ratio": 0.5, "low": 0.25, "high": 1.0, "sigma": 1.0, "units": 40},
           "change": {"change": -0.09, "change_low": -0.1, "change_high": -0.08}}
    r = InterventionResult(
        model=model, layer=layer, benchmark=benchmark, intervention=name, control=name in ("random", "text-mean"),
        divergence=div, n_fit_prompts=[20, 20], n_fit_units=[20, 20], n_held_prompts=40, n_held_units=40,
        effects={"attention_share": effect(0.5, 0.8), "logit_gap": effect(-1.2, -0.4),
                 "accuracy": effect(accuracy, accuracy, chance=0.25), "hint_following": effect(0.61, 0.35)},
        notes=dict(notes or {}), settings={"threshold": 1.0}, map={"fit_error": {"mean": 1e-9}},
    )
    return _replace(r, status=status, failed_checks=list(failed), message="the check failed here" if failed else "")


def outcome_set() -> list[InterventionResult]:
    """organism-a: one of each outcome; organism-b: nothing decidable, answering at chance."""
    return [
        record("mean"),  # passed
        record("moments", triple_passes=False, notes={"divergence_change": UNDECIDED + "whether the MMD² falls is not checked",
                                                      "divergence": UNDECIDED + "reaching the level is not checked"}),
        record("random", status="failed", failed=["random_vs_mean_attention"]),  # stored: a known outcome
        record("text-mean", status="failed", failed=["divergence_change"]),  # not stored: failed
        *[record(name, model="organism-b", benchmark="fixture", triple_passes=False, accuracy=0.26,
                 notes={"divergence_change": UNDECIDED + "whether the MMD² falls is not checked"})
          for name in ("mean", "text-mean")],
    ]


KNOWN = {("organism-a", 2, "world", "random"): "as in the stored baseline (random_vs_mean_attention failed there too)"}


@pytest.fixture
def iv_records() -> tuple[list[InterventionResult], dict]:
    """outcome_set() and its stored, known outcomes."""
    return outcome_set(), dict(KNOWN)


@pytest.fixture
def synthetic_inputs() -> tuple[list[TripleResult], dict]:
    """The synthetic result set and its run metadata, to render with other arguments."""
    return result_set(), dict(RUN_INFO)
