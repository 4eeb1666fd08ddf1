"""The report's figures as inline SVG strings: per-layer curves (matplotlib) and t-SNE maps (hand-built).

Colours are Okabe–Ito (safe for the common colour-vision deficiencies); every curve also differs
by marker and line style, so nothing depends on colour alone. No figure carries text from the
results (names, questions): titles and captions live in the HTML, where jinja2 escapes them.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Sequence

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .svg import inline_svg

# Okabe–Ito
TOKEN_COLOURS = {"image": "#E69F00", "text": "#0072B2", "special": "#999999", "other": "#CC79A7"}
VERMILLION, SKY, GREEN, PURPLE, BLUE, BLACK = "#D55E00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#000000"

_RC = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, drawn in the page's font
    "svg.hashsalt": "keyspace-report",  # deterministic ids, so the same results give the same file
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True)
class LayerPoint:
    """The figures of one layer of one (model, benchmark); None where the result lacks them."""

    layer: int
    mmd2: float | None  # cross-modal MMD²
    max_intra: float | None  # strongest intra-modal baseline MMD²
    ratio: float | None  # mmd2 / max_intra
    ratio_low: float | None = None  # the record's interval of the ratio (the kernel-mean tier's Fieller bounds)
    ratio_high: float | None = None
    js_classifier: float | None = None  # bits
    js_knn: float | None = None  # bits
    auc: float | None = None


def _series(points: Sequence[LayerPoint], attr: str, *, positive: bool = False) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for p in points:
        v = getattr(p, attr)
        if v is not None and math.isfinite(v) and (v > 0 or not positive):
            xs.append(p.layer)
            ys.append(v)
    return broken_at_gaps(xs, ys)


def broken_at_gaps(layers: Sequence[float], *columns: Sequence[float]) -> tuple[list[float], ...]:
    """`layers` (ascending) and the columns of values beside them, with a NaN row put between two
    neighbours that are not adjacent layers: matplotlib ends a line (and a filled band) at a NaN, so
    no curve is drawn across a layer that was not measured or has no value; each point keeps its marker.
    """
    out: tuple[list[float], ...] = ([],) + tuple([] for _ in columns)
    for i, layer in enumerate(layers):
        if i and layer - layers[i - 1] > 1:
            out[0].append((layer + layers[i - 1]) / 2)
            for col in out[1:]:
                col.append(math.nan)
        out[0].append(layer)
        for col, values in zip(out[1:], columns):
            col.append(values[i])
    return out


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})  # constrained layout already fits the labels
    return buf.getvalue()


def layer_curves_svg(points: Sequence[LayerPoint], threshold: float | None, tag: str) -> list[str]:
    """Each divergence figure against layer depth: two or three small inline SVG panels, one per
    figure, so a narrow screen stacks them at a readable size instead of shrinking one wide strip.

    First: cross-modal MMD² and the strongest intra-modal baseline. Second: their ratio on a log
    axis with the bootstrap interval (band) and the threshold (dotted). Third, when present: JS in
    bits (both estimators) and the probe AUC, on [0, 1]. Lines join adjacent layers only: across a
    layer not measured (or without the figure) a curve breaks and its points stand alone.
    """
    points = sorted(points, key=lambda p: p.layer)
    has_prob = any(p.js_classifier is not None or p.js_knn is not None or p.auc is not None for p in points)
    panels = [_mmd_panel, _ratio_panel] + ([_prob_panel] if has_prob else [])
    out = []
    with matplotlib.rc_context(_RC):
        for i, draw in enumerate(panels):
            fig = Figure(figsize=(3.7, 2.8), layout="constrained")
            ax = fig.subplots()
            label = draw(ax, points, threshold)
            ax.set_xlabel("layer")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, color="#eeeeee", lw=0.6)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7.5, frameon=False)
            out.append(inline_svg(_svg(fig), f"{tag}p{i}", label=label))
    return out


def _mmd_panel(ax, points: Sequence[LayerPoint], threshold: float | None) -> str:
    ax.plot(*_series(points, "mmd2"), "o-", color=VERMILLION, label="MMD² image vs text")
    ax.plot(*_series(points, "max_intra"), "s--", color=SKY, label="strongest intra-modal split")
    ax.axhline(0, color="#cccccc", lw=0.8, zorder=0)
    ax.set_title("MMD² (between-prompt, mixture kernel)", fontsize=9)
    return "MMD squared by layer"


def _ratio_panel(ax, points: Sequence[LayerPoint], threshold: float | None) -> str:
    band = [(p.layer, p.ratio_low, p.ratio_high) for p in points
            if p.ratio_low is not None and p.ratio_high is not None and p.ratio_low > 0 and p.ratio_high > 0]
    if band:
        xs, lows, highs = broken_at_gaps(*zip(*band))
        ax.fill_between(xs, lows, highs, color=GREEN, alpha=0.2, lw=0, label="interval (Fieller, per split)")
        near = {b[0] for b in band}
        lone = [b for b in band if b[0] - 1 not in near and b[0] + 1 not in near]  # a band of one layer has no width
        if lone:
            ax.vlines([b[0] for b in lone], [b[1] for b in lone], [b[2] for b in lone], color=GREEN, alpha=0.35, lw=4)
    ax.plot(*_series(points, "ratio", positive=True), "D-", color=GREEN, label="ratio")
    if threshold is not None and math.isfinite(threshold) and threshold > 0:
        ax.axhline(threshold, color=BLACK, ls=":", lw=1.2, label=f"threshold {threshold:g}")
    ax.set_yscale("log")
    ax.set_title("kernel-mean ratio to every real split (log)", fontsize=9)
    return "ratio by layer"


def _prob_panel(ax, points: Sequence[LayerPoint], threshold: float | None) -> str:
    ax.plot(*_series(points, "js_classifier"), "o-", color=PURPLE, label="JS classifier (bits)")
    ax.plot(*_series(points, "js_knn"), "^--", color=BLUE, label="JS kNN (bits)")
    ax.plot(*_series(points, "auc"), "s:", color=BLACK, label="held-out AUC (units)")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title("held-out AUC (JS: not valid under prompt clustering)", fontsize=9)
    return "held-out AUC by layer (each unit weighing 1), JS beside it (a lower bound, not valid on clustered prompts)"


def thin(n: int, cap: int) -> list[int]:
    """Indices of at most `cap` of `n` items, evenly spaced and in order (deterministic)."""
    if n <= cap:
        return list(range(n))
    return sorted({int(i * n / cap) for i in range(cap)})


def tsne_svg(points: Sequence[Sequence[float]], labels: Sequence[str], tag: str, what: str = "keys") -> str:
    """A t-SNE map: one dot per token, coloured by label, equal scale on both axes, legend below.

    Labels other than image/text/special are drawn as "other". Draw order special → text → image,
    so the rarest class (usually image tokens in text-heavy prompts) is not buried. `what`: the captured
    vectors, plural (its accessible label).
    """
    size, pad, legend_h = 320.0, 8.0, 26.0
    xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    scale = (size - 2 * pad) / span
    ox = pad + ((size - 2 * pad) - (max(xs) - min(xs)) * scale) / 2 - min(xs) * scale
    oy = pad + ((size - 2 * pad) - (max(ys) - min(ys)) * scale) / 2 + max(ys) * scale  # y grows upward
    groups: dict[str, list[str]] = {k: [] for k in ("special", "text", "image", "other")}
    for x, y, label in zip(xs, ys, labels):
        key = label if label in TOKEN_COLOURS else "other"
        groups[key].append(f'<circle cx="{ox + x * scale:.1f}" cy="{oy - y * scale:.1f}" r="2.3"/>')
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size:g} {size + legend_h:g}">',
        f'<rect x="0.5" y="0.5" width="{size - 1:g}" height="{size - 1:g}" fill="#fff" stroke="#ddd"/>',
    ]
    for key, dots in groups.items():
        if dots:
            parts.append(f'<g fill="{TOKEN_COLOURS[key]}" fill-opacity="0.75" stroke="#fff" stroke-width="0.3">{"".join(dots)}</g>')
    x = pad
    for key in ("image", "text", "special", "other"):
        if groups[key] or key != "other":
            parts.append(f'<circle cx="{x + 5:g}" cy="{size + 14:g}" r="5" fill="{TOKEN_COLOURS[key]}"/>'
                         f'<text x="{x + 14:g}" y="{size + 18:g}" font-size="12" fill="#333">{key} ({len(groups[key])})</text>')
            x += 92
    parts.append("</svg>")
    return inline_svg("".join(parts), tag, label=f"t-SNE map of image, text and special token {what}")
