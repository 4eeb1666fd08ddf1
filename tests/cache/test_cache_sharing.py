"""The key cache is safe to share: it never reads, writes or deletes outside its own directory (no
symbolic link or `..` followed), and a local checkpoint is keyed by its files, not where it lies."""

from __future__ import annotations

import json
import shutil

import pytest

from cache_banks import assert_banks_equal, make_bank, make_config, make_key
from harness.capture.cache import MANIFEST, KeyCache
from harness.capture.cache_key import key_for
from harness.models import get_model_spec


@pytest.fixture
def stored(tmp_path):
    cache, key, bank = KeyCache(tmp_path / "cache"), make_key(), make_bank()
    entry = cache.store(key, bank)
    assert_banks_equal(cache.load(key).bank, bank)
    return cache, key, entry


@pytest.fixture
def foreign(tmp_path):
    """Someone else's directory, holding a file named like a shard."""
    directory = tmp_path / "foreign"
    directory.mkdir()
    (directory / "layer-000-deadbeef.safetensors").write_bytes(b"not yours")
    return directory


def _manifest(entry):
    return json.loads((entry / MANIFEST).read_text())


def test_a_symlinked_entry_is_neither_read_nor_written_nor_swept(stored, foreign):
    cache, key, entry = stored
    shutil.copytree(entry, foreign, dirs_exist_ok=True)  # a valid entry's files, elsewhere
    shutil.rmtree(entry)
    entry.symlink_to(foreign, target_is_directory=True)
    found = cache.load(key)
    assert found.bank is None and "symbolic link" in found.note
    before = {p.name: p.read_bytes() for p in foreign.iterdir()}
    with pytest.raises(OSError, match="symbolic link is not followed"):
        cache.store(key, make_bank())
    assert {p.name: p.read_bytes() for p in foreign.iterdir()} == before  # nothing written, nothing swept


@pytest.mark.parametrize("name", ["../../outside.safetensors", "/tmp/outside.safetensors", "sub/layer-000-00000000.safetensors"])
def test_a_manifest_cannot_name_a_file_outside_its_entry(stored, name):
    cache, key, entry = stored
    manifest = _manifest(entry)
    shard = manifest["layers"]["0"]
    outside = (entry / name) if not name.startswith("/") else None
    if outside is not None:  # the very bytes of the shard, so only the path gives it away
        outside.parent.mkdir(parents=True, exist_ok=True)
        outside.write_bytes((entry / shard["file"]).read_bytes())
    shard["file"] = name
    (entry / MANIFEST).write_text(json.dumps(manifest))
    found = cache.load(key)
    assert found.bank is None and "not a file of its own" in found.note


def test_a_symlinked_shard_or_manifest_is_not_followed(stored, tmp_path):
    cache, key, entry = stored
    shard = entry / _manifest(entry)["layers"]["0"]["file"]
    copy = tmp_path / "copy.safetensors"
    shutil.move(shard, copy)
    shard.symlink_to(copy)  # the right bytes, through a link
    found = cache.load(key)
    assert found.bank is None and "not a plain file" in found.note
    manifest = tmp_path / "manifest-copy.json"
    shutil.move(entry / MANIFEST, manifest)
    (entry / MANIFEST).symlink_to(manifest)
    found = cache.load(key)
    assert found.bank is None and "unreadable manifest" in found.note


def test_a_local_checkpoint_is_keyed_by_its_files_wherever_it_lies(tmp_path):
    """A second checkout of the project gets the organisms' captures of the first from a shared cache."""
    from harness.models.organisms import ROOT

    first, second = tmp_path / "one" / "joint", tmp_path / "two" / "joint"
    for copy in (first, second):
        shutil.copytree(ROOT / "joint-s1", copy)  # organism-joint: its lowest built seed
    options = make_config(tmp_path).capture_options
    keys = [key_for(get_model_spec(f"hf:{d}"), options, "fixture", ["a"], [0]) for d in (first, second)]
    # the same key but for the name given (an hf:/dir name holds its path; the organisms' do not)
    assert keys[0].identity() == {**keys[1].identity(), "model": keys[0].model}
    organism = key_for(get_model_spec("organism-joint"), options, "fixture", ["a"], [0])
    assert str(ROOT) not in json.dumps(organism.identity())
    assert {**organism.identity(), "model": keys[0].model} == keys[0].identity()  # the checkout's copy is the same key
    (second / "config.json").write_text((second / "config.json").read_text().replace("}", ' }'))
    changed = key_for(get_model_spec(f"hf:{second}"), options, "fixture", ["a"], [0])
    assert changed.checkpoint != keys[0].checkpoint  # other files, another key
