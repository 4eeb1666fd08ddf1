"""Answers in words scored after the prompt's own KV cache equal the full pass over the prompt once per
option, on LLaVA (1-D positions) and Qwen2.5-VL (M-RoPE) twins, left- or right-padded, with and without
an intervention; and the keys a study maps equal the keys an intervened pass reads."""

from __future__ import annotations

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.capture.keys import Collector, TokenCaps, layer_banks
from harness.intervention import continuation
from harness.intervention.apply import LabelBook, intervene, mapped_bank
from harness.intervention.continuation import cached_scores, full_scores, option_groups
from harness.intervention.fit import fit_interventions
from harness.intervention.passes import encode_batches, run_pass

from .conftest import load

LAYER = 1


@pytest.fixture(scope="module")
def words():
    """Six `world` prompts of several lengths and option counts, English and Chinese (a batch of them is padded)."""
    everything = get_benchmark("world")((), seed=0)
    return [s for s in everything if s.language == "en"][:4] + [s for s in everything if s.language == "zh"][:2]


@pytest.fixture(scope="module", params=["tiny-llava", "tiny-qwen2.5-vl"])
def sharp(request):
    return load(request.param, sharpen=True)


def _cached(loaded, samples):
    (batch,) = encode_batches(loaded, samples, batch_size=len(samples))
    inputs = {k: v.to(loaded.device) if isinstance(v, torch.Tensor) else v for k, v in batch.inputs.items()}
    mask = inputs["attention_mask"]
    assert not bool(mask.all())  # padded
    with torch.inference_mode():
        out = loaded.model(**inputs, use_cache=True)
    last = out.logits[torch.arange(len(samples)), mask.cumsum(1).argmax(1)]  # [B, V] at each row's last real token
    return cached_scores(loaded, inputs, last, out.past_key_values, [s.options for s in samples])


@pytest.mark.parametrize("budget", [continuation.COPY_BUDGET, 0], ids=["one-call", "grouped"])
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("with_map", [False, True], ids=["plain", "moments"])
def test_cached_option_scores_equal_the_full_pass(sharp, words, with_map, side, budget, monkeypatch):
    """Left padding (the twins' processors) and right padding (as a tokenizer saved with save_pretrained,
    the organisms', may pad): the padding sits before or after the prompt in the cache, masked either way.
    With no budget for copies, the options run a few prompts per call, each on its own copy of the cache."""
    monkeypatch.setattr(continuation, "COPY_BUDGET", budget)
    book = LabelBook().add(sharp, words)
    ivs = []
    if with_map:
        (batch,) = encode_batches(sharp, words, batch_size=len(words))
        keys = Collector([LAYER], TokenCaps(), 0, prompts=len(words))
        run_pass(sharp, [batch], LAYER, keys=keys)
        bank = layer_banks(keys.finish())[LAYER]
        ivs = [fit_interventions(bank, LAYER, sharp.model.config.get_text_config().num_key_value_heads, ["moments"])["moments"]]
    tok = sharp.processor.tokenizer
    was, tok.padding_side = tok.padding_side, side
    try:
        with intervene(sharp, book, ivs):
            cached = _cached(sharp, words)
            full = [full_scores(sharp, s) for s in words]
    finally:
        tok.padding_side = was
    for c, f, s in zip(cached, full, words):
        assert len(c) == len(s.options) >= 2
        torch.testing.assert_close(c, f, rtol=1e-5, atol=1e-4)  # summed log-probabilities, nats
    # the sharpened twin tells the options apart, so the agreement is about more than a flat distribution
    assert max(float(f.max() - f.min()) for f in full) > 0.5


def test_mapped_keys_equal_the_keys_an_intervened_pass_reads(sharp, words):
    batches = encode_batches(sharp, words, batch_size=4)
    book = LabelBook()
    for b in batches:
        book.add_encoded(b.inputs, b.labels, [s.id for s in b.samples])
    before = Collector([LAYER], TokenCaps(balanced=60), 0, prompts=len(words))
    run_pass(sharp, batches, LAYER, keys=before)
    bank = layer_banks(before.finish())[LAYER]
    heads = sharp.model.config.get_text_config().num_key_value_heads
    for name, iv in fit_interventions(bank, LAYER, heads, ["moments", "text-mean"]).items():
        after = Collector([LAYER], TokenCaps(balanced=60), 0, prompts=len(words))
        with intervene(sharp, book, [iv]):
            run_pass(sharp, batches, LAYER, keys=after)
        read, mapped = layer_banks(after.finish())[LAYER], mapped_bank(bank, iv, sharp.model.dtype)
        assert torch.equal(read.sample, mapped.sample) and torch.equal(read.position, mapped.position)
        torch.testing.assert_close(mapped.vectors, read.vectors, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(mapped.vectors, bank.vectors), name


def test_options_run_in_groups_of_consecutive_prompts_up_to_the_cap():
    options = [["a", "b", "c"], [], ["d", "e"], ["f", "g", "h", "i", "j"], ["k"]]
    assert option_groups(options, 5) == [[0, 2], [3], [4]]
    assert option_groups(options, 3) == [[0], [2], [3], [4]]  # a prompt with more options than the cap: alone
    assert option_groups(options, 100) == [[0, 2, 3, 4]]
    assert option_groups([[], []], 4) == []


def test_a_model_that_returns_no_cache_has_its_options_scored_by_full_passes(sharp, words, monkeypatch):
    """Granite 4 Vision's decoder builds no cache unless given one (its output's past_key_values is None): its
    options are scored by full passes, as a hybrid decoder's, not by reordering a cache that is not there."""
    from harness.intervention.continuation import batch_scores

    calls = []
    monkeypatch.setattr(continuation, "full_scores", lambda loaded, s: calls.append(s.id) or full_scores(loaded, s))
    last = torch.zeros(len(words), sharp.model.config.get_text_config().vocab_size)
    got = batch_scores(sharp, words, [s.options for s in words], {}, last, None)
    assert calls == [s.id for s in words]
    for g, s in zip(got, words):
        torch.testing.assert_close(g, full_scores(sharp, s))
