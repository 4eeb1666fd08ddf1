"""The suite's divergence checks on a trained model where the finding holds: they pass with the real
maps and fail where they should (controls), and cross-fitting measures every prompt once."""

from __future__ import annotations

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.intervention.fit import KINDS, Intervention
from harness.intervention.run import PairStudy, StudySettings
from harness.models import adapter_for, get_model_spec

LAYER = 1  # organism-joint: the triple check finds the gap here on the fixture (lower bound > 1), bound by an image split


@pytest.fixture(scope="module")
def study():
    spec = get_model_spec("organism-joint")
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    samples = get_benchmark("fixture")((), seed=0)
    return PairStudy.start(loaded, samples, "fixture", StudySettings(names=("mean", "moments", "random"), n_boot=300,
                                                                     ratio_boot=100, permutations=200))


def test_every_prompt_is_measured_once_with_a_map_fitted_on_the_other_half(study):
    (f0, f1) = study.folds
    ids = lambda xs: {x.id for x in xs}  # noqa: E731
    assert ids(f0.fit) == ids(f1.held) and ids(f1.fit) == ids(f0.held) and not ids(f0.fit) & ids(f0.held)
    assert sorted(ids(study.held)) == sorted(x.id for x in get_benchmark("fixture")((), seed=0))
    units = lambda xs: {study.strata[x.id]["unit"] for x in xs}  # noqa: E731
    assert not units(f0.fit) & units(f0.held)  # no image is both fitted and measured in a fold
    assert set(study.blocks.values()) == {0, 1} and len(study.blocks) == len(units(study.held))


def test_moments_passes_with_its_own_maps_and_fails_with_a_map_that_does_not_align(study):
    real = study.result(LAYER, "moments")
    before, after = real.divergence["before"], real.divergence["after"]
    assert before["triple_passes"], before  # the checks are decided here: the finding holds before
    assert real.status == "passed", real.message
    assert real.map["fit_error"]["cov"] < 1e-9 and real.divergence["change"]["change_high"] < 0
    assert after["low"] < 1.0
    # the intra-modal level the check compares with is the model's own, before the map changed the image keys
    assert after["vs_before_intra"]["intra"] == pytest.approx(before["intra"])
    assert after["vs_before_intra"]["intra"] != pytest.approx(after["intra"])
    # Control: the random-direction maps, labelled `moments`, keep the gap: both divergence checks fail.
    study.interventions[LAYER]["moments"] = tuple(
        Intervention(KINDS["moments"], LAYER, r.map, m.fit_error)
        for r, m in zip(study.interventions[LAYER]["random"], study.interventions[LAYER]["moments"])
    )
    del study.conditions[(LAYER, "moments")]
    wrong = study.result(LAYER, "moments")
    assert wrong.status == "failed"
    assert "did not fall" in wrong.message and "beyond the intra-modal level" in wrong.message
