"""The label source (prompt format, the benchmark text's own token count) is worked out once per
(model, benchmark) pair: later captures of the pair, of any layers, batch size or subset, tokenize nothing again."""

from __future__ import annotations

import pytest

import harness.models.prompts as prompts
from harness.capture.keys import capture_keys


@pytest.fixture
def tokenized(monkeypatch) -> list[str]:
    """Every benchmark text tokenized for its count, in call order."""
    calls: list[str] = []
    real = prompts._text_tokens

    def counting(tokenizer, text):
        calls.append(text)
        return real(tokenizer, text)

    monkeypatch.setattr(prompts, "_text_tokens", counting)
    return calls


def test_each_text_is_tokenized_once_per_pair(fresh, samples, tokenized):
    llava = fresh("tiny-llava")  # a fresh load: nothing counted yet
    first = capture_keys(llava, samples, [0], benchmark="t", batch_size=2)
    assert sorted(tokenized) == sorted(s.prompt for s in samples)
    tokenized.clear()
    again = capture_keys(llava, samples, [0, 1], benchmark="t", batch_size=1)
    part = capture_keys(llava, samples[:2], [1], benchmark="t")
    assert tokenized == []
    assert again.label_source == first.label_source
    tok = llava.processor.tokenizer
    alone = [len(tok(s.prompt, add_special_tokens=False)["input_ids"]) for s in samples]
    assert first.label_source["benchmark_text_tokens"] == sum(alone)
    assert part.label_source["benchmark_text_tokens"] == sum(alone[:2])


def test_another_model_or_vocabulary_counts_again(fresh, samples, tokenized):
    llava = fresh("tiny-llava")
    capture_keys(llava, samples, [0], benchmark="t")
    qwen = fresh("tiny-qwen2.5-vl")  # another tokenizer: its own counts
    tokenized.clear()
    capture_keys(qwen, samples, [0], benchmark="t")
    assert sorted(tokenized) == sorted(s.prompt for s in samples)
    tokenized.clear()
    llava.processor.tokenizer.add_tokens(["keyspace-new-token"])  # a changed vocabulary may split text otherwise
    capture_keys(llava, samples, [0], benchmark="t")
    assert sorted(tokenized) == sorted(s.prompt for s in samples)
