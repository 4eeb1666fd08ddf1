"""Amendment 2's knobs (docs/organisms.md): the cache of text-pretrained models, the projector's own stage-2 rate,
stage 1's uncued image questions, and the ladder's rungs."""

from dataclasses import replace

import pytest
import torch

from harness.organisms import data
from harness.organisms.build import QUICK, RUNGS, Plan, _state_digest, history, prepare, text_pretrained
from harness.organisms.cache import entry_key
from harness.organisms.train import Stage, param_groups, patch_features, run_stage

MICRO = replace(QUICK, n_images=24, n_text=24, n_eval=0, n_probe=6, n_log=3, vision_steps=3, text_steps=3, caption_steps=2,
                qa_steps=3)


def test_the_cache_returns_the_text_pretrained_model_bit_for_bit(tmp_path, one_thread):
    shared = prepare(MICRO, 0)
    plain, plain_record = text_pretrained(MICRO, shared)
    stored, _ = text_pretrained(MICRO, shared, tmp_path)
    loaded, record = text_pretrained(MICRO, shared, tmp_path)
    assert len(list(tmp_path.glob("text-*.pt"))) == 1 and "cached" in record and "cached" not in plain_record
    assert _state_digest(plain) == _state_digest(stored) == _state_digest(loaded)
    assert record["decoder_sha256"] == plain_record["decoder_sha256"] and record["probe_after"] == plain_record["probe_after"]
    # a history from the cached model is the history from the computed one
    assert _state_digest(history("text-first", MICRO, shared, (loaded, record))[0]) == \
        _state_digest(history("text-first", MICRO, shared, (plain, plain_record))[0])


def test_an_entry_of_another_start_is_not_used(tmp_path, one_thread):
    text_pretrained(MICRO, prepare(MICRO, 0), tmp_path)
    other = prepare(replace(MICRO, vision_steps=4), 0)  # another vision tower under the same key (a stale entry)
    (entry,) = tmp_path.glob("text-*.pt")
    entry.rename(tmp_path / f"text-{entry_key(replace(MICRO, vision_steps=4), 0)}.pt")
    _, record = text_pretrained(replace(MICRO, vision_steps=4), other, tmp_path)
    assert "cached" not in record


def test_the_key_follows_text_pretraining_only():
    plan = Plan()
    assert entry_key(plan, 0) != entry_key(plan, 1)
    assert entry_key(plan, 0) != entry_key(replace(plan, text_steps=600), 0)
    assert entry_key(plan, 0) != entry_key(replace(plan, vision_steps=10), 0)
    for rung in RUNGS.values():
        assert entry_key(replace(plan, **rung, qa_steps=60, cue_share=0.2, histories=("joint",)), 0) == entry_key(plan, 0)


def test_the_projector_learns_at_its_own_rate(tiny):
    """Decoder at rate 0, projector at 1e-2: only the projector moves; without projector_lr one group at lr."""
    w, model, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    pixels = processor.image_processor(w.images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        feats = patch_features(model, pixels)
    stage = Stage("s", 3, 0.0, ("projector", "decoder"), projector_lr=1e-2)
    assert [g["lr"] for g in param_groups(model, stage)] == [1e-2, 0.0]
    assert [g["lr"] for g in param_groups(model, replace(stage, projector_lr=None))] == [0.0]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    record = run_stage(model, stage, data.image_questions(w, enc), features=feats, batch=4,
                       pad_id=processor.tokenizer.pad_token_id, seed=0)
    after = model.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    model.load_state_dict(before)
    assert moved and all(k.startswith("model.multi_modal_projector.") for k in moved)
    assert record["projector_lr"] == 1e-2 and record["lr"] == 0.0


def test_stage_1_asks_uncued_image_questions_in_its_share(tiny):
    w, _, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    caps = data.captions(w, enc)
    pool, weights = data.stage1_pool(w, enc, 0.0)
    assert weights is None and [e.ids for e in pool] == [e.ids for e in caps]
    pool, weights = data.stage1_pool(w, enc, 0.5)
    asked = pool[len(caps):]
    assert len(weights) == len(pool) and float(weights.sum()) == pytest.approx(1.0)
    assert float(weights[len(caps):].sum()) == pytest.approx(0.5)
    assert asked and all(e.image >= 0 and not e.cue for e in asked)
    with pytest.raises(ValueError, match="question_share = 2 is not a share"):
        data.stage1_pool(w, enc, 2)


def test_the_rungs_keep_stage_2_short_and_the_decoder_slow():
    for rung in RUNGS.values():
        plan = replace(Plan(), **rung)
        assert plan.qa_steps <= 0.1 * plan.text_steps and plan.qa_lr <= 0.1 * plan.lr + 1e-12
