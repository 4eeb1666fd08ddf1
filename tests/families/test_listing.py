"""docs/families.md lists every model type of transformers' image-text-to-text auto mapping, once, with
its status; the exact ones are the families tests/families builds."""

from __future__ import annotations

import re
from pathlib import Path

from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

from .refused import REFUSED
from .zoo import BUILDERS

DOC = Path(__file__).resolve().parents[2] / "docs" / "families.md"


def _listing() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (exact|refused[^|]*|untested[^|]*) \| ([^|]+) \|$", text, flags=re.M)
    status: dict[str, str] = {}
    for kind, names in rows:
        for name in (n.strip() for n in names.split(",")):
            assert name not in status, f"{name} is listed twice"
            status[name] = kind
    return status


def test_every_family_of_the_auto_mapping_is_listed_once():
    assert sorted(_listing()) == sorted(MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES)


def test_exact_and_tested_refusals_are_the_ones_the_tests_build():
    listing = _listing()
    assert sorted(k for k, v in listing.items() if v == "exact") == sorted(BUILDERS)
    # pix2struct and mistral4: refused from the config alone, tested in tests/test_plugin.py
    assert {k for k, v in listing.items() if v.startswith("refused, tested")} == set(REFUSED) | {"pix2struct", "mistral4"}
