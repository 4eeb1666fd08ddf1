"""Every field of the cache key changes its digest, and a changed key is a miss (so a recapture)."""

from __future__ import annotations

import dataclasses

import pytest

from cache_banks import make_bank, make_config, make_key
from harness.capture.cache import KeyCache
from harness.capture.cache_key import CacheKey, capture_settings, ids_digest, key_for
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


def test_capture_settings_are_what_the_caps_keep_and_the_mechanism_pass(tmp_path):
    options = make_config(tmp_path).capture_options
    assert capture_settings(options) == {
        "caps": {"per_sample": None, "per_modality": {}, "balanced": 1500}, "mechanism": True}
    # the same caps written two ways are one setting; the options' text does not enter the key
    written = [make_config(tmp_path, **{"max-tokens": v}).capture_options for v in ("100", "image=100,text=100,special=100")]
    assert capture_settings(written[0]) == capture_settings(written[1])
    assert capture_settings(make_config(tmp_path, **{"no-mechanism": "true"}).capture_options)["mechanism"] is False


def test_key_for_reads_the_capture_options(tmp_path):
    tiny = get_model_spec("tiny-llava")
    key = key_for(tiny, make_config(tmp_path).capture_options, "fixture", ["a", "b"], [3, 0, 3])
    assert (key.source, key.dtype, key.kind, key.seed, key.layers) == (tiny.source, "float32", "keys", 0, (0, 3))
    assert "torch" in key.software  # tiny weights come from torch's generator

    def digest(**options):
        return key_for(tiny, make_config(tmp_path, **options).capture_options, "fixture", ["a", "b"], [0]).digest

    for shaping in ({"seed": "1"}, {"dtype": "bfloat16"}, {"capture": "queries"}, {"max-tokens": "none"},
                    {"no-mechanism": "true"}):
        assert digest(**shaping) != key.digest, shaping
    # options that cannot change the vectors leave the key alone
    for inert in ({"threshold": "3"}, {"permutations": "500"}, {"batch-size": "2"}, {"cache": str(tmp_path / "x")},
                  {"heads": "1"}, {"max-points": "900", "max-tokens": "balanced=1500"}):
        assert digest(**inert) == key.digest, inert


def test_seed_does_not_enter_the_key_of_hub_weights(tmp_path):
    hub = ModelSpec(name="m", family="llava", source="org/m", revision="abc")

    def key(spec=hub, **options):
        return key_for(spec, make_config(tmp_path, **options).capture_options, "fixture", ["a"], [0])

    keys = [key(seed=s, **{"max-tokens": "none"}) for s in ("0", "7")]
    assert keys[0].seed is None and keys[0].digest == keys[1].digest
    # Token caps (the default balanced reservoir) choose tokens by seed: then the seed is part of the key.
    capped = [key(seed=s) for s in ("0", "7")]
    assert capped[0].seed == 0 and capped[0].digest != capped[1].digest
    assert "torch" not in keys[0].software
    moved = dataclasses.replace(hub, revision="def")
    assert key(moved).digest != capped[0].digest
