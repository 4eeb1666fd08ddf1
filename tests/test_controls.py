"""The text-as-image control isolates content from position for every capture kind.

Post-RoPE vectors depend on the position. Text embeddings at image positions compared with the
prompt's text keys at text positions differ by position alone, and the check passed on that
(the old control on rotated keys). The control now compares two draws of text embeddings at the
same image positions for post-RoPE kinds; pre-RoPE kinds keep the prompt's own text keys.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from harness.analysis.triple import AnalysisSettings, analyze_layer
from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.run.controls import CONTROLS, matched_positions, text_as_image, text_as_image_bank
from harness.models.labels import IMAGE, TEXT
from harness.models import adapter_for, get_model_spec

SETTINGS = AnalysisSettings(threshold=1.0, alpha=0.01, permutations=200, n_boot=100, tsne_cap=0)


@pytest.fixture(scope="module")
def qwen():
    spec = get_model_spec("tiny-qwen2.5-vl")  # multimodal RoPE: image tokens get 2-D grid positions
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


@pytest.fixture(scope="module")
def samples():
    return get_benchmark("fixture")((), seed=0)[:24]


def _capture(loaded, samples, kind):
    return lambda: capture_keys(loaded, samples, [0], benchmark="fixture", kind=kind, seed=0)


def test_rotated_kinds_compare_text_at_matched_positions(qwen, samples):
    bank = text_as_image_bank(qwen, _capture(qwen, samples, "rotated-keys"), 0, kind="rotated-keys", seed=0)
    lb = bank.layers[0]
    image, text = lb.select(IMAGE), lb.select(TEXT)
    assert len(image.position) == len(text.position) > 0 and not (lb.modality == 2).any()
    assert torch.equal(image.position, text.position) and torch.equal(image.sample, text.sample)
    assert not torch.equal(image.vectors, text.vectors)  # two different draws of text tokens


def test_pre_rope_kinds_keep_the_prompts_own_text(qwen, samples):
    bank = text_as_image_bank(qwen, _capture(qwen, samples, "keys"), 0, kind="keys", seed=0)
    lb = bank.layers[0]
    image_pos, text_pos = set(lb.select(IMAGE).position.tolist()), set(lb.select(TEXT).position.tolist())
    assert image_pos and text_pos and not image_pos & text_pos  # real text tokens, at their own positions
    # the image side holds token keys (atoms shared by many prompts at unrelated positions): they
    # must not merge the prompts into one unit, so JS and AUC are still estimated, at ≈ 0
    result = analyze_layer(bank, 0, SETTINGS)
    assert result.extra["js"]["classifier"]["reason"] == "" and result.extra["js"]["classifier"]["bits"] <= 0.05
    assert abs(result.extra["auc"] - 0.5) <= 0.1


def test_matched_control_fails_where_the_position_confounded_one_passed(qwen, samples):
    """The old construction on rotated keys passes the check (a false finding made of position);
    the matched one fails it, as a negative control must."""
    with text_as_image(qwen, seed=0):
        confounded = _capture(qwen, samples, "rotated-keys")()
    old = analyze_layer(confounded, 0, SETTINGS)
    new = analyze_layer(text_as_image_bank(qwen, _capture(qwen, samples, "rotated-keys"), 0, kind="rotated-keys", seed=0), 0, SETTINGS)
    # no labels: the verdict is undecided for both, and the ratio to the by-position split is a figure only
    assert old.status == new.status == "undecided" and not new.passed
    assert old.p_value < 0.01 and old.ratio > 1.0 > new.ratio, (old.ratio, new.ratio)


def test_matched_positions_refuses_unmatched_rows(qwen, samples):
    a = _capture(qwen, samples, "rotated-keys")()
    lb = a.layers[0]
    shifted = replace(a, layers={0: replace(lb, position=lb.position + 1)})
    with pytest.raises(RuntimeError, match="row for row"):
        matched_positions(a, shifted, 0)


def test_description_names_the_comparison_for_each_kind():
    c = CONTROLS["text-as-image"]
    assert "same positions" in c.describe("rotated-keys") and "same positions" in c.describe("rotated-queries")
    for kind in ("keys", "queries", "values"):
        assert "prompt's text keys" in c.describe(kind)
    assert CONTROLS["shuffled-labels"].describe("rotated-keys") == CONTROLS["shuffled-labels"].description


def test_a_control_that_cannot_run_is_recorded_as_its_error(tmp_path, monkeypatch):
    """The control's exception reaches the test, and the results hold a row naming the control, so the
    verdict sentence says it errored instead of "controls as expected"."""
    from harness.errors import KeyspaceError
    from harness.report.verdicts import sentences
    from harness.run.options import OPTIONS, parse_config
    from harness.benchmarks import BenchmarkChoice
    from harness.run.plan import ControlCase, Triple
    from harness.run.session import KeyspaceRun

    values = {o.name: o.default for o in OPTIONS} | {
        "models": "tiny-llava", "results": str(tmp_path / "r.jsonl"), "report": str(tmp_path / "r.html"),
    }
    run = KeyspaceRun(parse_config(values.__getitem__, tmp_path))

    def refuse(pair):
        raise KeyspaceError("tiny-llava: the decoder was not called with inputs_embeds")

    monkeypatch.setattr(run, "capture", refuse)
    with pytest.raises(KeyspaceError, match="inputs_embeds"):
        run.run_control(ControlCase("text-as-image", Triple("tiny-llava", 0, BenchmarkChoice.parse("fixture"))))
    (row,) = run.results
    assert (row.status, row.extra["control"], row.model, row.layer) == ("error", "text-as-image", "tiny-llava", 0)
    assert sentences(run.results) == [
        "tiny-llava control(s): NOT as expected: text-as-image control errored: tiny-llava: the decoder was not called with inputs_embeds."
    ]


def test_a_control_records_neither_a_map_nor_per_head_figures(tmp_path):
    """A control is decided by the same tiers as a triple; the figures only shown for a finding (the t-SNE map,
    each head's tiers) are not computed for it, and the record says why."""
    from harness.benchmarks import BenchmarkChoice
    from harness.run.options import OPTIONS, parse_config
    from harness.run.plan import ControlCase, Triple
    from harness.run.session import KeyspaceRun

    values = {o.name: o.default for o in OPTIONS} | {
        "models": "tiny-llava", "results": str(tmp_path / "r.jsonl"), "report": str(tmp_path / "r.html"),
        "cache": str(tmp_path / "cache"),
    }
    run = KeyspaceRun(parse_config(values.__getitem__, tmp_path))
    triple = Triple("tiny-llava", 0, BenchmarkChoice.parse("fixture"))
    control = run.run_control(ControlCase("shuffled-labels", triple))
    assert control.extra["tsne"] is None
    heads = control.extra["tiers"]["per head"]
    assert heads["heads"] > 1 and heads["by_head"] == [] and "per-head figures off" in heads["note"]
    real = run.judge(triple)  # the triple itself still carries both
    assert real.extra["tiers"]["per head"]["by_head"] and real.extra["tsne"] is not None


def test_with_one_head_every_control_measures_that_head(tmp_path):
    """--ks-heads N: the triple and both of its controls measure head N's slice (the text-as-image control
    captures its own bank, which measured the whole vectors before), and each record names the head."""
    from harness.benchmarks import BenchmarkChoice
    from harness.run.options import OPTIONS, parse_config
    from harness.run.plan import ControlCase, Triple
    from harness.run.session import KeyspaceRun

    values = {o.name: o.default for o in OPTIONS} | {
        "models": "tiny-llava", "results": str(tmp_path / "r.jsonl"), "report": str(tmp_path / "r.html"),
        "cache": str(tmp_path / "cache"), "heads": "1",
    }
    run = KeyspaceRun(parse_config(values.__getitem__, tmp_path))
    triple = Triple("tiny-llava", 0, BenchmarkChoice.parse("fixture"))
    records = [run.judge(triple), *(run.run_control(ControlCase(name, triple)) for name in ("shuffled-labels", "text-as-image"))]
    assert [r.extra.get("head") for r in records] == [1, 1, 1]
    assert all(r.extra["tiers"]["per head"]["heads"] == 1 for r in records)


def test_a_control_that_cannot_be_measured_fails_with_one_line(pytester):
    """An estimator that cannot measure a control's keys (here the tiers made to fail as scikit-learn's probe does
    on a fold too small for it; --ks-max-points too small to give one is refused at start-up) makes the control an
    error: its test fails with the recorded line, as a triple's does, not with the estimator's traceback."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    shutil.copy(root / "suites" / "test_keyspace_controls.py", pytester.path / "test_keyspace_controls.py")
    pytester.makeconftest(
        "import harness.analysis.triple as triple\n\n"
        "def too_few(*args, **kwargs):\n"
        "    raise ValueError('The number of samples must be more than the number of classes.')\n\n"
        "triple.all_tiers = too_few\n")
    out = pytester.runpytest_subprocess(
        "--ks-models", "organism-joint", "--ks-layers", "1", "--ks-no-mechanism",
        "--ks-cache", str(pytester.path / "cache"), "-p", "no:cacheprovider", "-k", "shuffled")
    text = out.stdout.str()
    assert out.ret == 1 and "control shuffled-labels-organism-joint-L1-fixture: error: ValueError: " in text, text[-2000:]
    assert "Traceback" not in text and "discriminant_analysis.py" not in text
