"""Label guards: right labels pass quietly, wrong labels become a visible warning with the counts."""

from __future__ import annotations

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.analysis.label_check import flag_labels, label_check, label_problems
from harness.models.labels import SPECIAL, TEXT
from harness.models import adapter_for, get_model_spec
from harness.results.records import TripleResult


def test_the_counts_that_trip_each_guard():
    assert label_problems(text=100, special=40, benchmark_text=100) == []
    assert label_problems(text=50, special=10, benchmark_text=100) == []  # exactly half is not fewer
    (few,) = label_problems(text=49, special=10, benchmark_text=100)
    assert "49" in few and "100" in few
    (many,) = label_problems(text=94, special=101, benchmark_text=100)
    assert "101" in many and "94" in many
    # every text token labelled (or all but the edges' merges), under a long default system prompt (PerceptionLM)
    assert label_problems(text=100, special=400, benchmark_text=100) == []
    assert label_problems(text=95, special=400, benchmark_text=100) == []


@pytest.fixture(scope="module")
def llava():
    spec = get_model_spec("tiny-llava")
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


@pytest.fixture(scope="module")
def samples():
    return get_benchmark("fixture")((), seed=0)[:3]


def _result(message: str = "") -> TripleResult:
    return TripleResult(model="m", layer=0, benchmark="b", status="passed", passed=True, message=message)


def test_right_labels_pass_and_record_their_counts(llava, samples):
    bank = capture_keys(llava, samples, [0], benchmark="t")
    expected = sum(len(s.prompt.encode("utf-8")) for s in samples)  # one byte, one token
    assert bank.label_source == {"prompt_format": "chat template", "benchmark_text_tokens": expected}
    result = flag_labels(_result(), bank)
    assert result.message == ""
    assert result.extra["prompt_format"] == "chat template"
    assert result.extra["label_check"] == {
        "text": expected, "special": bank.counts(0)["special"], "benchmark_text": expected, "problems": [],
    }


def test_text_taken_for_template_is_flagged(llava, samples, monkeypatch):
    """A labeller that loses most of the text to `special` trips both guards, and says so in the message."""
    import harness.models.adapter as adapter

    real = adapter.label_tokens

    def lossy(*args, **kwargs):
        labels = real(*args, **kwargs)
        text = (labels == TEXT).nonzero().squeeze(1)
        labels[text[: int(len(text) * 0.6)]] = SPECIAL
        return labels

    monkeypatch.setattr(adapter, "label_tokens", lossy)
    bank = capture_keys(llava, samples, [0], benchmark="t")
    check = label_check(bank)
    assert check.text * 2 < check.benchmark_text and check.special > check.text
    result = flag_labels(_result("earlier"), bank)
    assert result.message.startswith("earlier; label warning: ")
    assert f"only {check.text} tokens are labelled text" in result.message
    assert f"{check.special} special tokens outnumber" in result.message
    assert len(result.extra["label_check"]["problems"]) == 2
