"""Interventions inside a model's forward pass, checked exactly on tiny twins of two families."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.capture.keys import capture_keys
from harness.errors import KeyspaceError
from harness.intervention.apply import LabelBook, intervene
from harness.intervention.fit import KINDS, Intervention, fit_interventions
from harness.intervention.measure import hint_letter, hinted, measure
from harness.models.labels import IMAGE, PAD, TEXT
from harness.stats.recolour import covariance, identity

LAYER = 1


def _keys(loaded, prompts, layers, chosen=(), kind="keys"):
    book = LabelBook().add(loaded, prompts)
    with intervene(loaded, book, list(chosen)):
        return capture_keys(loaded, prompts, layers, benchmark="fixture", batch_size=3, kind=kind, early_exit=False)


def _fitted(loaded, prompts, names, shrinkage="ledoit-wolf"):
    bank = capture_keys(loaded, prompts, [LAYER], benchmark="fixture", batch_size=3, early_exit=False)
    return bank, fit_interventions(bank.layers[LAYER], LAYER, bank.num_key_value_heads, names, shrinkage=shrinkage, seed=0)


@pytest.mark.parametrize("shrinkage", ["ledoit-wolf", "none"])
def test_moments_give_image_keys_the_text_keys_mean_and_covariance(twin, prompts, shrinkage):
    """On the fitting prompts, the intervened image keys' per-head mean and covariance are the text keys'
    (their mean and their `shrinkage` covariance), to float32 precision; text keys are untouched."""
    plain, ivs = _fitted(twin, prompts, ["moments"], shrinkage)
    after = _keys(twin, prompts, [LAYER], [ivs["moments"]]).layers[LAYER]
    heads, d = plain.num_key_value_heads, plain.head_dim
    image = after.select(IMAGE).vectors.double().numpy().reshape(-1, heads, d)
    text = plain.layers[LAYER].select(TEXT).vectors.double().numpy().reshape(-1, heads, d)
    for h in range(heads):
        want = covariance(text[:, h], shrinkage)
        np.testing.assert_allclose(image[:, h].mean(0), text[:, h].mean(0), atol=1e-4 * np.abs(text).max())
        np.testing.assert_allclose(covariance(image[:, h], "none"), want, atol=1e-4 * np.abs(want).max())
    before_image = plain.layers[LAYER].select(IMAGE).vectors.double().numpy().reshape(-1, heads, d)
    assert not np.allclose(before_image.mean(0), text.mean(0), atol=1e-2 * np.abs(text).max())  # it had to move
    assert torch.equal(after.select(TEXT).vectors, plain.layers[LAYER].select(TEXT).vectors)


def test_zero_mean_shift_is_the_identity(twin, prompts):
    """`mean` with a zero shift leaves every layer's keys and the logits exactly as they were; a non-zero
    shift changes the logits (so the comparison can fail)."""
    bank = capture_keys(twin, prompts, [LAYER], benchmark="fixture")
    heads, d = bank.num_key_value_heads, bank.head_dim
    zero = Intervention(KINDS["mean"], LAYER, identity(heads, d))
    shifted = Intervention(KINDS["mean"], LAYER, identity(heads, d).__class__(identity(heads, d).matrix, np.ones((heads, d))))
    book = LabelBook().add(twin, prompts)
    inputs, _ = twin.adapter.encode(twin, prompts)
    layers = list(range(twin.num_layers))
    plain_keys = _keys(twin, prompts, layers)
    zero_keys = _keys(twin, prompts, layers, [zero])
    with torch.inference_mode():
        plain_logits = twin.model(**inputs, use_cache=False).logits
        with intervene(twin, book, [zero]):
            zero_logits = twin.model(**inputs, use_cache=False).logits
        with intervene(twin, book, [shifted]):
            shifted_logits = twin.model(**inputs, use_cache=False).logits
    for i in layers:
        assert torch.equal(zero_keys.layers[i].vectors, plain_keys.layers[i].vectors)
    assert torch.equal(zero_logits, plain_logits)
    assert not torch.allclose(shifted_logits, plain_logits)


@pytest.mark.parametrize("name", ["mean", "random", "text-moments"])
def test_keys_under_the_hook_are_the_map_applied_to_the_plain_keys(twin, prompts, name):
    """At the layer, the targeted tokens' keys are exactly the fitted map of their plain keys (others
    unchanged); shallower layers are untouched and the next layer sees the change."""
    _, ivs = _fitted(twin, prompts, [name])
    iv = ivs[name]
    layers = [LAYER - 1, LAYER, LAYER + 1]
    plain, after = _keys(twin, prompts, layers), _keys(twin, prompts, layers, [iv])
    p, a = plain.layers[LAYER], after.layers[LAYER]
    target = p.modality == iv.kind.modality
    want = torch.from_numpy(iv.map.apply(p.vectors[target].double().numpy())).float()
    torch.testing.assert_close(a.vectors[target], want, rtol=1e-5, atol=1e-5)
    assert torch.equal(a.vectors[~target], p.vectors[~target])
    assert torch.equal(after.layers[LAYER - 1].vectors, plain.layers[LAYER - 1].vectors)
    assert not torch.allclose(after.layers[LAYER + 1].vectors, plain.layers[LAYER + 1].vectors)


def test_rotation_still_applies_after_the_intervention(twin, prompts):
    """The keys attention gets are the intervened keys rotated: each head's norm is kept (RoPE and M-RoPE
    rotate pairs of coordinates), the vectors themselves differ (a rotation did happen)."""
    _, ivs = _fitted(twin, prompts, ["mean"])
    pre = _keys(twin, prompts, [LAYER], [ivs["mean"]]).layers[LAYER]
    post = _keys(twin, prompts, [LAYER], [ivs["mean"]], kind="rotated-keys").layers[LAYER]
    heads = pre.vectors.shape[1] // _keys(twin, prompts[:1], [LAYER]).head_dim
    norms = lambda v: v.view(len(v), heads, -1).norm(dim=-1)  # noqa: E731
    image = pre.modality == IMAGE
    torch.testing.assert_close(norms(post.vectors[image]), norms(pre.vectors[image]), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(post.vectors[image], pre.vectors[image])


def _reference_share(loaded, prompts, book, iv):
    """Pooled attention share of image keys from text queries, and the mean over prompts at the last
    token, from the model's own eager attention probabilities with the intervention active."""
    inputs, labels = loaded.adapter.encode(loaded, prompts)
    with torch.inference_mode(), intervene(loaded, book, [iv] if iv else []):
        probs = loaded.model(**inputs, use_cache=False, output_attentions=True).attentions[LAYER]  # [B, H, T, T]
    ratios, last = [], []
    for b in range(len(prompts)):
        real = (labels[b] != PAD).nonzero().squeeze(1)
        lab, p = labels[b][real], probs[b][:, real][:, :, real].double()
        visible = torch.ones(len(real), len(real), dtype=torch.bool).tril()
        img, txt = visible & (lab == IMAGE), visible & (lab == TEXT)
        ratio = (p * img).sum(-1) / (img.sum(-1) / visible.sum(-1))  # [H, t]
        rows = (lab == TEXT) & (img.sum(-1) > 0) & (txt.sum(-1) > 0)
        ratios.append(ratio[:, rows].flatten())
        last.append(float(ratio[:, -1].mean()))
    return float(torch.cat(ratios).mean()), sum(last) / len(last)


@pytest.mark.parametrize("name", ["", "mean", "moments"])
def test_attention_share_agrees_with_the_models_own_attention(sharp_twin, prompts, name):
    """The attention share the harness reports under an intervention equals the share recomputed from
    the model's own attention probabilities (which come from the intervened, rotated keys)."""
    _, ivs = _fitted(sharp_twin, prompts, ["mean", "moments"])
    iv = ivs[name] if name else None
    book = LabelBook().add(sharp_twin, prompts)
    cond = measure(sharp_twin, prompts, [None] * len(prompts), LAYER, book, iv, batch_size=3, caps=None, seed=0)
    share = float((cond.share * cond.share_weight).sum() / cond.share_weight.sum())
    ref, ref_last = _reference_share(sharp_twin, prompts, book, iv)
    assert share == pytest.approx(ref, abs=1e-5)
    assert float(np.nanmean(cond.last_share)) == pytest.approx(ref_last, abs=1e-5)
    if iv is not None:  # the intervention moved the share, so agreement is not agreement with the plain model
        assert abs(ref - _reference_share(sharp_twin, prompts, book, None)[0]) > 1e-3


def test_label_book_gives_the_batch_labels_and_refuses_an_unknown_prompt(twin, prompts):
    book = LabelBook().add(twin, prompts[:4])
    inputs, labels = twin.adapter.encode(twin, prompts[:4])
    assert torch.equal(book.labels(inputs["input_ids"], inputs["attention_mask"]), labels)
    other, _ = twin.adapter.encode(twin, prompts[4:6])
    with pytest.raises(KeyspaceError, match="not added to the label book") as info:
        book.labels(other["input_ids"], other["attention_mask"])
    assert "\n" not in str(info.value)


def test_hint_names_a_wrong_option_as_text(twin, prompts):
    for s in prompts:
        letter = hint_letter(s, seed=0)
        assert letter is not None and letter != s.answer and letter in "ABCD"[: len(s.options)]
        probe = hinted(s, letter)
        assert probe.prompt.endswith(s.prompt) and letter in probe.prompt.splitlines()[0]
        _, labels = twin.adapter.encode(twin, [probe])
        _, plain = twin.adapter.encode(twin, [s])
        assert int((labels == TEXT).sum()) > int((plain == TEXT).sum())  # the hint's tokens are text tokens


def test_random_control_check_on_a_model_where_the_mean_shift_moves_attention():
    """On a sharpened Qwen2.5-VL twin the mean shift moves the attention share materially, so the
    random-direction check is active; it passes with a random direction and fails when the "random"
    map is the mean shift itself (the same move, so the paired difference is 0)."""
    from harness.benchmarks import get_benchmark
    from harness.intervention.run import PairStudy, StudySettings

    from .conftest import load

    loaded = load("tiny-qwen2.5-vl", sharpen=True)
    settings = StudySettings(names=("mean", "random"), n_boot=300, ratio_boot=20)
    study = PairStudy.start(loaded, get_benchmark("fixture")((), seed=0)[:12], "fixture", settings)
    real = study.result(LAYER, "random")
    assert real.effects["random_vs_mean_attention"]["mean_moves"] and real.status == "passed", real.message
    study.interventions[LAYER]["random"] = tuple(Intervention(KINDS["random"], LAYER, m.map) for m in study.interventions[LAYER]["mean"])
    del study.conditions[(LAYER, "random")]
    same = study.result(LAYER, "random")
    assert same.status == "failed" and "moves attention share as the mean shift does" in same.message


def test_answers_do_not_depend_on_batching_or_the_padding_side(twin, prompts):
    """The answer is read at each prompt's last real token: one prompt at a time, a left-padded batch and
    a right-padded batch (as a tokenizer saved with save_pretrained may pad) choose the same letters."""
    from harness.intervention.measure import choose

    one = choose(twin, prompts, batch_size=1)
    left = choose(twin, prompts, batch_size=len(prompts))
    tok = twin.processor.tokenizer
    side, tok.padding_side = tok.padding_side, "right"
    try:
        right = choose(twin, prompts, batch_size=len(prompts))
    finally:
        tok.padding_side = side
    assert (one >= 0).all()
    np.testing.assert_array_equal(left, one)
    np.testing.assert_array_equal(right, one)
