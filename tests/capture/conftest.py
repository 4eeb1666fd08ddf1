"""Tiny twins in fp32, loaded once per test session, and a few fixture samples."""

from __future__ import annotations

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.models import adapter_for, get_model_spec

TWINS = ("tiny-llava", "tiny-qwen2.5-vl", "tiny-llava-next")


def load(name: str, *, attn: str | None = None):
    spec = get_model_spec(name)
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    if attn:
        loaded.model.set_attn_implementation(attn)
    return loaded


@pytest.fixture(scope="session")
def samples():
    """Three fixture samples of different prompt lengths (so a batch of them is padded), en and zh."""
    everything = get_benchmark("fixture")((), seed=0)
    en = [s for s in everything if s.language == "en"][:2]
    zh = [s for s in everything if s.language == "zh"][:1]
    return en + zh


@pytest.fixture(scope="session", params=TWINS)
def twin(request):
    return load(request.param)


@pytest.fixture(scope="session", params=TWINS)
def eager_twin(request):
    return load(request.param, attn="eager")


@pytest.fixture
def fresh():
    """`load` itself, for a test that needs a twin no other test has run (nothing memoised on it yet)."""
    return load
