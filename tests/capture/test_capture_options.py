"""The capture options as the plugin parses them (--ks-capture, --ks-heads, --ks-max-tokens, ...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import KeyspaceError
from harness.capture.keys import TokenCaps
from harness.run.options import OPTIONS, parse_config


def _config(**given):
    values = {o.name: o.default for o in OPTIONS} | {k.replace("_", "-"): v for k, v in given.items()}
    return parse_config(values.__getitem__, Path("."))


def test_defaults():
    cfg = _config()
    assert (cfg.capture, cfg.heads, cfg.max_tokens, cfg.device_map, cfg.trust_remote_code) == (
        "keys", None, TokenCaps(balanced=1500), None, False)
    assert cfg.max_tokens.source == "balanced=1500"  # auto, as the config id and the run info name it


def test_values():
    cfg = _config(capture="rotated-keys", heads="1", max_tokens="sample=64,image=500", device_map="auto", trust_remote_code="true")
    assert (cfg.capture, cfg.heads, cfg.device_map, cfg.trust_remote_code) == ("rotated-keys", 1, "auto", True)
    assert cfg.config_id() != _config().config_id()  # what is captured shapes the figures


@pytest.mark.parametrize("option,value,message", [
    ("capture", "keyz", "unknown capture kind"),
    ("heads", "-1", "--ks-heads"),
    ("max_tokens", "lots", "--ks-max-tokens"),
    ("device_map", "balanced", "--ks-device-map"),
])
def test_bad_values(option, value, message):
    with pytest.raises(KeyspaceError, match=message):
        _config(**{option: value})
