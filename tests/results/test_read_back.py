"""A results file written by today's harness reads back into typed sub-records, each writing the JSON it was
read from, and the report renders from it; a damaged line reads as none ("–"), never as an error.

data/results-2026-12.jsonl: the offline default suite (three organisms on the fixture, their controls, the
synthetic control), its t-SNE maps cut to 24 points to keep the file small, and one line named
"organism-damaged" whose sub-records are missing or malformed. It was written before records carried their
schema: its lines read as the current schema and are written back with it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.report import console_table
from harness.report.extras import guard_warnings
from harness.report.html import render_html
from harness.results.figures import (Drift, JSEstimate, LabelCheck, Mechanism, RatioInterval, Sampling, TextBias,
                                     TSNEMap)
from harness.results.records import SCHEMA, TripleResult, parse_lines

DATA = Path(__file__).parent / "data" / "results-2026-12.jsonl"
DAMAGED = "organism-damaged"
RECORDS = {"ratio_interval": RatioInterval, "tsne": TSNEMap, "mechanism": Mechanism, "label_check": LabelCheck,
           "capture_sampling": Sampling, "text_bias": TextBias, "baseline_drift": Drift}  # extra key → its record


def _json(x) -> str:
    return json.dumps(x, ensure_ascii=False, allow_nan=True)  # as TripleResult.to_json writes it


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return DATA.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def results(lines) -> list[TripleResult]:
    read, problems = parse_lines(lines)
    assert problems == [] and len(read) == len(lines)
    return read


@pytest.fixture(scope="module")
def intact(results) -> list[TripleResult]:
    return [r for r in results if r.model != DAMAGED]


def test_every_line_is_written_back_as_it_was_read(lines):
    for line in lines:
        assert "schema" not in json.loads(line)
        assert TripleResult.from_dict(json.loads(line)).to_json() == line[:-1] + f', "schema": {SCHEMA}}}'


def test_every_sub_record_writes_the_json_it_was_read_from(intact):
    seen = set()
    for r in intact:
        for key, record in RECORDS.items():
            if key in r.extra:
                typed = record.from_dict(r.extra[key])
                assert typed is not None, (r.key, key)
                assert _json(typed.to_dict()) == _json(r.extra[key]), (r.key, key)
                seen.add(key)
        assert set(r.js) == set(r.extra["js"]) == {"classifier", "knn"}
        for name, estimate in r.js.items():
            assert estimate.name == name and _json(estimate.to_dict()) == _json(r.extra["js"][name])
        assert r.tiers is not None and _json(r.tiers.to_dict()) == _json(r.extra["tiers"])
    assert seen == set(RECORDS)  # the file exercises every record


def test_figures_read_as_typed_values(intact):
    first = next(r for r in intact if r.model == "organism-text-first" and r.layer == 0 and "control" not in r.extra)
    assert first.label_check == LabelCheck(text=4822, special=1368, benchmark_text=4822, problems=())
    assert first.sampling.balanced == {"per_modality": 1500, "prompts": 72, "per_prompt": 21} and first.sampling.seed == 0
    assert first.mechanism.n_sequences == 72 and first.mechanism.logit_gap == first.extra["logit_gap"]
    assert first.text_bias.n == 200 and 0 <= first.text_bias.follows_hint <= 1
    assert first.baseline_drift.status == "ok" and not first.baseline_drift.fails
    knn = first.js["knn"]
    assert knn.bits != knn.bits and knn.reason.startswith("n/a: too few unique keys")  # NaN, with its reason
    ci = first.ratio_interval
    assert ci.low <= first.ratio <= ci.high and ci.level == 0.9 and ci.n_boot == 200 and ci.cap == 1000.0
    assert len(first.tsne.points) == len(first.tsne.labels) == 24 and first.tsne.method == "openTSNE"


def test_a_damaged_line_reads_as_none(results):
    (r,) = [r for r in results if r.model == DAMAGED]
    assert r.js == {} and r.tiers is None and guard_warnings(r) == []
    for name in ("ratio_interval", "tsne", "mechanism", "label_check", "sampling", "text_bias", "baseline_drift"):
        assert getattr(r, name) is None, name


@pytest.mark.parametrize("record", [JSEstimate, *RECORDS.values()], ids=lambda c: c.__name__)
@pytest.mark.parametrize("value", [None, "x", 3, [1, 2], {"low": "1"}], ids=repr)
def test_a_reader_never_raises(record, value):
    assert record.from_dict(value) is None or isinstance(record.from_dict(value), record)


def test_the_report_renders_from_it(results):
    html = render_html(results)
    assert DAMAGED in html and "organism-text-first" in html
    row = html[html.index(f'<td data-sort="{DAMAGED}"'):]
    row = row[:row.index("</tr>")]
    assert row.count(">–<") >= 2 and "<small>[" not in row  # JS and drift show as missing, the ratio without interval
    assert f"<h3>{DAMAGED} · fixture</h3>\n<p>" not in html  # no tier table without its tiers
    assert len(re.findall(r"<svg", html)) > 0
    table = console_table(results)
    assert DAMAGED in table
