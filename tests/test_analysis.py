"""The verdict on known answers: planted shift passes, no shift fails, guards turn bad keys into errors."""

from dataclasses import replace

import pytest
import torch

from harness.analysis import AnalysisError, AnalysisSettings, analyze_layer
from harness.controls import synthetic_bank
from harness.labels import IMAGE, TEXT

SETTINGS = AnalysisSettings(threshold=1.0, alpha=0.01, permutations=200, n_boot=100, tsne_cap=0)


def with_vectors(bank, vectors):
    layer = bank.layers[0]
    return replace(bank, layers={0: replace(layer, vectors=vectors)})


def test_planted_shift_passes_and_no_shift_fails():
    shifted = analyze_layer(synthetic_bank(seed=0, shift=1.0), 0, SETTINGS)
    assert shifted.passed and shifted.extra["ratio_interval"]["low"] >= 1 and shifted.p_value < 0.01
    same = analyze_layer(synthetic_bank(seed=0, shift=0.0), 0, SETTINGS)
    assert not same.passed and same.status == "failed"
    assert "lower bound must be ≥ 1" in same.message


def test_js_and_auc_follow_the_shift():
    far = analyze_layer(synthetic_bank(seed=0, shift=2.0), 0, SETTINGS)
    none = analyze_layer(synthetic_bank(seed=0, shift=0.0), 0, SETTINGS)
    assert far.extra["auc"] > 0.9 > 0.6 > none.extra["auc"]
    assert far.extra["js"]["classifier"]["bits"] > 0.3 > 0.05 > none.extra["js"]["classifier"]["bits"]


def test_by_benchmark_baseline_can_overturn_the_verdict():
    bank = synthetic_bank(seed=0, shift=1.0)
    other = synthetic_bank(seed=1, shift=1.0)
    # The other benchmark's text keys sit far away: text differs more across benchmarks than image from text.
    moved = other.layers[0].vectors.clone()
    moved[other.layers[0].modality == TEXT] += 5.0
    result = analyze_layer(bank, 0, SETTINGS, other=with_vectors(other, moved))
    assert "text/by-benchmark" in result.intra and not result.passed
    assert "by-benchmark baseline" in result.message
    calm = analyze_layer(bank, 0, SETTINGS, other=other)
    assert calm.passed and calm.intra["text/by-benchmark"] < result.intra["text/by-benchmark"]


def test_non_finite_keys_are_an_error_not_a_pass():
    bank = synthetic_bank(seed=0, shift=3.0)
    vectors = bank.layers[0].vectors.clone()
    idx = torch.nonzero(bank.layers[0].modality == IMAGE).squeeze(1)[:3]
    vectors[idx, 0] = float("inf")
    with pytest.raises(AnalysisError, match="3 of .* image vectors are not finite.*--ks-dtype float32"):
        analyze_layer(with_vectors(bank, vectors), 0, SETTINGS)


def test_empty_modality_is_an_error_not_a_division_by_zero():
    bank = synthetic_bank(seed=0)
    layer = bank.layers[0]
    only_text = replace(bank, layers={0: replace(layer, modality=torch.full_like(layer.modality, TEXT))})
    with pytest.raises(AnalysisError, match="only 0 image vectors captured"):
        analyze_layer(only_text, 0, SETTINGS)


def test_the_verdict_uses_the_lower_bound_not_the_point_ratio():
    # Few samples, small shift: the point ratio clears the threshold six times over, its lower bound does not.
    result = analyze_layer(synthetic_bank(seed=0, samples=6, shift=0.15), 0, SETTINGS)
    assert result.ratio > 5 and result.p_value < 0.01
    assert result.extra["ratio_interval"]["low"] < 1
    assert not result.passed and "lower bound must be ≥ 1" in result.message
