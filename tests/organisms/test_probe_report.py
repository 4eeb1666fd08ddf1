"""The text-bias probe in the report: its own section, one row per model, tolerant of malformed figures."""

from harness.report.behaviour import text_bias_rows
from harness.report.html import render_html
from harness.results.records import TripleResult

PROBE = {"n": 100, "accuracy": 0.91, "hinted_accuracy": 0.42, "follows_hint": 0.55, "chance": 0.167}


def _triple(model, layer, probe):
    return TripleResult(model=model, layer=layer, benchmark="fixture", status="passed", extra={"text_bias": probe} if probe else {})


def test_one_row_per_model_and_malformed_figures_are_none():
    rows = text_bias_rows([_triple("b", 0, PROBE), _triple("b", 2, PROBE), _triple("a", 0, {"n": "x", "accuracy": "bad"}),
                           _triple("c", 0, None)])
    assert [r["model"] for r in rows] == ["a", "b"]
    assert rows[0]["n"] is None and rows[0]["accuracy"] is None
    assert rows[1]["follows_hint"] == 0.55


def test_the_report_shows_the_probe_only_when_present():
    html = render_html([_triple("organism-joint", 0, PROBE)])
    assert 'id="text-bias"' in html and "0.550" in html and "organism-joint" in html
    assert 'id="text-bias"' not in render_html([_triple("tiny-llava", 0, None)])


def test_the_probe_section_shows_the_cue_alone_and_describes_the_cue_as_asked():
    """The cue is the scene's caption with another colour (world.hinted), and the cue-alone reading is shown:
    the text pathway's own figure, beside following the cue."""
    from harness.organisms import data, world

    html = render_html([_triple("organism-joint", 0, {**PROBE, "text_reading": 0.83})])
    assert "reads the cue (no image)" in html and "0.830" in html
    w = data.make_world(20261130, n_images=20, n_text=10, n_eval=5, n_probe=10)
    scene = next(s for s in w.probe_scenes if s["kind"] == "shape" and s["shape"] == "square" and s["colour"] == "orange")
    qa = next(q for q in world.questions(scene, "en") if q.kind == "colour")
    assert f'"{world.hinted(scene, qa, "red")}" over an orange square' in html
