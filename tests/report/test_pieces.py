"""The report's parts on their own: the typed sub-records as the report reads them, display helpers, number
formatting, SVG inlining, console table."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from harness.report import console_table
from harness.report import extras
from harness.report.plots import thin, tsne_svg
from harness.report.svg import inline_svg
from harness.report.table import _sort_key, fmt


def test_every_named_figure_reads_back(make_triple):
    r = make_triple(ratio=40.0)
    assert r.js["classifier"].estimator == "classifier-logloss" and 0 < r.js["knn"].bits <= 1
    ci = r.ratio_interval
    assert ci.low < r.ratio < ci.high and ci.level == 0.95 and ci.n_boot == 200
    assert r.baseline_drift.status == "ok"
    assert len(r.tsne.points) == 600 and r.tsne.cap == 600
    assert extras.control(r) is None and extras.control(make_triple(control="text-as-image")) == "text-as-image"
    assert extras.max_intra(r) == max(r.intra.values())


@pytest.mark.parametrize("extra", [
    {}, {"js": "x"}, {"js": {"knn": {"bits": True}}}, {"ratio_interval": {"low": 1}}, {"tsne": {"points": [[1]], "labels": ["image"]}},
    {"tsne": {"points": [[1, "a"]], "labels": ["image"]}}, {"tsne": {"points": [[1, 2]], "labels": []}},
    {"baseline_drift": {"figures": {}}}, {"auc": "0.9"}, {"control": ""},
], ids=lambda e: str(e)[:30])
def test_missing_and_malformed_figures_read_as_none(make_triple, extra):
    r = replace(make_triple(), extra=extra)
    for read in (lambda: r.js.get("knn"), lambda: r.ratio_interval, lambda: r.tsne,
                 lambda: r.baseline_drift, lambda: extras.auc(r), lambda: extras.control(r)):
        assert read() is None


@pytest.mark.parametrize("status, passed, expected", [("passed", True, True), ("failed", False, False), ("error", False, None)])
def test_criterion_is_the_analysis_verdict(make_triple, status, passed, expected):
    # A large ratio with a failing verdict stays failing: the report never recomputes the decision.
    assert extras.criterion_met(replace(make_triple(), ratio=1e3, status=status, passed=passed)) is expected


def test_intra_names_in_canonical_order(make_triple):
    r = replace(make_triple(), intra={"zeta/new": 1.0, "text/by-sample": 1.0, "image/random": 1.0})
    assert extras.intra_names([r]) == ["image/random", "text/by-sample", "zeta/new"]


def test_fmt_and_sort_keys():
    assert fmt(None) == fmt(float("nan")) == "–"
    assert fmt(3) == "3" and fmt(0.000999000999, 3) == "0.000999" and fmt(123456.0) == "1.235e+05"
    assert _sort_key(float("nan")) == "" and _sort_key(None) == ""
    assert float(_sort_key(0.1 + 0.2)) == 0.1 + 0.2  # full precision, so sorting never ties wrongly
    assert _sort_key(math.inf) == "Infinity"


def test_svg_ids_are_prefixed_and_references_follow():
    raw = ('<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg width="10pt" height="5pt" viewBox="0 0 10 5">'
           '<metadata>m</metadata><defs><clipPath id="p1"><rect/></clipPath><path id="m2"/></defs>'
           '<g clip-path="url(#p1)"><use xlink:href="#m2"/></g><rect fill="#ffffff"/></svg>')
    out = inline_svg(raw, "f3", label="figure")
    assert out.startswith('<svg role="img" aria-label="figure" style="max-width: 10pt"')
    assert " width=" not in out and " height=" not in out
    assert 'id="f3-p1"' in out and "url(#f3-p1)" in out and 'xlink:href="#f3-m2"' in out
    assert 'fill="#ffffff"' in out and "<metadata>" not in out and "<?xml" not in out


def test_thin_is_deterministic_and_capped():
    assert thin(5, 10) == [0, 1, 2, 3, 4]
    picked = thin(1000, 300)
    assert len(picked) == 300 and picked == sorted(set(picked)) and picked[0] == 0 and picked[-1] < 1000


def test_tsne_map_colours_and_legend():
    svg = tsne_svg([[0, 0], [1, 1], [2, 0], [5, 5]], ["image", "text", "special", "weird"], "t0")
    for colour in ("#E69F00", "#0072B2", "#999999", "#CC79A7"):
        assert f'fill="{colour}"' in svg
    assert "image (1)" in svg and "other (1)" in svg and "weird" not in svg


def test_console_table_shows_interval_and_controls(make_triple):
    text = console_table([make_triple(ratio=30.0), make_triple(layer=3, ratio=1.0, control="shuffled-labels")])
    lines = text.splitlines()
    assert "ratio [CI]" in lines[0] and "control" in lines[0]
    assert "30 [24.6, 36.3]" in lines[2] and "shuffled-labels" in lines[3]  # controls last


def test_console_table_without_extras_stays_plain(make_triple):
    text = console_table([replace(make_triple(), extra={})])
    assert "control" not in text.splitlines()[0] and "[" not in text.splitlines()[2]
