"""Token labels on real processor output: text is exactly the benchmark's text, the template is special."""

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.models.labels import IMAGE, PAD, SPECIAL, TEXT
from harness.models import adapter_for, get_model_spec

TEMPLATE_PIECES = {"tiny-llava": ("USER:", "ASSISTANT:"), "tiny-qwen2.5-vl": ("<|im_start|>", "assistant", "system")}


@pytest.fixture(scope="module")
def samples():
    every = get_benchmark("fixture")((), seed=0)
    return [every[0], every[40]]  # one English, one Chinese: different lengths, so the batch is padded


@pytest.mark.parametrize("name", sorted(TEMPLATE_PIECES))
def test_text_is_the_benchmark_text_and_the_template_is_special(name, samples):
    spec = get_model_spec(name)
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    inputs, labels = loaded.adapter.encode(loaded, samples)
    tok = loaded.processor.tokenizer
    assert (labels == PAD).any(), "the batch is padded"
    for row, sample in enumerate(samples):
        ids = inputs["input_ids"][row]
        assert tok.decode(ids[labels[row] == TEXT]) == sample.prompt
        special = tok.decode(ids[labels[row] == SPECIAL])
        for piece in TEMPLATE_PIECES[name]:
            assert piece in special
        assert (ids[labels[row] == IMAGE] == loaded.image_token_id).all()
        assert not (ids[labels[row] == TEXT] == loaded.image_token_id).any()


def test_a_token_is_text_when_its_non_space_characters_lie_in_the_text():
    """Offsets decide: a word glued to the template's separating space is text; a token mixing
    template and text characters is special; a space inside the text is text, outside it is not."""
    from harness.models.labels import label_tokens

    tokenized = "USER: What is it?\nASSISTANT:"
    span = (6, 17)  # "What is it?"
    pieces = [(0, 5), (5, 10), (10, 11), (11, 13), (13, 14), (14, 17), (17, 18), (18, 28), (16, 19)]
    ids = torch.arange(10, 10 + len(pieces))
    labels = label_tokens(
        ids, torch.ones(len(pieces), dtype=torch.long), torch.tensor(pieces),
        tokenized=tokenized, span=span, image_token_id=99, special_ids=frozenset(),
    )
    #                     "USER:"  " What" " "   "is"  " "   "it?"  "\n"     "ASSISTANT:" "?\nA"
    assert labels.tolist() == [SPECIAL, TEXT, TEXT, TEXT, TEXT, TEXT, SPECIAL, SPECIAL, SPECIAL]


@pytest.fixture(scope="module")
def qwen():
    spec = get_model_spec("tiny-qwen2-vl")
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


def test_text_that_also_occurs_in_the_template_is_found_by_the_sentinel(qwen, samples):
    """The benchmark text equals the template's system prompt: only the user turn's copy is text."""
    from dataclasses import replace

    echo = replace(samples[0], prompt="You are a helpful assistant.")
    batch, labels = qwen.adapter.encode(qwen, [echo, samples[1]])
    tok = qwen.processor.tokenizer
    ids = batch["input_ids"][0]
    assert tok.decode(ids[labels[0] == TEXT]) == echo.prompt
    user_turn = (ids == tok.convert_tokens_to_ids("<|vision_end|>")).nonzero().item()
    assert ((labels[0] == TEXT).nonzero().squeeze(1) > user_turn).all()  # the copy after the image, not the system prompt


def test_a_template_that_rewrites_the_text_is_one_line(qwen, samples, monkeypatch):
    from harness.errors import KeyspaceError

    monkeypatch.setattr(qwen.processor, "chat_template", qwen.processor.chat_template.replace("content['text']", "content['text'] | upper"))
    with pytest.raises(KeyspaceError, match="rewrites the benchmark text") as exc:
        qwen.adapter.encode(qwen, samples)
    assert "\n" not in str(exc.value)


def test_a_processor_that_tokenizes_more_texts_than_prompts_says_so_without_contradiction(qwen, samples, monkeypatch):
    """ShieldGemma2 turns each prompt into one text per policy: one tokenizer call, but not one text per
    prompt (it used to read "tokenized its prompts in 1 call(s), not one call")."""
    from harness.errors import KeyspaceError

    cls = type(qwen.processor)
    real = cls.__call__

    def per_policy(self, images=None, text=None, **kwargs):
        return real(self, images=images * 2, text=text * 2, **kwargs)

    monkeypatch.setattr(cls, "__call__", per_policy)
    with pytest.raises(KeyspaceError, match=r"tokenized a list of 2 texts for a batch of 1 prompt\(s\) \(not one text per prompt\)") as exc:
        qwen.adapter.encode(qwen, samples[:1])
    assert "not one call" not in str(exc.value) and "\n" not in str(exc.value)


def test_a_processor_that_rejects_the_batch_is_one_line(qwen, samples, monkeypatch):
    from harness.errors import KeyspaceError

    def reject(self, *args, **kwargs):
        raise ValueError("Invalid input images. Please provide a list of images, not a nested list\nmore detail")

    monkeypatch.setattr(type(qwen.processor), "__call__", reject)
    with pytest.raises(KeyspaceError, match=r"rejected 2 prompt\(s\) with their images \(Invalid input images.*\); try --ks-batch-size 1$"):
        qwen.adapter.encode(qwen, samples)


def test_a_chat_template_held_by_the_tokenizer_alone_is_not_taken_for_the_processors(samples):
    """Chameleon: processor.apply_chat_template does not use the tokenizer's template, so the prompt is the
    processor's plain format, and a format that places no image token says why in one line."""
    from harness.errors import KeyspaceError
    from harness.models.prompts import PROCESSOR_PREFIX, prompt_format

    spec = get_model_spec("tiny-qwen2-vl")
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    loaded.processor.tokenizer.chat_template, loaded.processor.chat_template = loaded.processor.chat_template, None
    assert prompt_format(loaded.processor) == PROCESSOR_PREFIX
    with pytest.raises(KeyspaceError, match="no chat template of its own .* not used by processor.apply_chat_template") as exc:
        loaded.adapter.encode(loaded, samples)
    assert "\n" not in str(exc.value)
    # Qwen2VLProcessor can hold a template (Chameleon's cannot: tests/families/refused.py)
    assert str(exc.value).endswith("save the checkpoint with processor.chat_template set")
