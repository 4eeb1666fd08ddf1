"""The default token cap: a seeded reservoir balanced across prompts, sized from --ks-max-points."""

from __future__ import annotations

import json

from dataclasses import asdict, replace

from pathlib import Path

import pytest
import torch

from harness.analysis.triple import AnalysisSettings, analyze_layer
from harness.benchmarks import get_benchmark
from harness.capture.keys import TokenCaps, balance, capture_keys, parse_max_tokens
from harness.errors import KeyspaceError
from harness.models.labels import MODALITY_NAMES
from harness.models import adapter_for, get_model_spec
from harness.run.options import OPTIONS, parse_config


def _config(**overrides):
    values = {o.name: o.default for o in OPTIONS} | overrides
    return parse_config(values.__getitem__, Path("."))


def _rows(layer) -> list[tuple[int, int]]:
    return list(zip(layer.sample.tolist(), layer.position.tolist()))


@pytest.fixture(scope="module")
def llava():
    spec = get_model_spec("tiny-llava")
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


@pytest.fixture(scope="module")
def twelve():
    """Twelve fixture prompts, English and Chinese."""
    return get_benchmark("fixture")((), seed=0)[:12]


def test_auto_is_sized_from_the_analysis_cap():
    assert _config().max_tokens.source == "balanced=1500"
    assert _config(**{"max-points": "400"}).max_tokens.source == "balanced=400"
    assert _config(**{"max-tokens": "none"}).max_tokens.source == "none"
    assert parse_max_tokens("balanced=300,image=50") == TokenCaps(per_modality={"image": 50}, balanced=300)
    assert parse_max_tokens("auto", max_points=90) == TokenCaps(balanced=90)
    with pytest.raises(KeyspaceError, match="--ks-max-tokens: 'balanced=0' must be at least 1"):
        parse_max_tokens("balanced=0")


def test_per_prompt_share():
    caps = TokenCaps(balanced=1500)
    assert caps.per_prompt(200) == 8 and caps.per_prompt(72) == 21 and caps.per_prompt(1) == 1500
    assert TokenCaps().per_prompt(10) is None
    assert caps.describe(200, seed=3) == {"seed": 3, "balanced": {"per_modality": 1500, "prompts": 200, "per_prompt": 8}}


def test_each_prompt_keeps_an_equal_share_of_each_modality(llava, twelve):
    full = capture_keys(llava, twelve, [1], benchmark="t")
    capped = capture_keys(llava, twelve, [1], benchmark="t", max_tokens=TokenCaps(balanced=60), seed=5)
    share = 5  # ceil(60 / 12)
    for code, name in MODALITY_NAMES.items():
        for s in range(len(twelve)):
            have = int(((full.layers[1].sample == s) & (full.layers[1].modality == code)).sum())
            kept = int(((capped.layers[1].sample == s) & (capped.layers[1].modality == code)).sum())
            assert kept == min(have, share), (name, s)
        assert capped.kept[name] + capped.dropped[name] == full.kept[name]
    assert capped.sampling == {"seed": 5, "balanced": {"per_modality": 60, "prompts": 12, "per_prompt": 5}}
    # kept rows are real rows, with the vectors the full capture has for them
    index = {row: i for i, row in enumerate(_rows(full.layers[1]))}
    picks = [index[row] for row in _rows(capped.layers[1])]
    assert torch.equal(capped.layers[1].vectors, full.layers[1].vectors[picks])
    other = capture_keys(llava, twelve, [1], benchmark="t", max_tokens=TokenCaps(balanced=60), seed=6)
    assert _rows(other.layers[1]) != _rows(capped.layers[1])  # the seed chooses


def test_same_tokens_at_any_batch_size_and_as_balance_picks_from_a_full_bank(llava, twelve):
    caps = TokenCaps(balanced=60)
    a = capture_keys(llava, twelve, [0, 2], benchmark="t", max_tokens=caps, seed=1, batch_size=1)
    b = capture_keys(llava, twelve, [0, 2], benchmark="t", max_tokens=caps, seed=1, batch_size=5)
    picked = balance(capture_keys(llava, twelve, [0, 2], benchmark="t", batch_size=12), 60, seed=1)
    for i in (0, 2):
        assert _rows(a.layers[i]) == _rows(b.layers[i]) == _rows(picked.layers[i])
        assert torch.equal(a.layers[i].modality, picked.layers[i].modality)
        assert torch.allclose(a.layers[i].vectors, picked.layers[i].vectors, atol=1e-5, rtol=0)
    assert (picked.kept, picked.dropped, picked.sampling) == (a.kept, a.dropped, a.sampling)


def test_figures_equal_those_of_the_full_bank_subsampled_the_same_way(llava, twelve):
    """Capture with the reservoir, or capture everything and pick the same tokens: the same triple."""
    settings = AnalysisSettings(threshold=1.0, alpha=0.01, permutations=100, n_boot=30, max_points=40, tsne_cap=50)
    capped = capture_keys(llava, twelve, [2], benchmark="t", max_tokens=TokenCaps(balanced=48), seed=0, batch_size=12)
    picked = balance(capture_keys(llava, twelve, [2], benchmark="t", batch_size=12), 48, seed=0)
    a, b = (asdict(analyze_layer(bank, 2, replace(settings))) for bank in (capped, picked))
    a.pop("seconds"), b.pop("seconds")
    assert a["n_image"] == 40 and a["n_text"] == 40  # the analysis still draws its own cap from the bank
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN (a tier not computable at 12 prompts) equals NaN
    full = asdict(analyze_layer(capture_keys(llava, twelve, [2], benchmark="t", batch_size=12), 2, settings))
    assert full["mmd2"] != a["mmd2"]  # the bank's sampling does shape the figures: the comparison can fail
