"""The `world` benchmark and answers by continuation likelihood (harness.intervention.measure)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.benchmarks.prompt import LETTERS
from harness.errors import KeyspaceError
from harness.intervention.apply import LabelBook
from harness.intervention.measure import choose, hinted
from harness.models.labels import SPECIAL
from harness.models import adapter_for, get_model_spec


def _load(name: str):
    spec = get_model_spec(name)
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


def test_world_is_stable_and_pairs_languages_on_one_image():
    a, b = get_benchmark("world")((), seed=0), get_benchmark("world")((), seed=5)
    assert len(a) == 96 and [s.id for s in a] == [s.id for s in b]  # the run's seed does not change the set
    assert all(np.array_equal(np.asarray(x.images[0]), np.asarray(y.images[0])) for x, y in zip(a, b))
    for en, zh in zip(a[0::2], a[1::2]):
        assert en.language == "en" and zh.language == "zh" and en.id[:-3] == zh.id[:-3]
        assert np.array_equal(np.asarray(en.images[0]), np.asarray(zh.images[0]))
        assert en.options[LETTERS.index(en.answer)] and en.meta["answer_by"] == "continuation"
    assert {s.language for s in get_benchmark("world")(("zh",), seed=0)} == {"zh"}
    with pytest.raises(KeyspaceError, match="unknown fixture subset"):
        get_benchmark("world")(("fr",), seed=0)


def test_organism_answers_equal_its_own_scorer_and_beat_chance():
    """The harness's continuation answers equal harness.organisms.evaluate.choose (written apart, for
    training) on every prompt, and the organism answers far above chance."""
    from harness.organisms import evaluate

    loaded = _load("organism-text-first")
    samples = get_benchmark("world")((), seed=0)
    got = choose(loaded, samples, batch_size=8)
    theirs = evaluate.choose(loaded.model, loaded.processor, [evaluate.Item(s.images[0], s.question, s.options) for s in samples])
    assert got.tolist() == [s.options.index(o) for s, o in zip(samples, theirs)]
    correct = np.array([LETTERS.index(s.answer) for s in samples])
    chance = np.mean([1 / len(s.options) for s in samples])
    assert (got == correct).mean() > chance + 0.4


@pytest.mark.parametrize("name", ["tiny-llava", "tiny-qwen2.5-vl"])
def test_continuation_answer_is_the_brute_force_likeliest_option(name):
    """Batched scoring (prompt repeated per option, tails padded and masked) picks what scoring each
    option alone picks, on a Llama-based and an M-RoPE (Qwen2.5-VL) family."""
    loaded = _load(name)
    tok = loaded.processor.tokenizer
    samples = get_benchmark("world")((), seed=0)[:4]
    got = choose(loaded, samples, batch_size=4)
    for s, g in zip(samples, got):
        scores = []
        for option in s.options:
            inputs, _ = loaded.adapter.encode(loaded, [s])
            tail = tok.encode(" " + option, add_special_tokens=False) + [tok.eos_token_id]
            T = inputs["input_ids"].shape[1]
            extra = {k: torch.cat([v, v.new_zeros((1, len(tail), *v.shape[2:]))], 1) if v.shape[:2] == (1, T) else v
                     for k, v in inputs.items() if k not in ("input_ids", "attention_mask", "position_ids")}
            ids = torch.cat([inputs["input_ids"], torch.tensor([tail])], 1)
            with torch.no_grad():
                logp = torch.log_softmax(loaded.model(input_ids=ids, attention_mask=torch.ones_like(ids), **extra).logits[0].float(), -1)
            scores.append(sum(logp[T - 1 + j, t].item() for j, t in enumerate(tail)))
        assert g == int(np.argmax(scores)), (s.id, scores)


def test_answer_tokens_after_a_known_prompt_are_special_and_a_hint_names_the_words():
    loaded = _load("tiny-llava")
    s = get_benchmark("world")((), seed=0)[0]
    book = LabelBook().add(loaded, [s])
    inputs, labels = loaded.adapter.encode(loaded, [s])
    longer = torch.cat([inputs["input_ids"], torch.tensor([[5, 6, 7]])], 1)
    got = book.labels(longer, None)
    assert torch.equal(got[0, : labels.shape[1]], labels[0]) and (got[0, labels.shape[1]:] == SPECIAL).all()
    with pytest.raises(KeyspaceError, match="not added to the label book"):
        book.labels(torch.tensor([[5, 6, 7]]), None)
    probe = hinted(s, "B")
    assert s.options[1] in probe.prompt.splitlines()[0] and probe.prompt.endswith(s.prompt)
