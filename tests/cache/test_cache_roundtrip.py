"""A bank written to the cache reads back bit-equal; layer subsets; shards are plain safetensors."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import harness.capture.cache
import harness.capture.cache_key
from cache_banks import assert_banks_equal, make_bank, make_key
from harness.capture.cache import MANIFEST, KeyCache
from harness.capture.keys import LayerBank


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_round_trip_is_bit_equal(tmp_path, dtype):
    bank = make_bank(dtype=dtype)
    cache = KeyCache(tmp_path)
    cache.store(make_key(), bank)
    found = cache.load(make_key())
    assert found.note is None
    assert_banks_equal(bank, found.bank)


def test_round_trip_keeps_an_empty_layer(tmp_path):
    bank = make_bank(rows=0)
    KeyCache(tmp_path).store(make_key(), bank)
    assert_banks_equal(bank, KeyCache(tmp_path).load(make_key()).bank)


def test_equality_check_sees_a_one_bit_change():
    """The comparison the round trip relies on is not vacuous."""
    a, b = make_bank(), make_bank()
    b.layers[2].vectors[3, 1] = torch.nextafter(b.layers[2].vectors[3, 1], torch.tensor(1e9))
    with pytest.raises(AssertionError):
        assert_banks_equal(a, b)
    with pytest.raises(AssertionError):
        assert_banks_equal(a, dataclasses.replace(make_bank(), sample_ids=a.sample_ids[:-1]))


def test_missing_entry_is_a_plain_miss(tmp_path):
    found = KeyCache(tmp_path).load(make_key())
    assert found.bank is None and found.note is None


def test_superset_entry_serves_fewer_layers(tmp_path):
    bank = make_bank(layers=(0, 2, 5))
    cache = KeyCache(tmp_path)
    cache.store(make_key(layers=(0, 2, 5)), bank)
    found = cache.load(make_key(layers=(5, 0)))
    assert sorted(found.bank.layers) == [0, 5]
    assert torch.equal(found.bank.layers[5].vectors, bank.layers[5].vectors)


def test_entry_with_fewer_layers_is_a_miss(tmp_path):
    cache = KeyCache(tmp_path)
    cache.store(make_key(layers=(0, 2)), make_bank(layers=(0, 2)))
    found = cache.load(make_key(layers=(0, 2, 5)))
    assert found.bank is None and found.note is None


def test_later_store_keeps_other_layers_of_the_same_capture(tmp_path):
    cache = KeyCache(tmp_path)
    full = make_bank(layers=(0, 2, 5))
    cache.store(make_key(layers=(0, 2)), make_bank(layers=(0, 2)))
    cache.store(make_key(layers=(5,)), make_bank(layers=(5,)))
    assert_banks_equal(full, cache.load(make_key(layers=(0, 2, 5))).bank)


def test_later_store_of_another_capture_drops_the_old_layers(tmp_path):
    cache = KeyCache(tmp_path)
    cache.store(make_key(layers=(0,)), make_bank(layers=(0,), seed=1))
    entry = cache.store(make_key(layers=(5,)), dataclasses.replace(make_bank(layers=(5,)), sample_ids=("x",)))
    assert cache.load(make_key(layers=(0,))).bank is None
    assert [p.name[:9] for p in sorted(entry.glob("layer-*"))] == ["layer-005"]  # the old shard is swept


def test_shards_are_safetensors_and_manifest_is_json(tmp_path):
    bank = make_bank()
    entry = KeyCache(tmp_path).store(make_key(), bank)
    manifest = json.loads((entry / MANIFEST).read_text())
    tensor_fields = {f.name for f in dataclasses.fields(LayerBank) if f.type == "torch.Tensor"}
    for layer, shard in manifest["layers"].items():
        tensors = load_file(entry / shard["file"])  # safetensors only: no pickle involved in reading
        assert set(tensors) == tensor_fields
        assert shard["meta"] == {"heads": 2, "head_dim": 4}  # the rest of the layer's fields: its layout, in the JSON
        assert torch.equal(tensors["vectors"], bank.layers[int(layer)].vectors)


def _pickle_uses(path: Path) -> list[str]:
    """Imports of pickle-like modules and calls of torch.load/torch.save or weights_only in a module's code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            found += [n for n in names if any(p in n for p in ("pickle", "dill", "joblib", "shelve", "marshal"))]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "torch" and node.attr in ("load", "save"):
                found.append(f"torch.{node.attr}")
        elif isinstance(node, ast.keyword) and node.arg == "weights_only":
            found.append("weights_only=")
    return found


def test_cache_modules_use_no_pickle():
    for module in (harness.capture.cache, harness.capture.cache_key):
        assert _pickle_uses(Path(module.__file__)) == [], module.__name__


def test_pickle_detector_finds_pickle(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle\nimport torch\nx = torch.load('f', weights_only=False)\n")
    assert _pickle_uses(bad) == ["pickle", "torch.load", "weights_only="]
