"""What the intervention suite asserts (checks), how answers become accuracy and hint-following,
the records file, the report page and the options, on hand-made inputs."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from harness.benchmarks import BenchmarkChoice
from harness.benchmarks.sample import Sample
from harness.analysis.triple import AnalysisSettings, analyze_layer
from harness.capture.keys import KeyBank, LayerBank
from harness.errors import KeyspaceError
from harness.intervention.fit import DEFAULT, parse_kinds, split_prompts
from harness.intervention.measure import Answers, Condition
from harness.report.interventions import render_interventions
from harness.intervention.results import InterventionResult, read_interventions
from harness.intervention.checks import checks
from harness.intervention.run import StudySettings, _divergence, _effects, _unit_effect
from harness.intervention.options import INTERVENTION_OPTIONS, parse_intervention_config
from harness.results.records import TripleResult, append_result, parse_lines, read_results


def _effect(before, after, low=None, high=None):
    change = after - before
    return {"before": before, "after": after, "change": change, "before_low": before, "before_high": before,
            "after_low": after, "after_high": after, "change_low": change if low is None else low,
            "change_high": change if high is None else high, "n_prompts": 10, "level": 0.9, "n_boot": 10}


def _record(name="mean", before_mmd2=0.1, after_mmd2=0.01, after_ratio=0.5, change_high=None, fit_error=None, **effects):
    div = {"before": {"mmd2": before_mmd2, "intra": 0.01, "ratio": 10.0, "low": 5.0, "high": 20.0, "sigma": 1.0, "units": 9,
                      "p_value": 0.001, "triple_passes": True},
           "after": {"mmd2": after_mmd2, "intra": 0.01, "ratio": after_ratio, "low": after_ratio / 2, "high": after_ratio * 2,
                     "sigma": 1.0, "units": 9},
           "change": {"change": after_mmd2 - before_mmd2, "change_low": after_mmd2 - before_mmd2 - 0.01,
                      "change_high": after_mmd2 - before_mmd2 + 0.01 if change_high is None else change_high}}
    return InterventionResult(model="m", layer=1, benchmark="fixture", intervention=name, divergence=div,
                              effects={"attention_share": _effect(0.5, 0.8), **effects}, settings={"threshold": 1.0},
                              map={"fit_error": fit_error or {}})


def test_checks_pass_when_the_keys_move_and_fail_when_they_do_not():
    assert checks(_record()) == {}
    assert "did not fall" in checks(_record(after_mmd2=0.2))["divergence_change"]
    assert "did not fall" in checks(_record("text-moments", after_mmd2=0.1))["divergence_change"]
    assert "does not exclude 0" in checks(_record(after_mmd2=0.09, change_high=0.002))["divergence_change"]  # a fall within the noise
    assert checks(_record("random", after_mmd2=0.5)) == {}  # a random shift may raise the divergence
    assert "intra-modal level" in checks(_record("moments", after_ratio=3.0))["divergence"]
    assert checks(_record("mean", after_ratio=3.0)) == {}  # only `moments` must reach it
    # The map must do what it says on its fitting half.
    assert checks(_record("moments", fit_error={"mean": 1e-14, "cov": 2e-13})) == {}
    assert "misses the target's covariance by 0.3" in checks(_record("moments", fit_error={"mean": 1e-14, "cov": 0.3}))["fit_cov"]
    assert "misses the target's mean" in checks(_record("mean", fit_error={"mean": 1e-3}))["fit_mean"]


def test_divergence_checks_are_not_decided_without_the_finding_before():
    """Where the triple check does not find the gap before, there is nothing to close: the checks of the
    fall and of the intra-modal level are left undecided, with a note saying why (never a silent pass)."""
    from harness.intervention.checks import undecided

    kw = dict(threshold=1.0, alpha=0.01)
    absent = {"p_value": 0.2, "ratio": 0.6, "low": 0.3, "high": 2.0, "triple_passes": False}
    notes = undecided("moments", absent, **kw)
    assert set(notes) == {"divergence_change", "divergence"} and "does not find the gap" in notes["divergence"]
    assert set(undecided("mean", absent, **kw)) == {"divergence_change"}
    assert undecided("random", absent, **kw) == {} and undecided("moments", absent | {"triple_passes": True}, **kw) == {}
    record = replace(_record("moments", after_mmd2=0.2, after_ratio=3.0), notes=notes)
    assert checks(record) == {}


def test_random_control_check_needs_a_mean_effect_and_a_difference():
    same = _effect(0.0, 0.001, low=-0.01, high=0.01) | {"mean_moves": True}
    differs = _effect(0.0, 0.2, low=0.1, high=0.3) | {"mean_moves": True}
    assert "moves attention share as the mean shift does" in checks(_record("random", random_vs_mean_attention=same))["random_vs_mean_attention"]
    assert checks(_record("random", random_vs_mean_attention=differs)) == {}
    assert checks(_record("random", random_vs_mean_attention=same | {"mean_moves": False})) == {}


def _condition(plain, hinted, p):
    bank = LayerBank(torch.zeros(2, 4), torch.tensor([0, 1], dtype=torch.int8), torch.zeros(2, dtype=torch.int32),
                     torch.arange(2, dtype=torch.int32))
    ones = np.ones(p)
    return Condition(keys=bank, share=ones, share_weight=ones, logit_gap=ones, last_share=ones, last_logit_gap=ones,
                     answers=Answers(np.array(plain), np.array(hinted)))


def _sample(i, answer, hint=None):
    s = Sample(id=f"s{i}", images=(), question="q", options=("a", "b", "c"), answer=answer, language="en",
               category="c", prompt="q")
    return s if hint is None else replace(s, meta={"hint_letter": hint})


def test_accuracy_and_hint_following_count_letters():
    held = [_sample(0, "A"), _sample(1, "B"), _sample(2, "C"), _sample(3, "AB")]  # s3: no single letter
    probes = [_sample(0, "A", "B"), _sample(1, "B", "C"), None, None]
    before = _condition([0, 1, 0, 2], [1, 1, -1, -1], 4)  # correct: s0, s1 of 3 known; hint followed: s0
    after = _condition([0, 0, 2, 2], [1, 2, -1, -1], 4)  # correct: s0, s2; hint followed: s0, s1
    effects, notes = _effects(before, after, held, probes, np.arange(4), StudySettings(names=DEFAULT, n_boot=50))
    assert effects["accuracy"]["n_prompts"] == 3
    assert effects["accuracy"]["before"] == pytest.approx(2 / 3) and effects["accuracy"]["after"] == pytest.approx(2 / 3)
    assert effects["accuracy"]["chance"] == pytest.approx(1 / 3)  # three options each
    assert effects["hint_following"]["n_prompts"] == 2
    assert effects["hint_following"]["before"] == 0.5 and effects["hint_following"]["after"] == 1.0
    assert notes == {}


def test_no_options_or_no_letter_tokens_are_na_with_a_reason():
    held, probes = [_sample(0, "A")], [None]
    c = _condition([0], [-1], 1)
    _, notes = _effects(replace(c, answers=None), c, held, probes, np.arange(1), StudySettings(names=DEFAULT, n_boot=10))
    assert "no options" in notes["accuracy"]
    minus = _condition([-1], [-1], 1)
    _, notes = _effects(minus, minus, held, probes, np.arange(1), StudySettings(names=DEFAULT, n_boot=10))
    assert "not one token" in notes["accuracy"]


def test_split_keeps_whole_prompts_apart_and_is_seeded():
    fit, held = split_prompts(list(range(11)), seed=0)
    assert len(fit) == 5 and len(held) == 6 and not set(fit) & set(held) and sorted(fit + held) == list(range(11))
    assert split_prompts(list(range(11)), seed=0) == (fit, held) != split_prompts(list(range(11)), seed=1)
    with pytest.raises(KeyspaceError, match="at least 4 units"):
        split_prompts([1, 2, 3], seed=0)


def test_split_keeps_the_prompts_of_one_unit_on_one_side():
    """The English and Chinese prompts of one image are one unit: both are fitted or both measured
    (fitting on one would fit on the measured prompt's image keys)."""
    prompts = [f"{u}-{lang}" for u in range(9) for lang in ("en", "zh")]
    units = [p.split("-")[0] for p in prompts]
    for seed in range(5):
        fit, held = split_prompts(prompts, seed=seed, units=units)
        fit_units, held_units = {p.split("-")[0] for p in fit}, {p.split("-")[0] for p in held}
        assert not fit_units & held_units and len(fit_units) == 4 and len(held_units) == 5 and len(fit + held) == 18
        assert fit == [p for p in prompts if p in fit]  # each half keeps the given order
    # Prompt by prompt, some unit would straddle the halves: the check above can fail.
    fit, held = split_prompts(prompts, seed=0)
    assert {p.split("-")[0] for p in fit} & {p.split("-")[0] for p in held}
    with pytest.raises(KeyspaceError, match="at least 4 units.*from 6 prompts"):
        split_prompts(prompts[:6], seed=0, units=units[:6])


def test_unit_effect_weighs_prompts_and_resamples_units():
    """The point is the weighted mean over prompts; the interval resamples units, so a unit whose two
    prompts agree counts once (a prompt bootstrap would count it twice and narrow the interval)."""
    rng = np.random.default_rng(0)
    unit_value = rng.normal(size=12)
    before = np.repeat(unit_value, 2)  # two identical prompts per unit
    after = before + 1.0 + np.repeat(rng.normal(size=12), 2)
    w = rng.uniform(1, 3, size=24)
    s = StudySettings(names=DEFAULT, n_boot=2000)
    by_unit = _unit_effect(before, after, w, np.repeat(np.arange(12), 2), s)
    by_prompt = _unit_effect(before, after, w, np.arange(24), s)
    assert by_unit["after"] == pytest.approx(w @ after / w.sum()) and by_unit["before"] == pytest.approx(w @ before / w.sum())
    assert by_unit["n_prompts"] == 12 and by_prompt["n_prompts"] == 24
    width = lambda e: e["change_high"] - e["change_low"]  # noqa: E731
    assert width(by_unit) > 1.2 * width(by_prompt)  # about √2 wider
    nan_after = after.copy()
    nan_after[:2] = np.nan  # unit 0 has no figure: left out of both sides
    assert _unit_effect(before, nan_after, w, np.repeat(np.arange(12), 2), s)["n_prompts"] == 11


def _keybank(n_prompts=16, seed=0, shift=1.0):
    """Keys of prompts whose English and Chinese forms share an image (one unit each), with categories."""
    rng = np.random.default_rng(seed)
    rows, modality, sample, position = [], [], [], []
    for i in range(n_prompts):
        offset = rng.normal(size=8) * 0.5
        for code, n, mu in ((1, 30, shift), (0, 8, 0.0)):  # image, text
            rows.append(rng.normal(size=(n, 8)) + offset + mu)
            modality += [code] * n
            sample += [i] * n
            position += list(range(n))
    ids = tuple(f"u{i // 2}-{'en' if i % 2 == 0 else 'zh'}" for i in range(n_prompts))
    layer = LayerBank(torch.tensor(np.concatenate(rows), dtype=torch.float32), torch.tensor(modality, dtype=torch.int8),
                      torch.tensor(sample, dtype=torch.int32), torch.tensor(position, dtype=torch.int32))
    strata = {x: {"unit": x.split("-")[0], "language": x.split("-")[1], "category": f"c{int(x[1:].split('-')[0]) % 2}"} for x in ids}
    return KeyBank(model="m", benchmark="fixture", kind="keys", sample_ids=ids, layers={3: layer},
                   num_key_value_heads=1, head_dim=8), strata


@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_divergence_is_the_triple_checks_own_figures(shift):
    """_divergence on held-out keys gives what analyze_layer gives on the same keys and units: MMD²,
    p-value, strongest intra-modal effect, ratio and interval, verdict."""
    bank, strata = _keybank(shift=shift)
    held = [_sample(0, "A") for _ in bank.sample_ids]
    held = [replace(h, id=i) for h, i in zip(held, bank.sample_ids)]
    cond = replace(_condition([0], [0], 1), keys=bank.layers[3])
    s = StudySettings(names=DEFAULT, ratio_boot=100, permutations=200, threshold=1.0, alpha=0.05)
    got = _divergence(cond, held, strata, s, sigma=None)
    triple = analyze_layer(bank, 3, AnalysisSettings(threshold=1.0, alpha=0.05, permutations=200, n_boot=100,
                                                     tsne_cap=0), strata=strata)
    assert got["units"] == triple.extra["units"] == 8
    assert got["mmd2"] == pytest.approx(triple.mmd2) and got["p_value"] == pytest.approx(triple.p_value)
    assert got["ratio"] == pytest.approx(triple.ratio) and got["sigma"] == pytest.approx(triple.bandwidth)
    assert (got["low"], got["high"]) == pytest.approx((triple.extra["ratio_interval"]["low"], triple.extra["ratio_interval"]["high"]))
    assert got["intra_effects"] == pytest.approx(triple.intra) and got["strongest"] == triple.extra["strongest_intra"]
    assert got["triple_passes"] == triple.passed
    # A fixed σ is used as given (before and after share the before keys' σ).
    assert _divergence(cond, held, strata, s, sigma=2 * got["sigma"])["sigma"] == 2 * got["sigma"]


def test_records_are_apart_from_triples(tmp_path):
    path = tmp_path / "mixed.jsonl"
    append_result(path, TripleResult(model="m", layer=1, benchmark="b", status="passed"))
    append_result(path, _record())
    append_result(path, _record("moments"))
    path.open("a").write('{"torn": ')
    got = read_interventions(path)
    assert sorted(r.intervention for r in got) == ["mean", "moments"]
    assert got[0] == InterventionResult.from_dict(json.loads(got[0].to_json()))
    # The triples' reader names an intervention record and never reads it as a triple (it would take a triple's key);
    # a run does not keep or extend such a file. Hence the separate default file reports/interventions.jsonl.
    triples, problems = parse_lines(path.read_text().splitlines())
    assert [r.key for r in triples] == [("m", 1, "b", "")]
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4"] and "intervention record" in problems[0]
    with pytest.raises(KeyspaceError, match=r"mixed.jsonl line 2: an intervention record, not a triple's result"):
        read_results(path)


def test_report_page_shows_every_record_and_its_na_reason(tmp_path):
    records = [_record(), replace(_record("random"), notes={"accuracy": "no options here"}),
               InterventionResult(model="m", layer=2, benchmark="fixture", intervention="mean", status="error", message="boom")]
    html = render_interventions(records, tmp_path / "iv.html").read_text()
    assert html.count("<svg") == 1 and "no options here" in html and "boom" in html


def test_the_run_draws_each_plot_once_for_its_two_pages(tmp_path, monkeypatch):
    """interventions.html and report.html show the same plots: equal records (also read back from the records
    file) and tag are drawn once; other records are drawn anew."""
    import harness.report.interventions as page

    drawn = []
    figure = page._figure
    monkeypatch.setattr(page, "_figure", lambda records: drawn.append(len(records)) or figure(records))
    records = [_record(), _record("random")]
    path = tmp_path / "iv.jsonl"
    path.write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
    first = page._plot(records, "iv0")
    assert page._plot(read_interventions(path), "iv0") == first and drawn == [2]
    assert page._plot(records[:1], "iv0") != first and drawn == [2, 1]
    assert page._plot(records, "iv1") != first and len(drawn) == 3


def test_options_are_registered_and_parsed(tmp_path):
    values = {o.name: o.default for o in INTERVENTION_OPTIONS}
    run_results = tmp_path / "reports" / "results.jsonl"

    def parse(**changed):
        return parse_intervention_config((values | changed).get, tmp_path, run_results=run_results)

    cfg = parse()
    assert cfg.names == DEFAULT and cfg.layers == ("mid",) and cfg.shrinkage == "ledoit-wolf" and cfg.benchmarks is None
    assert parse(**{"intervene-benchmarks": "world, fixture:en"}).benchmarks == (
        BenchmarkChoice("world"), BenchmarkChoice("fixture", ("en",)))
    assert cfg.results == tmp_path / "reports" / "interventions.jsonl"
    assert parse_kinds("moments, mean") == ("moments", "mean")
    with pytest.raises(KeyspaceError, match="unknown intervention 'shift'") as info:
        parse(intervene="mean,shift")
    assert "\n" not in str(info.value)
    with pytest.raises(KeyspaceError, match="--ks-intervene-shrinkage"):
        parse(**{"intervene-shrinkage": "oas"})


def test_intervention_records_go_beside_the_run_results_unless_named(tmp_path):
    """`pytest suites/ --ks-results out/r.jsonl` keeps every output in out/, not reports/ under the rootdir."""
    values = {o.name: o.default for o in INTERVENTION_OPTIONS}
    elsewhere = tmp_path / "elsewhere" / "r.jsonl"
    for named in ("auto", ""):  # an empty value means the default
        cfg = parse_intervention_config((values | {"intervene-results": named}).get, tmp_path, run_results=elsewhere)
        assert cfg.results == tmp_path / "elsewhere" / "interventions.jsonl"
    cfg = parse_intervention_config((values | {"intervene-results": "iv/x.jsonl"}).get, tmp_path, run_results=elsewhere)
    assert cfg.results == tmp_path / "iv" / "x.jsonl"  # named: wins, relative to the rootdir as every output is


def test_main_report_has_the_interventions_section_only_when_given(tmp_path):
    from harness.report import render_html

    triples = [TripleResult(model="m", layer=1, benchmark="fixture", status="passed")]
    assert 'id="interventions"' not in render_html(triples)
    html = render_html(triples, interventions=[_record(), _record("moments")])
    assert 'id="interventions"' in html and 'href="#interventions"' in html and html.count("<svg") >= 1
    assert "Δ MMD² -0.09 [-0.1, -0.08]" in html  # the paired change of the divergence is shown


def test_session_reads_only_records_written_since_it_began(tmp_path):
    import os

    from harness.intervention.results import read_interventions_since
    from harness.results.records import part_path

    path = tmp_path / "interventions.jsonl"
    append_result(path, _record())
    append_result(part_path(path, "gw0"), _record("moments"))
    old = path.stat().st_mtime - 100
    assert {r.intervention for r in read_interventions_since(path, old)} == {"mean", "moments"}
    os.utime(path, (old - 50, old - 50))  # another run's file
    assert [r.intervention for r in read_interventions_since(path, old)] == ["moments"]
    assert read_interventions_since(tmp_path / "none.jsonl", old) == []


def test_a_stored_failure_is_expected_only_with_the_same_checks(tmp_path):
    from harness.results.baselines import BaselineStore
    from harness.intervention.baselines import expected_failure, stored_outcome, write_outcome

    store = BaselineStore(own=tmp_path / "own", stored=tmp_path / "committed", strict=False)
    failed = _record("random").decided({"random_vs_mean_attention": "moves attention as mean does"})
    assert expected_failure(failed, store) is None  # nothing stored: a failure fails
    path = write_outcome(failed, store)
    assert path == tmp_path / "committed" / "interventions" / "m.json"
    assert stored_outcome(failed, store) == {"status": "failed", "failed_checks": ["random_vs_mean_attention"],
                                             "harness": stored_outcome(failed, store)["harness"]}
    assert "as in the stored baseline" in expected_failure(failed, store)
    other = _record("random").decided({"divergence_change": "did not fall"})
    assert expected_failure(other, store) is None  # another check failed: not the known outcome
    passed = _record("random").decided({})
    assert expected_failure(passed, store) is None and expected_failure(failed, None) is None


def test_report_reads_records_of_the_former_layout(tmp_path):
    """A record written before the fall check existed (only notes.divergence, integer fold sizes) renders."""
    old = replace(_record("moments"), notes={"divergence": "before, the lower bound is under 1: there is no gap to close"},
                  n_fit_prompts=36, n_fit_units=18)
    html = render_interventions([old], tmp_path / "old.html").read_text()
    assert "not checked: the intra-modal level: before, the lower bound is under 1" in html and "36 (18)" in html
