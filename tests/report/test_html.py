"""The HTML report: sections, self-containment, hostile text, missing figures, size, determinism."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from harness.report import render_html, render_report
from harness.results.records import TripleResult

HOSTILE = "<script>alert(1)</script>"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML document."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def named(self, name: str) -> list[dict]:
        return [a for t, a in self.tags if t == name]


@pytest.fixture(scope="module")
def page(synthetic_report) -> str:
    return synthetic_report[1].read_text(encoding="utf-8")


def test_every_section_is_there(page):
    ids = {a.get("id") for _, a in Tags(page).tags}
    assert {"run", "verdicts", "triples", "layers", "tsne", "controls", "definitions"} <= ids
    for label in ("torch", "transformers", "device", "git commit", "seed", "sample ids digest", "Options (3)"):
        assert label in page
    # one sortable table per benchmark, plus the controls table
    tables = [a for a in Tags(page).named("table") if "sortable" in a.get("class", "")]
    assert [t["id"] for t in tables] == ["bench-0", "bench-0-all", "bench-1", "bench-1-all", "controls-table"]


def test_triple_table_shows_every_extra_figure(page):
    text = " ".join(Tags(page).text)
    for header in ("ratio", "JS clf", "JS kNN", "classifier-logloss", "knn-k5", "AUC", "logit gap", "attn share",
                   "image/by-benchmark", "text/by-sample", "capture", "baseline"):
        assert header in text, header
    assert "[24.6, 36.3]" in text  # ratio 30 with its bootstrap interval
    assert "95% interval: bootstrap over samples, 200 resamples" in page  # a record that names no method


def test_plots_are_inline_svg_with_unique_ids(page):
    tags = Tags(page)
    assert len(tags.named("svg")) == 4 * 3 + 12  # three panels per (model, benchmark) + one t-SNE map per real triple
    ids = Counter(a["id"] for _, a in tags.tags if "id" in a)
    assert [i for i, n in ids.items() if n > 1] == []
    # every url(#…) / href="#…" inside the figures points at an id of the page
    refs = set(re.findall(r'url\(#([^)]+)\)', page)) | set(re.findall(r'xlink:href="#([^"]+)"', page))
    assert refs and refs <= set(ids)


def test_report_is_self_contained(page):
    tags = Tags(page)
    assert not tags.named("link") and not tags.named("img") and not tags.named("iframe")
    assert all("src" not in a for a in tags.named("script"))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    csp = [a for a in tags.named("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_controls_are_apart_with_expected_verdict(synthetic_report, page):
    controls = page[page.index('id="controls"'):page.index('id="definitions"')]
    for name in ("shuffled-labels", "text-as-image", "synthetic-shift"):
        assert name in controls
    assert controls.count(">as expected<") == 3 and "UNEXPECTED" not in controls
    triples = page[page.index('id="triples"'):page.index('id="layers"')]
    assert "0.9" not in re.findall(r'data-sort="([^"]*)"', triples)  # the shuffled-labels ratio stays out


def test_unexpected_control_is_flagged(make_triple):
    bad = make_triple(ratio=50.0, control="shuffled-labels")  # a gap where none may be: the harness is broken
    html = render_html([bad])
    assert "UNEXPECTED" in html


def test_the_answer_comes_first_one_sentence_per_model(page):
    body = page[page.index("<body>"):]
    assert body.index('id="verdicts"') < body.index('id="triples"') < body.index('id="run"')
    answer = re.findall(r"<li>([^<]*)</li>", body[body.index('class="answer"'):body.index("</ul>")])
    assert answer == [
        "tiny-llava: the finding (kernel-mean tier, threshold 10, the verdict) holds at 3 of 3 layers on fixture; holds at 3 of 3 layers on mmbench-cn; controls as expected.",
        "tiny-qwen2.5-vl: the finding (kernel-mean tier, threshold 10, the verdict) holds at 3 of 3 layers on fixture; holds at 2 of 3 layers on mmbench-cn "
        "(absent at L3, as stored); no controls run.",
    ]


def test_matrix_never_shows_an_expected_outcome_as_a_failure(page):
    matrix = page[page.index('class="matrix"'):]
    matrix = matrix[:matrix.index("</table>")]
    assert matrix.count("v-holds") == 11 and "v-bad" not in matrix and "v-error" not in matrix
    assert 'class="cellv v-expected"><b>○</b>absent, as stored' in matrix
    assert "3 of 3 as expected" in matrix  # the controls that must find no gap and find none
    controls = page[page.index('id="controls"'):page.index('id="definitions"')]
    assert "v-bad" not in controls and ">failed<" not in controls


def test_an_absent_finding_without_a_stored_baseline_and_drift_are_failures(make_triple):
    absent = make_triple(ratio=2.0, extra={"baseline_drift": {"status": "new", "figures": {}}})
    drifted = make_triple(layer=1, extra={"baseline_drift": {"status": "drift", "figures": {}}})
    html = render_html([absent, drifted])
    assert '<b>○</b>absent</td>' in html and '<b>✗</b>holds, drift</td>' in html and html.count("cellv v-bad") == 2


def test_a_test_failed_on_its_baseline_never_reads_holds_and_drift_shows_what_moved(make_triple):
    created = make_triple(layer=0, extra={"baseline_drift": {"status": "created", "path": "/b/m.json", "figures": {}}})
    foreign = make_triple(layer=1, extra={"baseline_drift": {"status": "not-comparable", "path": "/b/m.json", "figures": {},
                                                             "note": "stored under other settings (seed 0 → 1)"}})
    moved = make_triple(layer=2, extra={"baseline_drift": {"status": "drift", "path": "/b/m.json", "figures": {
        "mmd2": {"old": 0.14, "new": 0.09, "tolerance": "5% + 1e-06", "ok": False},
        "n_image": {"old": 100, "new": 100, "tolerance": "0% + 0", "ok": True}}}})
    noted = make_triple(layer=3, extra={"baseline_drift": {"status": "other-config", "path": "/b/m.json", "figures": {},
                                                           "note": "stored under other settings (max_points 1500 → 500)"}})
    html = render_html([created, foreign, moved, noted])
    assert '<b>✗</b>holds, baseline created</td>' in html and '<b>✗</b>holds, baseline of other settings</td>' in html
    assert html.count("cellv v-bad") == 3 and "holds, drift" in html
    assert "drift: mmd2 0.14 → 0.09 (tolerance 5% + 1e-06)" in html and "n_image 100 → 100" not in html.split("drift: mmd2")[1][:80]
    assert "not-comparable: stored under other settings (seed 0 → 1)" in html
    assert "other-config: stored under other settings (max_points 1500 → 500)" in html


def test_capped_and_invalid_numbers_read_as_such(make_triple):
    r = make_triple(ratio=400.0, extra={
        "ratio_interval": {"low": 3.2, "high": 1000.0, "level": 0.95, "n_boot": 200},
        "js": {"classifier": {"bits": 0.9, "estimator": "clf"},
               "knn": {"bits": float("nan"), "estimator": "knn-k5", "reason": "too few unique keys"}}})
    html = render_html([r])
    assert "[3.2, ≥ 1000]" in html and "1e+03" not in html
    from harness.report.console import console_table
    down = make_triple(layer=1, ratio=2.0, extra={"ratio_interval": {"low": -1000.0, "high": 1000.0, "level": 0.9, "n_boot": 200}})
    assert "[≤ -1000, ≥ 1000]" in console_table([down]) and "e+03" not in console_table([down])
    assert "n/a: too few unique keys" in html


def test_label_warnings_are_visible(make_triple):
    r = make_triple(extra={"label_check": {"text": 2, "special": 9, "benchmark_text": 40,
                                           "problems": ["9 special tokens outnumber the 2 text tokens"]}})
    html = render_html([r])
    assert "label warning: tiny-llava · layer" in html and "9 special tokens outnumber the 2 text tokens" in html


def test_the_run_notes_are_in_the_report_and_linked_from_the_verdicts(make_triple):
    """What the console prints after its table (a model left out of the interventions, an output head drawn at
    random, fewer samples than asked) is in the report too, escaped, and the verdicts say how many there are."""
    notes = ["hf:/x: a block-diffusion model writes its answer on a canvas", f"hf:/y: {HOSTILE}"]
    html = render_html([make_triple()], run_info={"notes": notes})
    assert 'href="#run-notes">2 notes of the run</a>' in html and 'id="run-notes"' in html
    assert notes[0] in html and HOSTILE not in html
    assert "notes of the run" not in render_html([make_triple()], run_info={"notes": []})


def test_compact_table_fits_a_laptop_and_the_rest_is_behind_a_toggle(page):
    from harness.report.table import COMPACT

    triples = page[page.index('id="triples"'):page.index('id="layers"')]
    first = triples[triples.index('id="bench-0"'):]
    assert first[:first.index("</thead>")].count("<th ") == len(COMPACT) <= 9
    assert triples.index('id="bench-0"') < triples.index("<details>") < triples.index('id="bench-0-all"')


@pytest.mark.parametrize("field", ["model", "benchmark", "message", "space"])
def test_hostile_text_is_shown_as_text(make_triple, field):
    r = make_triple(**{"message": "", field: HOSTILE})
    r = replace(r, extra={**r.extra, "baseline_drift": {"status": "drift", "figures": {HOSTILE: HOSTILE}}})
    html = render_html([r], run_info={"device": HOSTILE, "options": {HOSTILE: HOSTILE}})
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert len(Tags(html).named("script")) == 1  # only the report's own sorting script


def test_hostile_tsne_labels_and_control_names_stay_out_of_markup(make_triple):
    r = make_triple(control=HOSTILE, tsne_n=20)
    r = replace(r, extra={**r.extra, "tsne": {**r.extra["tsne"], "labels": [HOSTILE] * 20, "method": HOSTILE}})
    html = render_html([r, make_triple(tsne_n=20)])
    assert "<script>alert" not in html and html.count("&lt;script&gt;") >= 1


def test_missing_figures_show_a_dash(make_triple):
    bare = make_triple(extra={})
    bare = replace(bare, extra={}, intra={"image/random": 0.001}, bandwidth=float("nan"))
    html = render_html([bare, replace(bare, layer=3, mmd2=float("nan"), ratio=float("nan"))])
    cells = re.findall(r'<td data-sort="([^"]*)"[^>]*>([^<]*)', html)
    missing = [text for sort, text in cells if sort == ""]
    assert missing and set(missing) == {"–"}
    assert "No t-SNE maps in these results." in html and "No controls in these results." in html


def test_malformed_extras_do_not_break_the_report(make_triple):
    r = make_triple()
    junk = {"js": {"knn": {"bits": "high"}}, "auc": "0.9", "ratio_interval": [1, 2], "tsne": {"points": [[1, 2]], "labels": []},
            "baseline_drift": "ok", "attention_share": None, "control": 3}
    html = render_html([replace(r, extra=junk)])
    assert "No t-SNE maps" in html and "Controls" in html


def test_tsne_is_thinned_to_the_cap_and_says_so(make_triple):
    html = render_html([make_triple(tsne_n=900)], tsne_cap=300)
    assert html.count("<circle") - 3 == 300  # three legend swatches
    assert "300 points drawn, run cap 900, thinned from 900 to the report cap 300" in html


def test_report_stays_light(tmp_path, synthetic_report):
    """2 models × 3 layers × 2 benchmarks with 600-point t-SNE maps stay well under 5 MB."""
    size = synthetic_report[1].stat().st_size
    assert 100_000 < size < 5_000_000, size


def test_same_results_give_the_same_file(synthetic_report, run_info, tmp_path):
    results, first = synthetic_report
    again = render_report(list(reversed(results)), tmp_path / "again.html", run_info=run_info)
    assert again.read_bytes() == first.read_bytes()


def test_error_triples_are_listed_not_plotted(make_triple):
    err = TripleResult(model="tiny-llava", layer=3, benchmark="fixture", status="error",
                       message="layer 3: only 2 image vectors captured; need at least 4 per modality")
    html = render_html([make_triple(layer=0), make_triple(layer=2), err])
    assert "only 2 image vectors captured" in html
    assert "tiny-llava: the finding (kernel-mean tier, threshold 10, the verdict) holds at 2 of 2 layers on fixture, L3 could not run; no controls run." in html and 'class="cellv v-error"><b>!</b>error' in html
    assert "layers 0, 2; space raw" in html  # the curve leaves the errored layer out


def test_a_control_that_errored_is_named_in_the_sentence_and_the_table(make_triple):
    real = make_triple(ratio=40.0)
    ok = make_triple(ratio=0.9, control="shuffled-labels")
    crashed = make_triple(control="text-as-image", status="error", message="the decoder was not called with inputs_embeds\nmore")
    from harness.report.verdicts import sentences

    (sentence,) = sentences([real, ok, crashed])
    assert "controls as expected" not in sentence
    assert sentence.endswith("controls NOT as expected: text-as-image control errored: the decoder was not called with inputs_embeds.")
    assert sentences([real, ok]) == [sentence.split("; controls")[0] + "; controls as expected."]
    html = render_html([real, ok, crashed])
    controls = html[html.index('id="controls"'):html.index('id="definitions"')]
    assert "errored: the decoder was not called with inputs_embeds" in controls


def test_the_verdict_sentence_names_the_threshold_it_was_decided_at(make_triple):
    """"holds" asserts a ratio ≥ the threshold: 1 and 10 are different claims, so the sentence says which."""
    from harness.report.verdicts import sentences

    assert "(kernel-mean tier, threshold 10, the verdict)" in sentences([make_triple(layer=0)])[0]
    mixed = [make_triple(layer=0), make_triple(layer=2, benchmark="mmbench-cn", threshold=1.0)]
    assert "(kernel-mean tier, thresholds 1 and 10, the verdict)" in sentences(mixed)[0]
