"""Caps that leave the statistics too few tokens end the run in one line naming the option and what would do:
at start-up where the option alone shows it, else once the capture has seen the prompts (seen failing on the
code before: it accepted every cap of at least 1 and --ks-max-points 8, and the estimators failed later)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.capture.caps import TokenCaps, parse_max_tokens
from harness.errors import KeyspaceError
from harness.models.labels import IMAGE, SPECIAL, TEXT
from harness.run.options import OPTIONS, parse_config


def config(**overrides):
    values = {o.name: o.default for o in OPTIONS} | overrides
    return parse_config(lambda name: values[name], Path("/root"))


@pytest.mark.parametrize("given, message", [
    ("image=5", "--ks-max-tokens: image=5 keeps fewer than 64 image tokens (the statistics need at least 64 image and 64 text tokens); give image=64 or more"),
    ("5", "--ks-max-tokens: 5 keeps fewer than 64 image (and text) tokens (the statistics need at least 64 image and 64 text tokens); give 64 or more"),
    ("text=6,image=6", "--ks-max-tokens: text=6 keeps fewer than 64 text tokens"),
    ("balanced=10", "--ks-max-tokens: balanced=10 keeps fewer than 64 tokens of each modality"),
    ("sample=1", "--ks-max-tokens: sample=1 keeps one token of each prompt, so no prompt holds both an image and a text token"),
])
def test_caps_too_small_for_the_statistics_end_the_run_at_start_up(given, message):
    with pytest.raises(KeyspaceError) as err:
        config(**{"max-tokens": given})
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    assert "or more" in str(err.value)  # the least value that works


def test_caps_at_the_floor_are_accepted():
    for given in ("image=64", "64", "text=64,image=100", "balanced=64", "sample=2", "special=1", "none", "auto"):
        config(**{"max-tokens": given})
    assert parse_max_tokens("sample=2,special=1", floors=True) == TokenCaps(per_sample=2, per_modality={"special": 1})
    assert parse_max_tokens("image=5") == TokenCaps(per_modality={"image": 5})  # the parser alone checks syntax


def test_max_points_below_what_every_estimator_needs_ends_the_run_at_start_up():
    with pytest.raises(KeyspaceError, match=r"^--ks-max-points: 10 is too small \(the statistics need at least 64 image and "
                                            r"64 text tokens\); give a whole number in 64\.\.50000$"):
        config(**{"max-points": "10"})
    with pytest.raises(KeyspaceError, match="--ks-max-points: 63 is too small"):
        config(**{"max-points": "63", "max-tokens": "none"})
    assert config(**{"max-points": "64"}).max_tokens == TokenCaps(balanced=64)


def _kept(image_prompts: list[int], text_prompts: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(modality, sample) of a capture's kept tokens: one image token per entry of image_prompts, and so on."""
    modality = torch.tensor([IMAGE] * len(image_prompts) + [TEXT] * len(text_prompts) + [SPECIAL], dtype=torch.int8)
    return modality, torch.tensor([*image_prompts, *text_prompts, 0], dtype=torch.int32)


def test_a_per_prompt_cap_that_keeps_too_few_tokens_names_the_cap_and_a_larger_one():
    """sample=N falls on the modalities as the prompts have them: known at capture, not at start-up."""
    caps = parse_max_tokens("sample=2", floors=True)
    modality, sample = _kept(list(range(10)), list(range(49)))  # 10 image tokens kept of 40 prompts' hundreds
    with pytest.raises(KeyspaceError) as err:
        caps.check_kept(modality, sample, {"image": 900, "text": 300, "special": 100})
    assert str(err.value) == (
        "--ks-max-tokens sample=2: the capture kept 10 image and 49 text tokens, both in 10 prompt(s); the statistics "
        "need at least 64 image and 64 text tokens, in at least 2 prompts holding both; give about sample=13 or more, "
        "or balanced=64 (a share of every prompt)")


def test_caps_that_leave_one_prompt_with_both_modalities_name_the_cap():
    caps = parse_max_tokens("image=64,text=64", floors=True)
    modality, sample = _kept([0] * 64, [1] * 63 + [0])
    with pytest.raises(KeyspaceError, match=r"^--ks-max-tokens image=64,text=64: the capture kept 64 image and 64 text "
                                            r"tokens, both in 1 prompt\(s\);.*give balanced=64 instead"):
        caps.check_kept(modality, sample, {"image": 500, "text": 100})


def test_caps_that_took_nothing_or_were_built_in_code_are_not_blamed():
    modality, sample = _kept([0] * 10, [1] * 10)
    parse_max_tokens("sample=2", floors=True).check_kept(modality, sample, {"image": 0, "text": 0, "special": 40})  # not the caps' doing
    TokenCaps(per_modality={"image": 10}).check_kept(modality, sample, {"image": 90, "text": 0})  # no option to name
    parse_max_tokens("image=10").check_kept(modality, sample, {"image": 90, "text": 0})  # the caps' own tests use small ones
    parse_max_tokens("none", floors=True).check_kept(modality, sample, {})
