"""A block-diffusion model (DiffusionGemma): its prompt's keys are measured where its encoder computes them (the
conformance tests), but its answer is written on a canvas of drawn tokens, not as the next token after the prompt,
so the intervention study, which reads answers from next-token logits, is not run on it: the suite leaves its cases
out with a note, and a study started on it directly stops in one line. Before 2026-12-05 the study read the canvas
decoder's logits at prompt positions ("IndexError: index 229 is out of bounds for dimension 1 with size 8"; with a
canvas longer than the prompt, it would have read answers from random canvas tokens)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.benchmarks import get_benchmark
from harness.errors import KeyspaceError
from harness.intervention.options import INTERVENTION_OPTIONS, parse_intervention_config
from harness.intervention.run import PairStudy, StudySettings
from harness.intervention.suite import InterventionSession
from harness.run.options import OPTIONS, parse_config
from harness.run.session import KeyspaceRun

from .kit import loaded_checkpoint
from .zoo import BUILDERS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return loaded_checkpoint(*BUILDERS["diffusion_gemma"](), tmp_path_factory.mktemp("diffusion_gemma"))


def test_a_study_started_on_it_stops_in_one_line(loaded):
    samples = get_benchmark("fixture")((), seed=0)[:4]
    with pytest.raises(KeyspaceError, match=r": a block-diffusion model writes its answer on a canvas .* its interventions are not run$"):
        PairStudy.start(loaded, samples, "fixture", StudySettings(names=("mean",)))


def test_the_suite_plans_no_case_for_it_and_says_why(loaded, tmp_path):
    values = {o.name: o.default for o in OPTIONS} | {"models": f"hf:{loaded.spec.source}", "benchmarks": "fixture",
                                                     "results": str(tmp_path / "results.jsonl"), "report": str(tmp_path / "report.html")}
    run = KeyspaceRun(parse_config(values.__getitem__, ROOT))
    icfg = parse_intervention_config({o.name: o.default for o in INTERVENTION_OPTIONS}.__getitem__, tmp_path,
                                     run_results=tmp_path / "results.jsonl")
    assert run.plan()  # its keys are measured
    assert InterventionSession(run, icfg).plan() == []
    assert [n for n in run.notes if "block-diffusion" in n] == [
        f"hf:{loaded.spec.source}: a block-diffusion model writes its answer on a canvas of drawn tokens, not as the next "
        "token after the prompt, so the intervention study's answers (accuracy, hint-following), read from next-token "
        "logits, do not exist for it; its keys are measured by the keyspace suite, its interventions are not run"
    ]
