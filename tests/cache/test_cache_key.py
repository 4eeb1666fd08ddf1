"""Every field of the cache key changes its digest, and a changed key is a miss (so a recapture)."""

from __future__ import annotations

import dataclasses

import pytest

from cache_banks import make_bank, make_config, make_key
from harness.capture.cache import KeyCache
from harness.capture.cache_key import NOT_CAPTURE_SETTINGS, CacheKey, capture_settings, ids_digest, key_for
from harness.models import get_model_spec
from harness.models.registry import ModelSpec

CHANGES = {
    "model": "other-name",
    "source": "llava-hf/llava-1.5-7b-hf",
    "revision": "a272c74",
    "dtype": "bfloat16",
    "kind": "keys-post-rope",
    "benchmark": "mmmu:Art",
    "samples": "1" * 64,
    "settings": {"max_image_tokens": 576},
    "seed": 1,
    "harness_version": "0.1.1",
    "software": {"transformers": "5.24.0"},
    "layout": ("KeyBank.model",),
    "checkpoint": {"files": "2" * 64},
}


def test_every_field_but_layers_is_covered():
    assert set(CHANGES) == {f.name for f in dataclasses.fields(CacheKey)} - {"layers"}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_each_field_changes_the_key_and_misses(tmp_path, name):
    base, changed = make_key(), make_key(**{name: CHANGES[name]})
    assert changed.digest != base.digest
    cache = KeyCache(tmp_path)
    cache.store(base, make_bank())
    assert cache.load(base).bank is not None
    found = cache.load(changed)
    assert found.bank is None and found.note is None


def test_layers_are_outside_the_digest():
    assert make_key(layers=(0,)).digest == make_key(layers=(0, 2, 5)).digest


def test_sample_order_and_content_matter():
    assert ids_digest(["a", "b"]) != ids_digest(["b", "a"])
    assert ids_digest(["a", "b"]) != ids_digest(["a\nb"])


def test_capture_settings_keep_unknown_options_and_drop_known_inert_ones(tmp_path):
    options = dataclasses.asdict(make_config(tmp_path))
    # Of today's options these change what is captured: capture kind, heads, token caps, mechanism pass,
    # images, questions.
    today = {"capture": "keys", "heads": None, "max_tokens": "balanced=1500", "mechanism": True, "multi_image": "first",
             "open_questions": "keep"}
    assert capture_settings(options) == today
    options["max_tokens_per_sample"] = 512  # an option added later counts until it is listed as inert
    assert capture_settings(options) == {**today, "max_tokens_per_sample": 512}
    assert {"threshold", "results", "cache", "device", "batch_size"} <= NOT_CAPTURE_SETTINGS


def test_key_for_reads_the_run(tmp_path):
    tiny = get_model_spec("tiny-llava")
    cfg = make_config(tmp_path)
    key = key_for(tiny, cfg, "fixture", ["a", "b"], [3, 0, 3])
    assert (key.source, key.dtype, key.seed, key.layers) == (tiny.source, "float32", 0, (0, 3))
    assert "torch" in key.software  # tiny weights come from torch's generator
    assert key_for(tiny, make_config(tmp_path, seed="1"), "fixture", ["a", "b"], [0]).digest != key.digest
    assert key_for(tiny, make_config(tmp_path, dtype="bfloat16"), "fixture", ["a", "b"], [0]).digest != key.digest
    # options that cannot change the vectors leave the key alone
    for inert in ({"threshold": "3"}, {"permutations": "10"}, {"batch-size": "2"}, {"cache": str(tmp_path / "x")}):
        assert key_for(tiny, make_config(tmp_path, **inert), "fixture", ["a", "b"], [0]).digest == key.digest, inert


def test_seed_does_not_enter_the_key_of_hub_weights(tmp_path):
    hub = ModelSpec(name="m", family="llava", source="org/m", revision="abc")
    keys = [key_for(hub, make_config(tmp_path, seed=s, **{"max-tokens": "none"}), "fixture", ["a"], [0]) for s in ("0", "7")]
    assert keys[0].seed is None and keys[0].digest == keys[1].digest
    # Token caps (the default balanced reservoir) choose tokens by seed: then the seed is part of the key.
    capped = [key_for(hub, make_config(tmp_path, seed=s), "fixture", ["a"], [0]) for s in ("0", "7")]
    assert capped[0].seed == 0 and capped[0].digest != capped[1].digest
    assert "torch" not in keys[0].software
    moved = dataclasses.replace(hub, revision="def")
    assert key_for(moved, make_config(tmp_path), "fixture", ["a"], [0]).digest != keys[0].digest
