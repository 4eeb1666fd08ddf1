"""The training path equals the model's own: the fast forward, the prompt encoding, the alignment term."""

import pytest
import torch

from harness.organisms import data, world
from harness.organisms.alignment import key_alignment, mk_mmd2
from harness.organisms.train import collate, forward, patch_features




def _messages(text):
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


def test_prompt_ids_are_the_processors(tiny):
    w, _, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    for text in ("What is the colour of the circle?", "这个圆形是什么颜色？"):
        rendered = processor.apply_chat_template(_messages(text), add_generation_prompt=True, tokenize=False)
        expected = processor(text=[rendered], images=[[w.images[0]]], return_tensors="pt")["input_ids"][0].tolist()
        assert enc.prompt_ids(text, image=True) == expected


def test_fast_forward_equals_the_llava_forward(tiny):
    """Logits from cached vision features equal LlavaForConditionalGeneration's own, text-only rows included."""
    w, model, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    examples = data.image_questions(w, enc)[:3] + data.text_corpus(w, enc)[:2]
    batch = collate(examples, processor.tokenizer.pad_token_id)
    pixels = processor.image_processor(w.images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        fast = forward(model, batch, patch_features(model, pixels))
        rows = batch["image"] >= 0
        real_img = model(input_ids=batch["ids"][rows], attention_mask=batch["mask"][rows], pixel_values=pixels[batch["image"][rows]]).logits
        real_txt = model(input_ids=batch["ids"][~rows], attention_mask=batch["mask"][~rows]).logits
    mask = batch["mask"].bool()
    torch.testing.assert_close(fast[rows][mask[rows]], real_img[mask[rows]], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast[~rows][mask[~rows]], real_txt[mask[~rows]], rtol=1e-4, atol=1e-4)


def test_answer_labels_cover_only_the_answer(tiny):
    w, _, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    qa = world.questions(w.scenes[0], "en")[0]
    ex = enc.chat(qa.question, qa.answer, image=0)
    kept = [t for t in ex.labels if t != -100]
    assert processor.tokenizer.decode(kept).strip() == qa.answer + processor.tokenizer.eos_token


def test_mmd_term_is_zero_on_one_sample_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 8, generator=g)
    y = torch.randn(200, 8, generator=g)
    assert mk_mmd2(x, x).abs() < 1e-6
    same, shifted = mk_mmd2(x, y), mk_mmd2(x, y + 2.0)
    assert shifted > 10 * same


def test_alignment_taps_the_measured_layers_and_has_a_gradient(tiny):
    w, model, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    batch = collate(data.image_questions(w, enc)[:4], processor.tokenizer.pad_token_id)
    pixels = processor.image_processor(w.images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        feats = patch_features(model, pixels)
    with key_alignment([0, 1])(model, batch, torch.Generator().manual_seed(0)) as term:
        forward(model, batch, feats)
    assert len(term.parts) == 2
    term.value().backward()
    assert model.model.multi_modal_projector.linear_1.weight.grad.abs().sum() > 0


def test_a_history_is_deterministic_given_its_seed():
    """Two trainings of the same micro plan give the same weights bit for bit (one thread, as train_one runs)."""
    from dataclasses import replace

    from harness.organisms.build import QUICK, _state_digest, history, prepare

    plan = replace(QUICK, n_images=24, n_text=24, n_eval=0, n_probe=6, n_log=3, vision_steps=3, text_steps=3, caption_steps=2, qa_steps=3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        digests = [_state_digest(history("aligned", plan, prepare(plan, 0))[0]) for _ in range(2)]
        other = _state_digest(history("aligned", plan, prepare(plan, 1))[0])
    finally:
        torch.set_num_threads(threads)
    assert digests[0] == digests[1] != other


def test_frozen_from_the_shared_stage_1_equals_frozen_alone():
    """text-first and frozen share stage 1 (one computation): frozen trained after text-first from the kept stage 1
    has the weights and stage records of frozen trained on its own; aligned (its own stage 1) does not use it."""
    from dataclasses import replace

    from harness.organisms.build import QUICK, _state_digest, history, prepare

    plan = replace(QUICK, n_images=24, n_text=24, n_eval=0, n_probe=6, n_log=3, vision_steps=3, text_steps=3, caption_steps=4, qa_steps=3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        shared = prepare(plan, 0)
        alone = history("frozen", plan, shared)
        memo: dict = {}
        text_first = history("text-first", plan, shared, stage1_memo=memo)
        aligned = history("aligned", plan, shared, stage1_memo=memo)
        after = history("frozen", plan, shared, stage1_memo=memo)
    finally:
        torch.set_num_threads(threads)
    assert _state_digest(after[0]) == _state_digest(alone[0]) != _state_digest(text_first[0])
    assert after[1] == alone[1] and after[1][1] == text_first[1][1]  # the same stage-1 record
    assert aligned[1][1]["mmd_weight"] > 0 and aligned[1][1] != text_first[1][1]


def test_the_alignment_term_sees_the_tokens_the_harness_labels_text(tiny):
    """The training mask is the harness's own `text` label: the user's text, never the template, BOS or image."""
    w, _, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    qa = world.questions(w.scenes[0], "en")[0]
    text = world.cued(w.scenes[0], qa)
    ex = enc.chat(text, qa.answer, image=0)
    marked = [t for t, m in zip(ex.ids, ex.text) if m]
    assert processor.tokenizer.decode(marked).strip() == text
    assert not any(m for t, m in zip(ex.ids, ex.text) if t == enc.image_id) and not ex.text[0]
    batch = collate([ex], processor.tokenizer.pad_token_id)
    assert batch["text"][0].tolist()[: len(ex.ids)] == ex.text


def test_the_stage2_mix_has_its_declared_shares(tiny):
    w, _, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    big = data.make_world(7, n_images=200, n_text=20, n_eval=0)
    text = data.text_corpus(big, enc)
    pool, weights = data.stage2_mix(big, enc, seed=3, cue_share=0.5, cue_right=0.8, text_share=0.1, text=text)
    images = [e for e in pool if e.image >= 0]
    assert float(weights[len(images):].sum()) == pytest.approx(0.1) and len(pool) - len(images) == len(text)
    cued = [e for e in images if e.cue]
    assert 0.45 < len(cued) / len(images) < 0.55 and 0.72 < sum(e.cue == "right" for e in cued) / len(cued) < 0.88
    checked = 0
    for e in cued:  # a right cue's caption names the answer; a wrong one's does not (the label is still the image's)
        prompt = processor.tokenizer.decode([t for t, m in zip(e.ids, e.text) if m])
        if "。" in prompt:
            continue
        caption = prompt.split(". ")[0].lower().split()
        word = processor.tokenizer.decode([t for t in e.labels if t != -100]).replace("</s>", "").strip().lower()
        assert (word in caption) == (e.cue == "right"), (prompt, word, e.cue)
        checked += 1
    assert checked > 50
    with pytest.raises(ValueError, match="cue_share = 1.5 is not a share"):
        data.stage2_mix(big, enc, seed=3, cue_share=1.5, cue_right=0.8, text_share=0.1, text=text)
