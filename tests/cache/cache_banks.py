"""Hand-made key banks, keys and run options for the cache tests (no model needed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

import harness
from harness.capture.cache_key import CacheKey, layout_of
from harness.capture.keys import KeyBank, LayerBank
from harness.run.options import OPTIONS, parse_config


def make_bank(layers=(0, 2, 5), *, rows=40, heads=2, head_dim=4, seed=0, dtype=torch.float32) -> KeyBank:
    """A bank with random vectors and labels; every layer shares the labels, as a real capture does."""
    g = torch.Generator().manual_seed(seed)
    modality = torch.randint(0, 3, (rows,), generator=g).to(torch.int8)
    sample = torch.sort(torch.randint(0, 5, (rows,), generator=g)).values.to(torch.int32)
    position = torch.arange(rows, dtype=torch.int32)
    banks = {  # each layer's vectors drawn from (seed, layer), so a bank of fewer layers is a part of a fuller one
        layer: LayerBank(_vectors(rows, heads * head_dim, 1000 * seed + layer).to(dtype), modality, sample, position,
                         heads=heads, head_dim=head_dim)  # each layer's own layout, as a capture records it
        for layer in layers
    }
    return KeyBank(
        model="hand-made", benchmark="fixture", kind="keys", sample_ids=tuple(f"s-{i}" for i in range(5)),
        layers=banks, num_key_value_heads=heads, head_dim=head_dim,
    )


def _vectors(rows: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(rows, dim, generator=torch.Generator().manual_seed(seed))


def make_key(layers=(0, 2, 5), **changes) -> CacheKey:
    key = CacheKey(
        model="hand-made", source="tiny:llava", revision=None, dtype="float32", kind="keys", benchmark="fixture",
        samples="0" * 64, settings={}, seed=0, harness_version=harness.__version__,
        software={"transformers": "5.23.0"}, layout=layout_of(KeyBank, LayerBank), layers=tuple(layers),
    )
    return dataclasses.replace(key, **changes)


def assert_banks_equal(a: KeyBank, b: KeyBank) -> None:
    """Every field equal; tensors bit-equal with the same dtype and shape."""
    for f in dataclasses.fields(KeyBank):
        if f.name != "layers":
            assert getattr(a, f.name) == getattr(b, f.name), f.name
            assert type(getattr(a, f.name)) is type(getattr(b, f.name)), f.name
    assert sorted(a.layers) == sorted(b.layers)
    for layer in a.layers:
        for f in dataclasses.fields(LayerBank):
            x, y = getattr(a.layers[layer], f.name), getattr(b.layers[layer], f.name)
            if isinstance(x, torch.Tensor):
                assert x.dtype == y.dtype and x.shape == y.shape, (layer, f.name)
                assert torch.equal(x.view(torch.uint8) if x.numel() else x, y.view(torch.uint8) if y.numel() else y), (layer, f.name)
            else:
                assert x == y, (layer, f.name)


def make_config(tmp_path: Path, **overrides: str):
    """A RunConfig from the ini defaults, with `overrides` (option names as typed after --ks-)."""
    defaults = {opt.name: opt.default for opt in OPTIONS}
    defaults.update(results=str(tmp_path / "results.jsonl"), report=str(tmp_path / "report.html"))
    defaults.update(overrides)
    return parse_config(lambda name: defaults[name], tmp_path)
