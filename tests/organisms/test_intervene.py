"""The organisms' key interventions: the OT map is the minimal-displacement Gaussian map, the logit control changes
the mean query·key logit as the mean shift does, and a mapped forward changes image keys only."""

import pytest
import torch

from harness.organisms import evaluate, world
from harness.organisms.intervene import LayerMap, applied, collect, describe, fit_maps, gaussian_ot, paired


def _spd(n, gen):
    a = torch.randn(n, n, generator=gen, dtype=torch.float64)
    return a @ a.T + 0.5 * torch.eye(n, dtype=torch.float64)


def test_gaussian_ot_maps_moments_and_is_symmetric():
    gen = torch.Generator().manual_seed(0)
    cs, ct = _spd(6, gen), _spd(6, gen)
    ms, mt = torch.randn(6, generator=gen, dtype=torch.float64), torch.randn(6, generator=gen, dtype=torch.float64)
    m = gaussian_ot(ms, cs, mt, ct)
    torch.testing.assert_close(m.matrix @ cs @ m.matrix.T, ct)
    torch.testing.assert_close(m(ms[None])[0], mt)
    torch.testing.assert_close(m.matrix, m.matrix.T)  # the OT map is a symmetric positive matrix (moments' C_t^½ C_s^-½ is not)
    assert torch.linalg.eigvalsh(m.matrix).min() > 0
    assert gaussian_ot(ms, cs, ms, cs)(ms[None] + 1.0).sub(ms[None] + 1.0).abs().max() < 1e-8  # identity on equal Gaussians


def test_doses_scale_the_displacement():
    m = LayerMap(None, torch.tensor([3.0, 4.0], dtype=torch.float64))
    k = torch.zeros(5, 2, dtype=torch.float64)
    assert (m(k, 0.5) - k).norm(dim=1).mean() == pytest.approx(2.5) and (m(k, -1.0) + m.shift).abs().max() == 0




def test_maps_fitted_on_a_model_do_what_they_are_named_for(tiny):
    w, model, processor = tiny
    items = [evaluate.Item(img, qa.question, qa.candidates) for s, img in zip(w.eval_scenes, w.eval_images)
             for lang in world.LANGUAGES for qa in world.questions(s, lang)]
    keys = collect(model, processor, items, [0, 1])
    maps = fit_maps(keys, kv_heads=model.config.text_config.num_key_value_heads)
    for i in (0, 1):
        delta = keys[i]["text"].mean(0) - keys[i]["image"].mean(0)
        assert maps["random"][i].shift.norm() == pytest.approx(float(delta.norm()))
        kv = model.config.text_config.num_key_value_heads
        hd = len(delta) // kv
        qbar = keys[i]["query"].mean(0).view(kv, -1, hd).mean(1)  # query heads of a group are adjacent (repeat_kv)
        torch.testing.assert_close((maps["logit"][i].shift.view(kv, hd) * qbar).sum(1), (delta.view(kv, hd) * qbar).sum(1))
        assert maps["logit"][i].shift.norm() < delta.norm()
        torch.testing.assert_close(maps["ot"][i](keys[i]["image"]).mean(0), keys[i]["text"].mean(0))
    d = describe(maps["ot"], keys)
    assert all(v["mmd2_after"] < v["mmd2_before"] for v in d.values())
    assert describe({1: maps["ot"][1]}, keys)[1] == d[1]  # a band reports the same layer figures as the whole


def test_a_mapped_forward_changes_image_keys_only(tiny):
    w, model, processor = tiny
    qa = world.questions(w.eval_scenes[0], "en")[0]
    item = [evaluate.Item(w.eval_images[0], qa.question, qa.candidates)]
    before = collect(model, processor, item, [0])[0]
    shift = LayerMap(None, torch.ones(before["image"].shape[1], dtype=torch.float64))
    with applied(model, {0: shift}):
        after = collect(model, processor, item, [0])[0]
    torch.testing.assert_close(after["text"], before["text"])
    torch.testing.assert_close(after["image"], before["image"] + 1.0, rtol=1e-4, atol=1e-4)


def test_paired_interval_and_mde():
    before = torch.zeros(400).numpy()
    after = (torch.arange(400) % 4 == 0).double().numpy()  # a 0.25 rise
    r = paired(before, after)
    assert r["delta"] == pytest.approx(0.25) and r["interval"][0] < 0.25 < r["interval"][1] and 0 < r["mde"] < 0.1
