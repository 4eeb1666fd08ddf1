"""A run of values, queries or rotated states is described as what it captured, never as keys (`--ks-capture`:
harness.results.captured), in the report's title, sentences, tier questions, columns and definitions, and on
the console."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from harness.analysis.tiers import tiers_record
from harness.models.taps import KINDS
from harness.report import render_report
from harness.report.verdicts import sentences
from harness.results.captured import SPECIAL_AS_TEXT, SYNTHETIC, WORDS, kind_of, noun, scope
from harness.results.records import TripleResult
from harness.stats import population as P
from harness.stats.tiers import all_tiers


def _tiers() -> dict:
    k = P.sample(P.population(d=8, layout="shared-offset", shift=8.0), prompts=16, cap=160, seed=0)
    return tiers_record(all_tiers(*k.sides(True), permutations=100, n_boot=30))


def _records(kind: str | None, tiers: dict) -> list[TripleResult]:
    extra = {"tiers": tiers, **({"kind": kind} if kind else {})}
    return [TripleResult(model="m", layer=layer, benchmark="fixture", status="passed", space="raw", extra=dict(extra))
            for layer in (0, 1)]


def test_every_capture_kind_has_its_words():
    assert set(WORDS) == set(KINDS)


def test_the_noun_follows_the_records_and_leaves_the_synthetic_control_out():
    rs = _records("values", {})
    synthetic = TripleResult(model=SYNTHETIC, layer=0, benchmark="synthetic", status="passed", extra={"kind": "keys"})
    assert noun(rs + [synthetic]) == "values"
    assert noun(rs + [replace(rs[0], extra={"kind": "keys"})]) == "keys and values"
    assert noun(_records(None, {})) == "keys" and kind_of(TripleResult(model="m", layer=0, benchmark="b", status="passed")) == "keys"
    assert noun([replace(rs[0], extra={"kind": "some-future-kind"})]) == "keys"


@pytest.mark.parametrize("kind", ["values", "rotated-queries"])
def test_a_report_of_another_capture_never_calls_its_vectors_keys(kind, tmp_path):
    what = WORDS[kind][0]
    rs = _records(kind, _tiers())
    page = render_report(rs, tmp_path / "report.html", run_info={}).read_text(encoding="utf-8")
    assert f"<title>keyspace report: image vs text attention {what}</title>" in page
    assert f"Are image {what} out of the text {what}' distribution?" in page
    assert f"out of the text {what}&#39; support beyond every split" in page  # the tier sentence
    assert f"<dt>{WORDS[kind][1]}</dt>" in page and "<dt>Key</dt>" not in page
    assert f"held-out AUC of a linear probe image vs text {what}" in page
    # The only 'keys' left are the logit gap's and attention's (measured on the model's own attention,
    # whatever was captured) and the interventions' (maps of keys).
    body = re.sub(r"<style>.*?</style>|<script>.*?</script>|key/value heads", "", page, flags=re.S)
    for line in re.findall(r"[^<>]*\bkeys?\b[^<>]*", body):
        assert "attention logit" in line or "image keys minus" in line or "text keys, in logit units" in line, line
    (sentence,) = sentences(rs)
    assert f"out of the text {what}' support" in sentence and "keys" not in sentence


def test_a_report_of_keys_reads_as_before(tmp_path):
    rs = _records(None, _tiers())
    page = render_report(rs, tmp_path / "report.html", run_info={}).read_text(encoding="utf-8")
    assert "<title>keyspace report: image vs text attention keys</title>" in page
    assert "<dt>Key</dt>" in page and "raw: the keys as captured (k_proj outputs; computed in the run&#39;s dtype, kept as float32)" in page
    (sentence,) = sentences(rs)
    assert "out of the text keys' support" in sentence


def test_one_heads_records_say_which_head_everywhere_a_reader_starts(tmp_path):
    """--ks-heads 1: the title, the verdict sentence, the tier sentence and the definition say "KV head 1 only"
    (query heads for queries); whole-vector records say nothing; a mix says "some records"."""
    rs = [replace(r, extra={**r.extra, "head": 1}) for r in _records(None, _tiers())]
    assert scope(rs) == "KV head 1 only" and scope(_records(None, {})) == ""
    assert scope([replace(r, extra={**r.extra, "kind": "queries"}) for r in rs]) == "query head 1 only"
    assert scope(rs[:1] + _records(None, {})[1:]) == "some records KV head 1 only"
    page = render_report(rs, tmp_path / "report.html", run_info={}).read_text(encoding="utf-8")
    assert "<title>keyspace report: image vs text attention keys (KV head 1 only)</title>" in page
    assert "m on fixture (KV head 1 only): kernel mean" in page and "Measured: KV head 1 only (--ks-heads N" in page
    (sentence,) = sentences(rs)
    assert sentence.startswith("m (KV head 1 only): the finding")


def test_special_tokens_counted_as_text_are_said(tmp_path):
    rs = [replace(r, extra={**r.extra, "text_side": SPECIAL_AS_TEXT, "head": 0}) for r in _records(None, _tiers())]
    assert scope(rs) == f"KV head 0 only; {SPECIAL_AS_TEXT}"
    page = render_report(rs, tmp_path / "report.html", run_info={}).read_text(encoding="utf-8")
    assert f"attention keys (KV head 0 only; {SPECIAL_AS_TEXT})</title>" in page
    (sentence,) = sentences(rs)
    assert sentence.startswith(f"m (KV head 0 only; {SPECIAL_AS_TEXT}): the finding")


def test_the_analysis_records_the_text_side_and_the_head():
    from harness.analysis.triple import AnalysisSettings, analyze_layer
    from harness.run.controls import synthetic_bank

    bank = synthetic_bank(seed=0)
    settings = AnalysisSettings(threshold=1.0, alpha=0.01, permutations=50, n_boot=20, tsne_cap=0)
    plain = analyze_layer(bank, 0, settings)
    assert "text_side" not in plain.extra and "head" not in plain.extra
    marked = analyze_layer(bank.head(0), 0, replace(settings, special_as_text=True))
    assert marked.extra["text_side"] == SPECIAL_AS_TEXT and marked.extra["head"] == 0


def test_the_run_says_at_its_start_what_it_measures():
    from harness.results.captured import measured

    assert measured("keys", None, False) == "keys (k_proj outputs) of all KV heads; text side: the benchmark's text tokens"
    assert measured("values", 1, False).startswith("values (v_proj outputs) of KV head 1 only;")
    assert measured("rotated-queries", 0, True) == f"rotated queries (queries after RoPE) of query head 0 only; text side: {SPECIAL_AS_TEXT}"
