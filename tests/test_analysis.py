"""The verdict on known answers: planted shift passes, no shift fails, guards turn bad keys into errors."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from harness.analysis.selection import AnalysisError, sample_strata
from harness.analysis import triple
from harness.analysis.triple import AnalysisSettings, analyze_layer
from harness.benchmarks.sample import Sample
from harness.capture.keys import KeyBank, LayerBank
from harness.run.controls import synthetic_bank, synthetic_strata
from harness.models.labels import IMAGE, TEXT
from harness.stats.simulate import simulate_keys

SETTINGS = AnalysisSettings(threshold=1.0, alpha=0.01, permutations=200, n_boot=100, tsne_cap=0)


def with_vectors(bank, vectors):
    layer = bank.layers[0]
    return replace(bank, layers={0: replace(layer, vectors=vectors)})


def labelled(bank):
    """`bank` with its strata: two categories drawn alike (a real split of no effect)."""
    return {"strata": synthetic_strata(bank)}


def test_planted_shift_passes_and_no_shift_fails():
    bank = synthetic_bank(seed=0, shift=1.0)
    shifted = analyze_layer(bank, 0, SETTINGS, **labelled(bank))
    assert shifted.passed and shifted.extra["ratio_interval"]["low"] >= 1 and shifted.p_value < 0.01
    same = analyze_layer(synthetic_bank(seed=0, shift=0.0), 0, SETTINGS, **labelled(bank))
    assert not same.passed and same.status in ("failed", "undecided")
    assert same.message.startswith("kernel mean tier: ") and "lower bound must be ≥ 1" in same.message


def test_js_and_auc_follow_the_shift():
    far = analyze_layer(synthetic_bank(seed=0, shift=2.0), 0, SETTINGS)
    none = analyze_layer(synthetic_bank(seed=0, shift=0.0), 0, SETTINGS)
    assert far.extra["auc"] > 0.9 > 0.6 > none.extra["auc"]
    assert far.extra["js"]["classifier"]["bits"] > 0.3 > 0.05 > none.extra["js"]["classifier"]["bits"]


def test_by_benchmark_baseline_can_overturn_the_verdict():
    bank = synthetic_bank(seed=0, shift=1.0)
    other = synthetic_bank(seed=1, shift=1.0)
    # The other benchmark's text keys sit far away: text differs more across benchmarks than image from text.
    moved = other.layers[0].vectors.clone()
    moved[other.layers[0].modality == TEXT] += 5.0
    result = analyze_layer(bank, 0, SETTINGS, other=with_vectors(other, moved), **labelled(bank))
    # on the point only (no bound): a miss is undecided, never a pass, and not "absent" (no upper bound under it)
    assert "text/by-benchmark" in result.intra and not result.passed and result.status == "undecided"
    assert result.tiers.verdict == "undecided: under threshold × a by-benchmark effect on the point (not bounded)"
    assert "under 1 × text/by-benchmark " in result.message and "(by-benchmark effects, on the point)" in result.message
    calm = analyze_layer(bank, 0, SETTINGS, other=other, **labelled(bank))
    assert calm.passed and calm.intra["text/by-benchmark"] < result.intra["text/by-benchmark"]


def test_seconds_cover_the_whole_analysis_the_t_sne_map_included(monkeypatch):
    # the triple's clock only moves while the map is drawn: `seconds` sees those 100 s only if the map is inside it
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(triple, "time", SimpleNamespace(perf_counter=lambda: clock.now))
    drawn = triple.tsne_2d

    def slow_map(*args, **kwargs):
        clock.now += 100.0
        return drawn(*args, **kwargs)

    monkeypatch.setattr(triple, "tsne_2d", slow_map)
    result = analyze_layer(synthetic_bank(seed=0, shift=1.0), 0, replace(SETTINGS, tsne_cap=40, tsne_iter=10))
    assert result.extra["tsne"]["points"] and result.seconds == 100.0


def test_the_map_beside_the_statistics_gives_the_record_of_one_after_the_other(monkeypatch):
    """The t-SNE map runs on its own thread while the statistics are computed: every figure and the map's points
    are those of a run that draws the map after them."""
    from concurrent.futures import Future

    class OneAfterTheOther:  # the executor's interface, running each job when it is submitted
        def __init__(self, max_workers=1):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, *args, **kwargs):
            done = Future()
            done.set_result(fn(*args, **kwargs))
            return done

    bank, settings = synthetic_bank(seed=0, shift=1.0), replace(SETTINGS, tsne_cap=60, tsne_iter=20)
    beside = analyze_layer(bank, 0, settings, **labelled(bank))
    monkeypatch.setattr(triple, "ThreadPoolExecutor", OneAfterTheOther)
    after = analyze_layer(bank, 0, settings, **labelled(bank))
    assert beside.extra["tsne"]["points"] and beside.extra == after.extra
    assert (beside.mmd2, beside.p_value, beside.ratio, beside.intra) == (after.mmd2, after.p_value, after.ratio, after.intra)


def test_non_finite_keys_are_an_error_not_a_pass():
    bank = synthetic_bank(seed=0, shift=3.0)
    vectors = bank.layers[0].vectors.clone()
    idx = torch.nonzero(bank.layers[0].modality == IMAGE).squeeze(1)[:3]
    vectors[idx, 0] = float("inf")
    with pytest.raises(AnalysisError, match="3 of .* image vectors are not finite.*--ks-dtype float32"):
        analyze_layer(with_vectors(bank, vectors), 0, SETTINGS)


def test_empty_modality_is_an_error_not_a_division_by_zero():
    bank = synthetic_bank(seed=0)
    layer = bank.layers[0]
    only_text = replace(bank, layers={0: replace(layer, modality=torch.full_like(layer.modality, TEXT))})
    with pytest.raises(AnalysisError, match="only 0 image vectors captured"):
        analyze_layer(only_text, 0, SETTINGS)


def sim_bank(*, prompts=24, shift=1.0, seed=0, category_sd=1.0):
    """A KeyBank of simulated clustered prompts (harness.stats.simulate) and its sample strata."""
    k = simulate_keys(prompts=prompts, d=16, shift=shift, category_sd=category_sd, seed=seed, cap_image=480, cap_text=240)
    vectors = torch.from_numpy(np.vstack([k.image, k.text]))
    modality = torch.tensor([IMAGE] * len(k.image) + [TEXT] * len(k.text), dtype=torch.int8)
    sample = torch.from_numpy(np.r_[k.image_units, k.text_units].astype(np.int32))
    layer = LayerBank(vectors=vectors, modality=modality, sample=sample, position=torch.arange(len(sample), dtype=torch.int32))
    ids = tuple(f"p{i}" for i in range(prompts))
    bank = KeyBank(model="sim", benchmark="sim", kind="keys", sample_ids=ids, layers={0: layer}, num_key_value_heads=1, head_dim=16)
    cats = dict(zip(k.image_units.tolist(), k.image_category.tolist())) | dict(zip(k.text_units.tolist(), k.text_category.tolist()))
    strata = {f"p{i}": {"unit": f"p{i}", "language": "en", "category": str(cats[i])} for i in range(prompts)}
    return bank, strata


def test_the_verdict_uses_the_lower_bound_not_the_point_ratio():
    # Few prompts, a shift that beats the category effect about three times on the point. The same figures
    # judged at a threshold between the lower bound and the point: undecided; just under the bound: holds.
    bank, strata = sim_bank(prompts=16, shift=2.5, seed=1)
    first = analyze_layer(bank, 0, SETTINGS, strata=strata)
    low, point = first.extra["ratio_interval"]["low"], first.ratio
    assert first.p_value < 0.01 and 0 < low < point and point > 2.5
    result = analyze_layer(bank, 0, replace(SETTINGS, threshold=(low + point) / 2), strata=strata)
    assert result.ratio == pytest.approx(point) and result.status == "undecided"
    assert not result.passed and "lower bound must be ≥" in result.message
    assert analyze_layer(bank, 0, replace(SETTINGS, threshold=0.9 * low), strata=strata).status == "passed"
    assert set(result.intra) == {"image/by-category", "text/by-category"}  # one language: no language split
    assert result.extra["intra_basis"] == "labels: category"


def test_strata_decide_the_denominator_and_units_merge_shared_images():
    bank, strata = sim_bank(prompts=24, shift=4.0)
    with_labels = analyze_layer(bank, 0, SETTINGS, strata=strata)
    assert with_labels.passed and with_labels.extra["units"] == 24
    assert with_labels.intra["image/by-category"] > 0 and with_labels.extra["noise_floor"]["image"] > 0
    # two prompts per unit (as when they share an image): half as many independent units
    paired = {sid: {**v, "unit": f"u{int(sid[1:]) // 2}"} for sid, v in strata.items()}
    assert analyze_layer(bank, 0, SETTINGS, strata=paired).extra["units"] == 12
    with pytest.raises(AnalysisError, match="no strata for 1 sample"):
        analyze_layer(bank, 0, SETTINGS, strata={k: v for k, v in strata.items() if k != "p3"})


def test_saturated_interval_says_why():
    # the synthetic categories are drawn alike: their split's effect is 0, so the ratio's upper end is unbounded
    bank = synthetic_bank(seed=0, shift=1.0)
    result = analyze_layer(bank, 0, SETTINGS, **labelled(bank))
    ci = result.extra["ratio_interval"]
    assert result.passed and result.extra["intra_basis"] == "labels: category"
    assert "high" in ci["saturated"] and ci["high"] == ci["cap"] and "indistinguishable from 0" in ci["note"]


def test_without_labels_the_by_position_split_is_a_figure_and_the_triple_undecided():
    result = analyze_layer(synthetic_bank(seed=0, shift=1.0), 0, SETTINGS)
    assert result.status == "undecided" and not result.passed and result.extra["intra_basis"].startswith("position")
    assert "no real sub-population" in result.message and "ratio_interval" not in result.extra


def test_sample_strata_groups_prompts_that_share_an_image():
    red, blue = Image.new("RGB", (4, 4), "red"), Image.new("RGB", (4, 4), "blue")

    def sample(i, images, language):
        return Sample(id=f"s{i}", images=images, question="q", options=(), answer=None, language=language,
                      category="c", prompt="q")

    strata = sample_strata([sample(0, (red,), "en"), sample(1, (blue,), "en"), sample(2, (red,), "zh"),
                            sample(3, (blue, red), "zh"), sample(4, (Image.new("RGB", (4, 4), "green"),), "en")])
    assert [strata[f"s{i}"]["unit"] for i in range(5)] == ["s0", "s0", "s0", "s0", "s4"]
    assert strata["s2"]["language"] == "zh" and strata["s2"]["category"] == "c"
