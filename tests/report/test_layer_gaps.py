"""Per-layer plots draw no line across a layer that was not measured: a curve breaks at the gap."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from harness.intervention.results import InterventionResult
from harness.report.interventions import _figure
from harness.report.plots import LayerPoint, _mmd_panel, _prob_panel, _ratio_panel, broken_at_gaps


def _runs(xs, ys) -> list[list[float]]:
    """The x values of each unbroken stretch of a line (NaN ends a stretch, as matplotlib draws it)."""
    runs, cur = [], []
    for x, y in zip(xs, ys):
        if math.isnan(y):
            runs, cur = runs + [cur] if cur else runs, []
        else:
            cur.append(round(float(x)))
    return runs + [cur] if cur else runs


def test_broken_at_gaps_puts_nan_between_non_adjacent_layers():
    xs, ys, zs = broken_at_gaps([0, 2, 3, 7], [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0])
    assert xs == [0, 1.0, 2, 3, 5.0, 7]
    assert _runs(xs, ys) == [[0], [2, 3], [7]] and _runs(xs, zs) == [[0], [2, 3], [7]]
    assert broken_at_gaps([4, 5, 6], [1, 2, 3]) == ([4, 5, 6], [1, 2, 3])  # nothing missing, nothing broken


def _point(layer, ratio=2.0):
    low, high = (ratio / 2, ratio * 2) if ratio else (None, None)
    return LayerPoint(layer=layer, mmd2=0.1 * (layer + 1), max_intra=0.01, ratio=ratio, ratio_low=low,
                      ratio_high=high, js_classifier=0.2, js_knn=0.3, auc=0.9)


def test_report_curves_break_at_unmeasured_layers_and_at_missing_values():
    points = [_point(0), _point(2), _point(3, ratio=None), _point(4), _point(5)]  # layer 1 not measured; 3 has no ratio
    for panel in (_mmd_panel, _ratio_panel, _prob_panel):
        ax = Figure().subplots()
        panel(ax, points, 1.0)
        for line in ax.lines:
            if not line.get_label().startswith(("_", "threshold")):  # the curves, not the reference lines
                runs = _runs(line.get_xdata(), line.get_ydata())
                assert [0] in runs and not any(0 in r and 2 in r for r in runs), (panel.__name__, runs)
    ax = Figure().subplots()
    _ratio_panel(ax, points, 1.0)
    ratio = next(line for line in ax.lines if line.get_label() == "ratio")
    assert _runs(ratio.get_xdata(), ratio.get_ydata()) == [[0], [2], [4, 5]]
    band, bars = ax.collections  # the interval: a band where layers are adjacent, a bar where a layer stands alone
    assert [round(p.vertices[:, 0].min()) for p in band.get_paths() if p.vertices[:, 0].max() > p.vertices[:, 0].min()] == [4]
    assert sorted(round(s[0][0]) for s in bars.get_segments()) == [0, 2]


def _iv(layer: int, name: str) -> InterventionResult:
    div = {"before": {"ratio": 10.0, "low": 5.0, "high": 20.0}, "after": {"ratio": 1.0, "low": 0.5, "high": 2.0}}
    effect = {"before": 0.5, "before_low": 0.4, "before_high": 0.6, "after": 0.3, "after_low": 0.2, "after_high": 0.4}
    return InterventionResult(model="m", layer=layer, benchmark="fixture", intervention=name, divergence=div,
                              effects={"attention_share": effect})


def test_intervention_curves_break_at_unmeasured_layers():
    fig = _figure([_iv(layer, name) for layer in (0, 2, 3) for name in ("mean", "moments")])
    drawn = 0
    for ax in fig.axes:
        for container in ax.containers:
            line = container.lines[0]
            runs = _runs(line.get_xdata(), line.get_ydata())
            assert runs == [[0], [2, 3]], (ax.get_title(), container.get_label(), runs)
            drawn += 1
    assert drawn >= 6  # before, mean and moments on the ratio and the attention-share panels
