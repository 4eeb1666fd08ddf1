"""Tiny twins in fp32 for the intervention tests, and a few fixture prompts."""

from __future__ import annotations

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.models import adapter_for, get_model_spec

# Two families: LLaVA (Llama decoder, RoPE, no k_proj bias) and Qwen2.5-VL (M-RoPE, k_proj bias, GQA).
TWINS = ("tiny-llava", "tiny-qwen2.5-vl")
SHARPEN = 10.0  # q and k weights × 10: logits × 100, so attention is far from uniform and errors show


def load(name: str, *, attn: str = "eager", sharpen: bool = False):
    spec = get_model_spec(name)
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    loaded.model.set_attn_implementation(attn)
    projections = [loaded.adapter.projection(layer, p) for layer in loaded.layers for p in "qk"] if sharpen else []
    with torch.no_grad():
        for param in (param for proj in projections for param in proj.parameters()):  # weight and bias
            param.mul_(SHARPEN)
    return loaded


@pytest.fixture(scope="session")
def prompts():
    """Eight fixture prompts, English and Chinese, of several lengths (a batch of them is padded)."""
    everything = get_benchmark("fixture")((), seed=0)
    return [s for s in everything if s.language == "en"][:5] + [s for s in everything if s.language == "zh"][:3]


@pytest.fixture(scope="module", params=TWINS)
def twin(request):
    return load(request.param)


@pytest.fixture(scope="module", params=TWINS)
def sharp_twin(request):
    return load(request.param, sharpen=True)
