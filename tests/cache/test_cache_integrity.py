"""Nothing trusted blindly: corrupt, truncated, missing or half-written entries are misses with a
one-line note and get recaptured; a directory from a newer harness is refused in one line."""

from __future__ import annotations

import json
import os
import sys

import pytest

import harness
from cache_banks import assert_banks_equal, make_bank, make_key
from harness.capture.cache import MANIFEST, MARKER, KeyCache, fetch, version_tuple
from harness.errors import KeyspaceError


def _shard(entry, layer=2):
    return next(entry.glob(f"layer-{layer:03d}-*.safetensors"))


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) - 3] ^= 0x01  # inside the tensor data: safetensors alone would read it without complaint
    path.write_bytes(bytes(data))


def _drop(path):
    path.unlink()


@pytest.mark.parametrize("damage", [_truncate, _flip_byte, _drop], ids=["truncated", "flipped-byte", "missing"])
def test_damaged_shard_is_noted_and_recaptured(tmp_path, damage, request):
    bank, key = make_bank(), make_key()
    entry = KeyCache(tmp_path).store(key, bank)
    shard = _shard(entry)
    damage(shard)
    found = KeyCache(tmp_path).load(key)
    assert found.bank is None
    assert shard.name in found.note and "\n" not in found.note and "recapturing" in found.note
    assert {"truncated": "truncated", "flipped-byte": "sha256", "missing": "lacks"}[request.node.callspec.id] in found.note

    captures = []
    got, notes = fetch(tmp_path, key, lambda: captures.append(1) or make_bank(), label="capture of p")
    assert captures == [1]  # recaptured, not read
    assert_banks_equal(bank, got)
    assert notes[0].startswith("capture of p: key cache entry") and shard.name in notes[0]
    assert notes[1].startswith("capture of p: captured, stored in cache")
    assert_banks_equal(bank, KeyCache(tmp_path).load(key).bank)  # the entry is whole again


def test_damage_to_a_layer_not_asked_for_does_not_matter(tmp_path):
    entry = KeyCache(tmp_path).store(make_key(), make_bank())
    _flip_byte(_shard(entry, layer=5))
    assert KeyCache(tmp_path).load(make_key(layers=(0, 2))).bank is not None
    assert KeyCache(tmp_path).load(make_key(layers=(0, 5))).bank is None


@pytest.mark.parametrize("text", ["{not json", "[]", '{"format": 1}', ""], ids=["garbage", "list", "no-version", "empty"])
def test_unparseable_manifest_is_a_miss(tmp_path, text):
    entry = KeyCache(tmp_path).store(make_key(), make_bank())
    (entry / MANIFEST).write_text(text)
    found = KeyCache(tmp_path).load(make_key())
    assert found.bank is None and "manifest" in found.note and "\n" not in found.note


def test_manifest_of_another_layout_is_a_miss(tmp_path):
    entry = KeyCache(tmp_path).store(make_key(), make_bank())
    manifest = json.loads((entry / MANIFEST).read_text())
    del manifest["bank"]["head_dim"]
    (entry / MANIFEST).write_text(json.dumps(manifest))
    found = KeyCache(tmp_path).load(make_key())
    assert found.bank is None and "\n" not in found.note


def test_store_over_a_garbled_manifest_starts_the_entry_afresh(tmp_path):
    cache = KeyCache(tmp_path)
    entry = cache.store(make_key(), make_bank())
    manifest = json.loads((entry / MANIFEST).read_text())
    manifest["layers"] = ["not", "a", "dict"]  # same key and bank, so the store tries to keep its shards
    (entry / MANIFEST).write_text(json.dumps(manifest))
    cache.store(make_key(layers=(0,)), make_bank(layers=(0,)))
    assert sorted(cache.load(make_key(layers=(0,))).bank.layers) == [0]


def test_manifest_naming_another_key_is_a_miss(tmp_path):
    cache = KeyCache(tmp_path)
    entry = cache.store(make_key(), make_bank())
    manifest = json.loads((entry / MANIFEST).read_text())
    manifest["key"]["dtype"] = "float16"
    (entry / MANIFEST).write_text(json.dumps(manifest))
    found = cache.load(make_key())
    assert found.bank is None and "another key" in found.note


def test_missing_manifest_is_a_silent_miss(tmp_path):
    entry = KeyCache(tmp_path).store(make_key(), make_bank())
    (entry / MANIFEST).unlink()
    assert KeyCache(tmp_path).load(make_key()) == type(KeyCache(tmp_path).load(make_key()))(None, None)


def test_write_killed_mid_shard_leaves_no_valid_looking_entry(tmp_path, monkeypatch):
    real_replace = os.replace

    def killed_at_shard(src, dst):
        if str(dst).endswith(".safetensors"):
            raise KeyboardInterrupt  # as a kill would, after the bytes reached the temporary file
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed_at_shard)
    with pytest.raises(KeyboardInterrupt):
        KeyCache(tmp_path).store(make_key(), make_bank())
    monkeypatch.undo()
    entry = KeyCache(tmp_path).entry_dir(make_key())
    assert list(entry.iterdir()) == []  # the temporary file is removed, no shard has its final name
    assert KeyCache(tmp_path).load(make_key()).bank is None


def test_write_killed_before_manifest_keeps_the_previous_entry(tmp_path, monkeypatch):
    cache = KeyCache(tmp_path)
    old = make_bank(seed=1)
    cache.store(make_key(), old)
    real_replace = os.replace

    def killed_at_manifest(src, dst):
        if str(dst).endswith(MANIFEST):
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed_at_manifest)
    with pytest.raises(KeyboardInterrupt):
        cache.store(make_key(), make_bank(seed=2))
    monkeypatch.undo()
    assert_banks_equal(old, cache.load(make_key()).bank)  # new shards have other names; the old manifest still rules


def test_unwritable_cache_costs_a_note_not_the_run(tmp_path, monkeypatch):
    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("harness.capture.cache.write_atomic", full)
    bank, notes = fetch(tmp_path, make_key(), make_bank, label="capture of p")
    assert bank.layers and len(notes) == 1 and "could not store" in notes[0]


def test_no_cache_neither_reads_nor_writes(tmp_path):
    KeyCache(tmp_path).store(make_key(), make_bank(seed=1))
    captures = []
    _, notes = fetch(None, make_key(), lambda: captures.append(1) or make_bank(seed=2), label="p")
    assert captures == [1] and notes == []


def _marker(tmp_path, version):
    (tmp_path / MARKER).write_text(json.dumps({"harness_version": version}))


def test_cache_of_a_newer_harness_is_refused_in_one_line(tmp_path):
    _marker(tmp_path, "99.0.0")
    for action in (lambda c: c.load(make_key()), lambda c: c.store(make_key(), make_bank())):
        with pytest.raises(KeyspaceError) as err:
            action(KeyCache(tmp_path))
        message = str(err.value)
        assert "99.0.0" in message and harness.__version__ in message and "--ks-cache" in message
        assert "\n" not in message


def test_entry_of_a_newer_harness_is_refused(tmp_path):
    entry = KeyCache(tmp_path).store(make_key(), make_bank())
    manifest = json.loads((entry / MANIFEST).read_text())
    manifest["harness_version"] = "1.0.0"
    (entry / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(KeyspaceError, match="1.0.0"):
        KeyCache(tmp_path).load(make_key())


def test_cache_of_an_older_harness_is_used_and_marked(tmp_path):
    _marker(tmp_path, "0.0.1")
    KeyCache(tmp_path).store(make_key(), make_bank())
    assert json.loads((tmp_path / MARKER).read_text())["harness_version"] == harness.__version__


@pytest.mark.parametrize("packaging", [True, False], ids=["packaging", "fallback"])
def test_versions_compare_as_numbers(monkeypatch, packaging):
    if not packaging:
        monkeypatch.setitem(sys.modules, "packaging.version", None)  # import fails as if not installed
    assert version_tuple("0.10.0") > version_tuple("0.9.1")
    assert version_tuple("1.0") > version_tuple("0.99")
    assert not version_tuple("0.1.0") > version_tuple("0.1.0")
