"""Everything the template shows, computed here (templates compute nothing).

`report_view` turns typed results and run metadata into plain dicts and strings; figures come
from `plots` as SVG strings (the only markup not escaped by the template, and built without any
text taken from the results).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from markupsafe import Markup

from harness.results.captured import SYNTHETIC, kinds_of, noun, scope
from harness.results.records import TripleResult

from . import extras
from .behaviour import text_bias_rows
from .study import sentence as study_sentence, study_view
from .definitions import definitions
from .plots import LayerPoint, layer_curves_svg, thin, tsne_svg
from .tiers import tier_tables
from .table import control_table, fmt, triple_table
from .verdicts import matrix, sentences

TSNE_CAP = 600  # most points drawn per t-SNE map (keeps the report light)
RUN_LABELS = {  # run-metadata keys in display order, with their labels
    "harness": "harness", "torch": "torch", "transformers": "transformers", "python": "python",
    "device": "device", "dtype": "dtype", "seed": "seed", "git_commit": "git commit", "config_id": "config id",
    "finished": "run finished (UTC)",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _run_rows(info: dict, results: Sequence[TripleResult]) -> list[dict]:
    rows = [{"key": label, "value": str(info[k])} for k, label in RUN_LABELS.items() if k in info]
    rows += [{"key": k, "value": str(v)} for k, v in info.items()
             if k not in RUN_LABELS and k not in ("options", "samples") and not isinstance(v, (dict, list))]
    # Recorded in every result: shown so a reader can check the results match the metadata.
    rows.append({"key": "config ids in results", "value": ", ".join(sorted({r.config_id for r in results if r.config_id})) or "–"})
    return rows


def _samples(info: dict, results: Sequence[TripleResult]) -> list[dict]:
    recorded = info.get("samples") if isinstance(info.get("samples"), dict) else {}
    seen = defaultdict(set)
    for r in results:
        if r.samples_digest:
            seen[r.benchmark].add(r.samples_digest)
    rows = []
    for bench in sorted(set(recorded) | set(seen)):
        entry = recorded.get(bench) if isinstance(recorded.get(bench), dict) else {}
        rows.append({"benchmark": bench, "count": str(entry.get("count", "–")), "digest": str(entry.get("digest", "–")),
                     "in_results": ", ".join(sorted(seen.get(bench, ()))) or "–"})
    return rows


def _warnings(results: Sequence[TripleResult]) -> list[str]:
    """"label warning: MODEL · layer L · BENCH: ..." (and key warnings alike), one per problem found."""
    return [f"{kind} warning: {r.model} · layer {r.layer} · {r.benchmark}: {text}"
            for r in results for kind, text in extras.guard_warnings(r)]


def _layer_point(r: TripleResult) -> LayerPoint:
    ci = r.ratio_interval
    js = {w: r.js.get(w) for w in extras.JS_ESTIMATORS}
    return LayerPoint(
        layer=r.layer, mmd2=extras.finite(r.mmd2), max_intra=extras.max_intra(r), ratio=extras.finite(r.ratio),
        ratio_low=ci.low if ci else None, ratio_high=ci.high if ci else None,
        js_classifier=js["classifier"].bits if js["classifier"] else None,
        js_knn=js["knn"].bits if js["knn"] else None, auc=extras.headline_auc(r),
    )


def _curves(real: Sequence[TripleResult]) -> list[dict]:
    groups: dict[tuple[str, str], list[TripleResult]] = defaultdict(list)
    for r in real:
        if r.status != "error":
            groups[(r.model, r.benchmark)].append(r)
    out = []
    for i, ((model, bench), rs) in enumerate(sorted(groups.items())):
        thresholds = {r.threshold for r in rs if extras.finite(r.threshold) is not None}
        threshold = thresholds.pop() if len(thresholds) == 1 else None
        layers = ", ".join(str(r.layer) for r in sorted(rs, key=lambda r: r.layer))
        spaces = ", ".join(sorted({r.space for r in rs}))
        out.append({
            "model": model, "benchmark": bench,
            "panels": [Markup(svg) for svg in layer_curves_svg([_layer_point(r) for r in rs], threshold, f"c{i}")],
            "caption": f"layers {layers}; space {spaces}; threshold "
                       + (fmt(threshold, 3) if threshold is not None else "varies (not drawn)"),
        })
    return out


def _tsne_maps(real: Sequence[TripleResult], cap: int) -> list[dict]:
    out = []
    for i, r in enumerate(real):
        t = r.tsne
        if t is None:
            continue
        keep = thin(len(t.points), cap)
        stated = [f"{len(keep)} points drawn"]
        if t.cap is not None:
            stated.append(f"run cap {t.cap}")
        if len(keep) < len(t.points):
            stated.append(f"thinned from {len(t.points)} to the report cap {cap}")
        out.append({
            "title": f"{r.model} · layer {r.layer} · {r.benchmark}",
            "svg": Markup(tsne_svg([t.points[j] for j in keep], [t.labels[j] for j in keep], f"t{i}", noun([r]))),
            "caption": f"{t.method}, space {r.space}; " + ", ".join(stated),
        })
    return out


def report_view(results: Sequence[TripleResult], run_info: dict, *, meta_note: str = "", tsne_cap: int = TSNE_CAP) -> dict:
    """The dict the template renders. `meta_note` explains missing run metadata (e.g. no .meta.json)."""
    ordered = sorted(results, key=lambda r: (r.benchmark, r.model, r.layer))
    real = [r for r in ordered if extras.control(r) is None]
    controls = sorted((r for r in ordered if extras.control(r) is not None),
                      key=lambda r: (extras.control(r) or "", r.model, r.benchmark, r.layer))
    by_benchmark: dict[str, list[TripleResult]] = defaultdict(list)
    for r in real:
        by_benchmark[r.benchmark].append(r)
    options = run_info.get("options") if isinstance(run_info.get("options"), dict) else {}
    study = run_info.get("organisms_study") if isinstance(run_info.get("organisms_study"), dict) else None
    what, measured = noun(ordered), scope(ordered)
    return {
        "title": f"keyspace report: image vs text attention {what}" + (f" ({measured})" if measured else ""),
        "what": what,
        "summary": ", ".join(_count(n, what) for n, what in (
            (len(real), "triple"), (len(controls), "control"), (len({r.model for r in real} | {r.model for r in controls if r.model != SYNTHETIC}), "model"),
            (len(by_benchmark), "benchmark"))),
        "run": _run_rows(run_info, results),
        "notes": [str(n) for n in run_info.get("notes", ())] if isinstance(run_info.get("notes"), list) else [],
        "meta_note": meta_note if not run_info else "",
        "options": [{"key": str(k), "value": str(v)} for k, v in options.items()],
        "options_label": f"Options ({len(options)})",
        "samples": _samples(run_info, results),
        "answer": [*sentences(ordered), *filter(None, [study_sentence(study)])],
        "matrix": matrix(ordered),
        "tiers": tier_tables(real),
        "warnings": _warnings(ordered),
        "benchmarks": [{"name": b, "compact": {"id": f"bench-{i}", **triple_table(rs, compact=True)},
                        "full": {"id": f"bench-{i}-all", **triple_table(rs)}}
                       for i, (b, rs) in enumerate(sorted(by_benchmark.items()))],
        "text_bias": text_bias_rows(real),
        "study": study_view(study),
        "curves": _curves(real),
        "tsne": _tsne_maps(real, tsne_cap),
        "tsne_cap": tsne_cap,
        "controls": {"id": "controls-table", **control_table(controls)} if controls else None,
        "definitions": definitions(sorted({r.space for r in ordered}), kinds_of(ordered), measured),
    }
