"""The interventions read as a verdict: one sentence per model, outcomes named (passed / failed / known
outcome / not checked), held-out figures labelled, behaviour hidden at chance, details one click away."""

from __future__ import annotations

import re

from harness.report import render_html
from harness.report.interventions import outcome, render_interventions
from harness.report.interventions import intervention_sentences
from harness.results.records import TripleResult



def test_each_record_has_its_outcome_and_not_checked_is_never_passed(iv_records):
    records, known = iv_records
    labels = [outcome(r, known).label for r in records]
    assert labels == ["passed", "not checked", "known outcome", "failed", "not checked", "not checked"]
    assert outcome(records[2]).label == "failed"  # the same failure, not stored: a failure


def test_one_sentence_per_model_with_counts(iv_records):
    lines = intervention_sentences(*iv_records)
    assert len(lines) == 2
    assert lines[0].startswith("organism-a: interventions 1 passed, 1 failed, 1 known outcome, 1 not checked (of 4 at L2 on world)")
    assert "failed or errored: L2 world text-mean" in lines[0]
    assert lines[1].startswith("organism-b: interventions 0 passed, 0 failed, 2 not checked (of 2 at L2 on fixture)")


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr>.*?</tr>", html, flags=re.S)


def test_report_gives_the_verdict_first_and_the_details_collapsed(iv_records):
    triples = [TripleResult(model="organism-a", layer=2, benchmark="world", status="passed", passed=True)]
    html = render_html(triples, interventions=iv_records[0], known=iv_records[1])
    verdicts = html[html.index('id="verdicts"'):html.index('id="tiers"')]
    assert "organism-a: interventions 1 passed, 1 failed, 1 known outcome" in verdicts
    section = html[html.index('<section id="interventions">'):]
    assert section.index("organism-b: interventions") < section.index("<details")  # the sentences open the section
    summary = section[:section.index("Details: per-layer plot")]
    assert "<svg" not in summary and section.count("<details>") >= 2  # plots and figures one click away
    cells = re.findall(r'<td class="v-(\w+)">([^<]+)</td>', summary)
    assert ("expected", "known outcome") in cells and ("unchecked", "not checked") in cells and ("bad", "failed") in cells
    assert ("holds", "not checked") not in cells and ("bad", "known outcome") not in cells
    assert "divergence before (held-out halves)" in section and "differ from the Triples table" in section


def test_behaviour_is_not_shown_at_chance(iv_records, tmp_path):
    page = render_interventions(*iv_records[:1], tmp_path / "iv.html", iv_records[1]).read_text()
    assert '<meta name="viewport"' in page
    b = page[page.index("organism-b · fixture"):]
    table = b[b.index('<table class="interventions">'):]
    assert table.count("<td>–</td><td>at chance</td>") == 2 * 2  # accuracy and hint-following, both records
    assert "accuracy 0.26 [0.21, 0.31] includes chance (0.25)" in b and "at chance" in b
    a = page[page.index("organism-a · world"):page.index("organism-b · fixture")]
    assert "0.9 [0.85, 0.95] (chance 0.25)" in a  # well above chance: shown


def test_header_does_not_count_the_synthetic_control_as_a_model():
    from harness.report.view import report_view

    results = [TripleResult(model="tiny-llava", layer=0, benchmark="fixture", status="passed"),
               TripleResult(model="synthetic", layer=0, benchmark="synthetic", status="passed",
                            extra={"control": "synthetic-shift"})]
    assert report_view(results, {})["summary"] == "1 triple, 1 control, 1 model, 1 benchmark"


def test_the_summary_says_what_moved_even_where_no_check_could_decide(iv_records, tmp_path):
    """A "not checked" row still shows what the map moved (MMD², attention share, hint-following: after − before
    with its interval), so the reader need not open the details; hint-following stays hidden at chance."""
    page = render_interventions(*iv_records[:1], tmp_path / "iv.html", iv_records[1]).read_text()
    a = page[page.index("organism-a · world"):page.index("organism-b · fixture")]
    summary = a[:a.index("Details: per-layer plot")]
    assert "<th>Δ after − before [interval]</th>" in summary  # the fixture's records name no level
    assert "MMD² -0.09 [-0.1, -0.08]; attention share 0.3 [0.28, 0.32]; hint-following -0.26 [-0.28, -0.24]" in summary
    b = page[page.index("organism-b · fixture"):]
    b_summary = b[:b.index("Details: per-layer plot")]
    assert "MMD² -0.09 [-0.1, -0.08]; attention share 0.3 [0.28, 0.32]</td>" in b_summary and "hint-following" not in b_summary
