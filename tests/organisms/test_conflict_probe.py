"""The conflict probe's conditions mean what they say, and the study's decision follows its pre-registered rule."""

import json

import numpy as np
import pytest
import torch
from scipy import stats

from harness.organisms import data, evaluate, world
from harness.organisms.study import decide, difference, item_interval, spearman




def test_probe_items_carry_a_conflicting_cue_in_every_condition_but_the_plain_ones(tiny):
    w, _, _ = tiny
    probe = evaluate.conflict_probe(w.probe_scenes, w.probe_images, seed=1)
    assert len(probe.questions) == 2 * len(w.probe_scenes)
    for qa, cue in zip(probe.questions, probe.cues):
        assert qa.kind == "colour" and cue != qa.answer and cue in qa.candidates
    conflict, text, masked = probe.items("conflict"), probe.items("text"), probe.items("masked")
    assert all(it.image is None for it in text) and all(it.masked and it.image is not None for it in masked)
    assert all(cue in it.text and qa.question in it.text for it, qa, cue in zip(conflict, probe.questions, probe.cues))


def test_masking_the_image_removes_it_from_the_answer(tiny):
    """With the image tokens hidden from attention, two different images give the same scores; unmasked they do not."""
    w, model, processor = tiny
    qa = world.questions(w.probe_scenes[0], "en")[0]
    a, b = w.probe_images[0], w.probe_images[1]
    masked = evaluate.scores(model, processor, [evaluate.Item(img, qa.question, qa.candidates, masked=True) for img in (a, b)])
    plain = evaluate.scores(model, processor, [evaluate.Item(img, qa.question, qa.candidates) for img in (a, b)])
    np.testing.assert_allclose(masked[0], masked[1], rtol=1e-5, atol=1e-5)
    assert np.abs(plain[0] - plain[1]).max() > 1e-4


def test_text_only_scores_equal_the_models_own_text_forward(tiny):
    w, model, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    qa = world.questions(w.probe_scenes[0], "en")[0]
    got = evaluate.scores(model, processor, [evaluate.Item(None, qa.question, qa.candidates[:1])])[0][0]
    prompt, answer = enc.prompt_ids(qa.question, image=False), enc.answer_ids(qa.candidates[0])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([prompt + answer])).logits[0], -1)
    want = sum(logp[len(prompt) - 1 + i, t].item() for i, t in enumerate(answer))
    assert got == pytest.approx(want, abs=1e-4)


def test_scores_after_the_prompts_cache_equal_the_prompt_run_once_per_candidate(tiny):
    """Every condition (image, cue and image, cue alone, image masked) and questions with other numbers of
    candidates: the cached scores are the full passes' to float rounding, in batches that pad the prompts."""
    w, model, processor = tiny
    probe = evaluate.conflict_probe(w.probe_scenes, w.probe_images, seed=1)
    items = [it for c in ("image", "conflict", "text", "masked") for it in probe.items(c)]
    items += [evaluate.Item(img, qa.question, qa.candidates) for s, img in zip(w.probe_scenes[:3], w.probe_images)
              for qa in world.questions(s, "zh")]
    assert len({len(it.candidates) for it in items}) > 1 and len({len(it.text) for it in items}) > 1
    got, want = evaluate.scores(model, processor, items), evaluate.full_scores(model, processor, items)
    for g, f in zip(got, want):
        np.testing.assert_allclose(g, f, rtol=1e-5, atol=1e-5)


def test_difference_is_the_pooled_t_interval():
    a, b = [0.5, 0.6, 0.7], [0.1, 0.2, 0.4]
    d = difference(a, b)
    ci = stats.ttest_ind(a, b, equal_var=True).confidence_interval(0.90)
    assert d.diff == pytest.approx(np.mean(a) - np.mean(b)) and (d.low, d.high) == pytest.approx((ci.low, ci.high))
    with pytest.raises(ValueError, match="at least 2 of each"):
        difference([1.0], [1.0, 2.0])


def test_item_interval_and_spearman_cover_known_answers():
    v = np.random.default_rng(0).normal(0.3, 0.1, 400)
    lo, hi = item_interval(v)
    assert lo < 0.3 < hi and hi - lo == pytest.approx(2 * 1.645 * 0.1 / 20, rel=0.2)
    x = np.arange(12.0)
    assert spearman(x, x)["rho"] == pytest.approx(1.0) and spearman(x, -x)["interval"][1] == pytest.approx(-1.0)


def _organism(mmd2, follows, aligned_mmd2=None):
    ks = {lay: {"mmd2": (aligned_mmd2 if aligned_mmd2 is not None and lay != 2 else mmd2) + 0.001 * lay,
                "auc": 0.9, "attention_share": 1.0, "last_attention_share": 1.0} for lay in range(4)}
    return {"keyspace": ks, "behaviour": {"follows_cue": {"value": follows}}}


def _measured(tf, joint, aligned, frozen):
    out = {}
    for h, rows in (("text-first", tf), ("joint", joint), ("aligned", aligned), ("frozen", frozen)):
        for k, row in enumerate(rows):
            out[f"{h}-s{k}"] = _organism(*row)
    return out


def test_decide_supports_refutes_and_leaves_undecided_as_registered():
    jitter = (0.0, 0.01, -0.01)
    support = _measured([(0.30 + j, 0.40 + j) for j in jitter], [(0.10 + j, 0.10 + j) for j in jitter],
                        [(0.30 + j, 0.20 + j, 0.15 + j) for j in jitter], [(0.40 + j, 0.70 + j) for j in jitter])
    d = decide(support, aligned_layers=(0, 1, 3))
    assert d["q1"]["answer"] == "supported" and d["q2"]["answer"] == "supported"
    # the alignment term lowers the gap, conflict-following stays: refuted as stated
    refute = _measured([(0.30 + j, 0.40 + j) for j in jitter], [(0.10 + j, 0.10 + j) for j in jitter],
                       [(0.30 + j, 0.41 + j, 0.15 + j) for j in jitter], [(0.40 + j, 0.70 + j) for j in jitter])
    assert decide(refute, aligned_layers=(0, 1, 3))["q2"]["answer"] == "refuted"
    # joint's gap is the larger one: Q1 refuted; nothing follows the cue: Q2 undecided (floor)
    floor = _measured([(0.10 + j, 0.01) for j in jitter], [(0.30 + j, 0.01) for j in jitter],
                      [(0.10 + j, 0.01, 0.05 + j) for j in jitter], [(0.20 + j, 0.01) for j in jitter])
    d = decide(floor, aligned_layers=(0, 1, 3))
    assert d["q1"]["answer"] == "refuted" and d["q2"]["answer"] == "undecided" and d["q2"]["at_floor"]
    # seeds too scattered to tell: undecided
    wide = _measured([(0.30, 0.4), (0.05, 0.1), (0.5, 0.3)], [(0.2, 0.2), (0.4, 0.3), (0.1, 0.1)],
                     [(0.3, 0.3, 0.2), (0.1, 0.2, 0.3), (0.2, 0.1, 0.1)], [(0.3, 0.5)] * 3)
    d = decide(wide, aligned_layers=(0, 1, 3))
    assert d["q1"]["answer"] == "undecided" and d["q2"]["answer"] == "undecided"


def test_a_set_without_two_aligned_seeds_reads_the_rule_with_the_alignment_arm_not_run():
    """Amendment 4: no alignment arm, so supports needs the intervention arm and only the intervention arm refutes."""
    from harness.organisms.study import decisions

    jitter = (0.0, 0.01, -0.01)
    full = _measured([(0.30 + j, 0.40 + j) for j in jitter], [(0.10 + j, 0.10 + j) for j in jitter],
                     [(0.30 + j, 0.41 + j, 0.15 + j) for j in jitter], [(0.40 + j, 0.70 + j) for j in jitter])
    assert decide(full, aligned_layers=(0, 1, 3))["q2"]["answer"] == "refuted"  # by the alignment arm
    without = {n: m for n, m in full.items() if not n.startswith("aligned-")}
    d = decide(without, aligned_layers=(0, 1, 3))
    assert d["q2"]["aligned_minus_text_first"].startswith("not run (0 aligned seeds")
    assert d["q2"]["answer"] == "undecided" and not d["q2"]["supports"] and not d["q2"]["refutes"]
    assert decide(without, aligned_layers=(0, 1, 3), intervention={"supports": True})["q2"]["answer"] == "supported"
    assert decide(without, aligned_layers=(0, 1, 3), intervention={"refutes": True})["q2"]["answer"] == "refuted"
    # per device beside the pooled set: each device's own decision; one device alone gives none
    for name in full:
        full[name]["training_device"] = "cuda" if name.endswith("-s2") else "cpu"
    both = decisions(full, (0, 1, 3))
    assert set(both["decision_by_device"]) == {"cpu", "cuda"} and both["decision_by_device"]["cuda"] is None
    assert json.dumps(both["decision"], sort_keys=True) == json.dumps(decide(full, aligned_layers=(0, 1, 3)), sort_keys=True)
    cpu_only = {n: m for n, m in full.items() if m["training_device"] == "cpu"}
    assert set(decisions(cpu_only, (0, 1, 3))) == {"decision"}


def test_the_intervention_arm_needs_more_than_half_of_the_seeds(monkeypatch):
    import harness.organisms.intervene as intervene
    from harness.organisms.study import intervention_summary

    monkeypatch.setattr(intervene, "arm_verdict", lambda arm: arm)  # each seed's arm stands for its verdict

    def arms(*verdicts):
        return {f"text-first-s{k}": {"intervention": v} for k, v in enumerate(verdicts)}

    assert intervention_summary(arms("supports", "supports", "undecided"))["supports"]  # 2 of 3, as registered
    assert not intervention_summary(arms("supports", "undecided", "undecided"))["supports"]
    assert not intervention_summary(arms(*["supports"] * 3, *["undecided"] * 3))["supports"]  # 3 of 6: half, not more
    assert intervention_summary(arms(*["refutes"] * 4, *["undecided"] * 2))["refutes"]
