"""Bad input ends in one line naming what was wrong and what would be right."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from harness.capture.keys import capture_keys
from harness.errors import KeyspaceError
from harness.models.adapter import ModelAdapter


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_sample_without_image(twin, samples):
    with pytest.raises(KeyspaceError, match="has no image") as exc:
        capture_keys(twin, [replace(samples[0], images=())], [0], benchmark="t")
    _one_line(exc)


def test_more_images_than_placeholders(twin, samples):
    two = replace(samples[0], images=samples[0].images * 2)

    class OnePlaceholder(type(twin.adapter)):
        def messages(self, text, images=()):
            return super().messages(text, images[:1])

    loaded = replace(twin, adapter=OnePlaceholder())
    with pytest.raises(KeyspaceError, match=r"has 2 image\(s\) but its prompt has 1") as exc:
        capture_keys(loaded, [two], [0], benchmark="t")
    _one_line(exc)


def test_layer_outside_range(twin, samples):
    with pytest.raises(KeyspaceError, match=r"layer 4 is outside .*range 0\.\.3") as exc:
        capture_keys(twin, samples[:1], [0, 4], benchmark="t")
    _one_line(exc)


def test_unknown_capture_kind(twin, samples):
    with pytest.raises(KeyspaceError, match="unknown capture kind 'keyz'; use one of keys, queries") as exc:
        capture_keys(twin, samples[:1], [0], benchmark="t", kind="keyz")
    _one_line(exc)


def test_family_without_known_image_token():
    model = SimpleNamespace(config=SimpleNamespace())
    processor = SimpleNamespace(tokenizer=None)
    with pytest.raises(KeyspaceError, match="no known image token id") as exc:
        ModelAdapter().image_token_id(model, processor)
    _one_line(exc)


def test_head_view_out_of_range(twin, samples):
    bank = capture_keys(twin, samples[:1], [0], benchmark="t")
    with pytest.raises(KeyspaceError, match=r"head 2 is outside 0\.\.1"):
        bank.head(2)
