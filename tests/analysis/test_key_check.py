"""The key guard: a side whose keys are the same in every unit is named in the record, the message, the report and
the console lines; keys that vary, however little, are not flagged."""

from __future__ import annotations

import html
from dataclasses import replace

import numpy as np

from harness.analysis.key_check import key_warnings
from harness.analysis.triple import AnalysisSettings, analyze_layer
from harness.models.labels import IMAGE
from harness.run.controls import synthetic_bank, synthetic_strata
from harness.stats.gap import Side

SETTINGS = AnalysisSettings(threshold=1.0, alpha=0.01, permutations=200, n_boot=50, tsne_cap=0)


def _side(x, units):
    return Side(np.asarray(x, dtype=np.float32), np.asarray(units))


def test_known_answers():
    rng = np.random.default_rng(0)
    units = np.repeat(np.arange(6), 5)
    varying = rng.standard_normal((30, 4))
    same = np.tile(rng.standard_normal(4), (30, 1))
    positional = np.tile(rng.standard_normal((5, 4)), (6, 1))  # varies within a unit, the same in every unit
    nudged = same.copy()
    nudged[units == 3] += 1e-3  # one unit differs by a thousandth: a real difference
    assert key_warnings(_side(varying, units), _side(varying, units)) == []
    (line,) = key_warnings(_side(same, units), _side(varying, units))
    assert line.startswith("the image keys are the same in all 6 units: the model's image features do not depend on its images")
    assert len(key_warnings(_side(positional, units), _side(same, units))) == 2
    assert key_warnings(_side(nudged, units), _side(varying, units)) == []
    assert key_warnings(_side(same[:5], units[:5]), _side(varying, units)) == []  # one unit: nothing to compare


def test_an_analysis_of_constant_image_keys_carries_the_warning_and_keeps_its_verdict():
    bank = synthetic_bank(seed=0, shift=1.0)
    layer = bank.layers[0]
    vectors = layer.vectors.clone()
    vectors[layer.modality == IMAGE] = vectors[layer.modality == IMAGE][0]  # a zero projection: one image key for all
    flat = replace(bank, layers={0: replace(layer, vectors=vectors)})
    r = analyze_layer(flat, 0, SETTINGS, strata=synthetic_strata(bank))
    (warning,) = r.extra["key_warnings"]
    assert warning.startswith("the image keys are the same in all ") and f"key warning: {warning}" in r.message
    plain = analyze_layer(bank, 0, SETTINGS, strata=synthetic_strata(bank))
    assert "key_warnings" not in plain.extra and "key warning" not in plain.message

    from harness.report import render_html
    from harness.report.extras import guard_warnings

    assert guard_warnings(r) == [("key", warning)]
    page = html.unescape(render_html([r]))
    assert f"key warning: synthetic · layer 0 · {r.benchmark}: {warning}" in page
