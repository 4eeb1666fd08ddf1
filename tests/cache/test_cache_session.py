"""The session reads the key cache before loading a model: a hit never loads it, a damaged entry
is recaptured with a note, --ks-no-cache neither reads nor writes; and the options that set it."""

from __future__ import annotations

import shutil

import pytest

from cache_banks import assert_banks_equal, make_config
from harness.benchmarks import BenchmarkChoice
from harness.capture.cache import default_cache_dir
from harness.run.plan import Pair
from harness.run.session import KeyspaceRun

PAIR = Pair("tiny-llava", BenchmarkChoice("fixture"))


def _run(tmp_path, **options) -> KeyspaceRun:
    settings = {"models": "tiny-llava", "layers": "0,-1", "samples": "6", "cache": str(tmp_path / "cache")}
    return KeyspaceRun(make_config(tmp_path, **{**settings, **options}))


def _no_model(run: KeyspaceRun, monkeypatch) -> None:
    def refuse(model):
        raise AssertionError(f"{model} was loaded although the cache should serve")

    monkeypatch.setattr(run, "loaded", refuse)


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """One real capture of the tiny model into a cache, shared by the tests (each copies the cache)."""
    root = tmp_path_factory.mktemp("filled")
    run = _run(root)
    bank = run.capture(PAIR)
    assert run.notes == [f"capture of tiny-llava-fixture: captured, stored in cache {_entry(root)}"]
    return root / "cache", bank


def _entry(root):
    return next((root / "cache").glob("tiny-llava-*"))


@pytest.fixture
def cached(tmp_path, filled):
    shutil.copytree(filled[0], tmp_path / "cache")
    return filled[1]


def test_hit_needs_no_model_and_damage_recaptures(tmp_path, monkeypatch, cached):
    captured = cached

    second = _run(tmp_path)
    _no_model(second, monkeypatch)
    assert_banks_equal(captured, second.capture(PAIR))
    assert second.notes == [f"capture of tiny-llava-fixture: from cache {_entry(tmp_path)}"]
    assert second._loaded is None

    fewer = _run(tmp_path, layers="-1")  # a subset of the cached layers is served too
    _no_model(fewer, monkeypatch)
    assert sorted(fewer.capture(PAIR).layers) == [3]

    shard = next((tmp_path / "cache").glob("tiny-llava-*/layer-003-*.safetensors"))
    shard.write_bytes(shard.read_bytes()[:100])
    third = _run(tmp_path)
    assert_banks_equal(captured, third.capture(PAIR))
    assert third._loaded is not None  # recaptured
    assert shard.name in third.notes[0] and "recapturing" in third.notes[0]
    assert "stored in cache" in third.notes[1]


def test_changed_key_recaptures(tmp_path, monkeypatch, cached):
    other_seed = _run(tmp_path, seed="1")  # other tiny weights (and other samples)
    _no_model(other_seed, monkeypatch)
    with pytest.raises(AssertionError, match="was loaded"):
        other_seed.capture(PAIR)


def test_no_cache_neither_reads_nor_writes(tmp_path, monkeypatch, cached):
    entries = sorted((tmp_path / "cache").rglob("*"))
    run = _run(tmp_path, **{"no-cache": "true"})
    assert run.cfg.cache is None
    _no_model(run, monkeypatch)
    with pytest.raises(AssertionError, match="was loaded"):
        run.capture(PAIR)
    assert sorted((tmp_path / "cache").rglob("*")) == entries and run.notes == []


def test_newer_cache_fails_the_pair_in_one_line(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "keyspace-cache.json").write_text('{"harness_version": "9.0"}')
    run = _run(tmp_path)
    result = run.judge(run.plan()[0])
    assert result.status == "error" and "written by harness 9.0" in result.message and "\n" not in result.message


def test_cache_option_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert make_config(tmp_path).cache == tmp_path / "xdg" / "keyspace" == default_cache_dir()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "keyspace"
    assert make_config(tmp_path, cache="banks").cache == tmp_path / "banks"  # relative to the rootdir
    assert make_config(tmp_path, cache="/abs/banks").cache.as_posix() == "/abs/banks"
    assert make_config(tmp_path, cache="banks", **{"no-cache": "true"}).cache is None
    assert make_config(tmp_path, cache="a").config_id() == make_config(tmp_path, cache="b").config_id()


def test_a_read_only_cache_serves_hits_and_captures_misses_without_storing(tmp_path, monkeypatch, cached):
    """A shared, mounted cache may be read-only: accepted up front, hits served, misses captured and
    not stored, and one note says so (permission bits do not bind root, so the probe is replaced)."""
    from harness.run import paths, session

    monkeypatch.setattr(session, "writable", lambda root: False)
    before = sorted((tmp_path / "cache").rglob("*"))
    run = _run(tmp_path)
    paths.check_outputs(run.cfg)  # an existing, readable cache directory is never refused as unwritable
    _no_model(run, monkeypatch)
    run.capture(PAIR)  # a hit
    other = _run(tmp_path, layers="1")  # a miss: layer 1 is not cached
    other.capture(PAIR)
    assert sorted((tmp_path / "cache").rglob("*")) == before
    read_only = [n for n in run.notes + other.notes if "read-only" in n]
    assert len([n for n in other.notes if "read-only" in n]) == 1 and len(read_only) == 2
    assert not any("stored in cache" in n for n in other.notes)
