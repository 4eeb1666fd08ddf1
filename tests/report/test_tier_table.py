"""The report's tiers × layers table and its sentence, from records carrying extra["tiers"]."""

from __future__ import annotations

import numpy as np

from harness.analysis.tiers import tiers_record
from harness.report.tiers import tier_tables
from harness.results.records import TripleResult
from harness.results.tiers import tier_claim
from harness.stats import population as P
from harness.stats.tiers import all_tiers


def _record(layer: int, shift: float, strata: bool = True) -> TripleResult:
    k = P.sample(P.population(d=8, layout="shared-offset", shift=shift), prompts=16, cap=160, seed=layer)
    t = all_tiers(*k.sides(strata), permutations=100, n_boot=30)
    return TripleResult(model="m", layer=layer, benchmark="b", status="passed", extra={"tiers": tiers_record(t)})


def test_one_table_per_model_with_every_tier_and_the_verdict_marked():
    rs = [_record(0, 8.0), _record(1, 0.0), _record(2, 8.0, strata=False)]
    (table,) = tier_tables(rs + [TripleResult(model="m", layer=0, benchmark="b", status="passed", extra={"control": "x"})])
    assert table["layers"] == ["L0", "L1", "L2"]
    assert [row["tier"] for row in table["rows"]] == ["paper form", "separability", "out of support", "kernel mean"]
    assert [row["asserted"] for row in table["rows"]] == [False, False, False, True]
    verdict_row = table["rows"][-1]["cells"]
    assert "no real sub-population" in verdict_row[2]["note"] and verdict_row[2]["mark"] == "?"
    assert table["sentence"].startswith("m on b: kernel mean (the verdict)")
    assert "undecided (no real sub-population) at L2" in table["sentence"]
    assert np.isfinite(rs[0].extra["tiers"]["separability"]["cross"])


def test_the_report_shows_the_tiers_after_the_verdicts_with_the_verdict_row_named(tmp_path):
    from harness.report import render_report

    path = render_report([_record(0, 8.0), _record(1, 8.0, strata=False)], tmp_path / "r.html", run_info={})
    page = path.read_text(encoding="utf-8")
    body = page[page.index("<body>"):]
    assert body.index('id="verdicts"') < body.index('id="tiers"') < body.index('id="triples"')
    tiers = body[body.index('id="tiers"'):body.index('id="triples"')]
    assert "kernel mean — the verdict" in tiers and 'class="asserted"' in tiers
    assert "a replication, never evidence" in tiers and "m on b: kernel mean (the verdict)" in tiers


def test_per_head_rows_show_every_held_out_tier_and_the_sentence_names_the_heads():
    from harness.stats.gap import Side
    from harness.stats.per_head import per_head, per_head_record

    a = P.sample(P.population(d=8, layout="shared-offset", shift=8.0), prompts=16, cap=160, seed=0)
    b = P.sample(P.population(d=8, layout="shared-offset", shift=0.0), prompts=16, cap=160, seed=0)
    (ia, ta), (ib, tb) = a.sides(), b.sides()
    image = Side(np.concatenate([ia.x, ib.x], axis=1), ia.units, ia.strata)  # head 0 shifted, head 1 not
    text = Side(np.concatenate([ta.x, tb.x], axis=1), ta.units, ta.strata)
    heads = per_head(image, text, 2, threshold=1.0, alpha=0.01, permutations=100, n_boot=30, level=0.9, seed=0)
    rec = _record(0, 8.0)
    rec.extra["tiers"]["per head"] = per_head_record(heads, 2, "keys", 8)
    (table,) = tier_tables([rec])
    rows = {row["tier"]: row["cells"][0] for row in table["rows"]}
    assert "per head: separability" in rows and "per head: out of support" in rows
    assert rows["per head: separability"]["text"].startswith("h0 AUC") and "; h1 AUC" in rows["per head: separability"]["text"]
    sep_at = rec.extra["tiers"]["per head"]["separable_at"]
    assert rows["per head: separability"]["mark"] == f"{len(sep_at)}/2" and 1 not in sep_at
    assert rows["per head: separability"]["note"] == f"the claim beyond every split is met at {len(sep_at)} of 2 heads of the keys"
    assert "per head (figures), the rule holds at" in table["sentence"] and "separable beyond every split at" in table["sentence"]


def test_the_verdict_sentence_counts_the_held_out_tiers_beside_the_asserted_one():
    from harness.report.verdicts import sentences

    shifted, null = _record(0, 8.0), _record(1, 0.0)
    met = {name: [tier_claim(name, r.extra["tiers"][name]) for r in (shifted, null)]
           for name in ("separability", "out of support")}
    assert met == {"separability": [True, False], "out of support": [True, False]}  # the known answers
    (line,) = sentences([shifted, null])
    assert line.startswith("m: the finding (kernel-mean tier, threshold not recorded, the verdict) holds at ")
    assert ("; beside it, separable beyond every real split at 1 of 2 layers, "
            "out of the text keys' support beyond every split at 1 of 2 layers; no controls run.") in line
    old = TripleResult(model="m", layer=0, benchmark="b", status="passed")  # a record written before the tiers
    assert "beside it" not in sentences([old])[0]


def test_the_paper_form_is_also_read_as_a_ratio_of_mmds():
    """The paper's 0.408 vs ~0.012 may be MMDs or MMD²s: the cell gives the ratio both ways (√ of the MMD² ratio
    and of its bounds), side by side, and – where a bound is negative."""
    from harness.report.tiers import _headline

    text, note = _headline("paper form", {"ratio": 16.0, "low": 4.0, "high": 36.0})
    assert text == "ratio 16" and note == "[4, 36]; of MMD (√): 4 [2, 6]"
    assert _headline("paper form", {"ratio": 0.0, "low": -2.0, "high": 9.0})[1].endswith("of MMD (√): 0 [–, 3]")


def test_the_headline_auc_weighs_units_as_the_tier_does():
    """The compact table's AUC is the separability tier's (each unit weighing 1), not the JS space's token-weighted
    probe AUC, which the full table keeps as its own column; a record without tiers shows the token one, marked."""
    from harness.report.table import triple_table

    rec = _record(0, 8.0)
    rec.extra["auc"] = 0.5  # the token-weighted figure, set apart from the tier's
    unit = rec.extra["tiers"]["separability"]["cross"]
    compact = triple_table([rec], compact=True)
    col = [c["key"] for c in compact["columns"]].index("auc")
    assert float(compact["rows"][0]["cells"][col]["sort"]) == unit != 0.5
    full = triple_table([rec])
    keys = [c["key"] for c in full["columns"]]
    assert float(full["rows"][0]["cells"][keys.index("auc-tokens")]["sort"]) == 0.5
    bare = TripleResult(model="m", layer=0, benchmark="b", status="passed", extra={"auc": 0.7})
    cell = triple_table([bare], compact=True)["rows"][0]["cells"][col]
    assert float(cell["sort"]) == 0.7 and cell["note"] == "tokens"


def test_the_ratio_tooltip_names_the_method_the_record_names():
    from harness.report.table import triple_table
    from harness.results.figures import RatioInterval

    rec = TripleResult(model="m", layer=0, benchmark="b", status="passed", ratio=2.0, extra={"ratio_interval": RatioInterval(
        low=1.5, high=3.0, level=0.9, method="kernel-mean tier: normal Fieller bounds per split").to_dict()})
    table = triple_table([rec], compact=True)
    cell = table["rows"][0]["cells"][[c["key"] for c in table["columns"]].index("ratio")]
    assert cell["title"].startswith("90% interval: kernel-mean tier: normal Fieller bounds per split;") and "bootstrap" not in cell["title"]


def test_the_logit_gap_column_says_the_sign_the_figure_has():
    """harness.stats.attention: logit gap = mean logit to image keys − mean logit to text keys."""
    from harness.report.table import triple_table

    table = triple_table([TripleResult(model="m", layer=0, benchmark="b", status="passed", extra={"logit_gap": -0.5})])
    title = next(c["title"] for c in table["columns"] if c["key"] == "logit-gap")
    assert "image keys minus the mean they give text keys" in title and "text-key minus image-key" not in title


def _sigma_record(layer: int, shift: float) -> TripleResult:
    from harness.stats.gap import cross_modal_gap
    from harness.stats.kernels import MIXTURE_SCALES
    k = P.sample(P.population(d=8, layout="shared-offset", shift=shift), prompts=16, cap=160, seed=layer)
    gap = cross_modal_gap(*k.sides(), permutations=100, n_boot=1, kernel_scales=MIXTURE_SCALES, scale_readings=True)
    t = all_tiers(*k.sides(), gap=gap, n_boot=30)
    return TripleResult(model="m", layer=layer, benchmark="b", status="passed", extra={"tiers": tiers_record(t)})


def test_single_sigma_readings_get_their_row_and_clause_never_the_verdict_mark():
    held, null = _sigma_record(0, 8.0), _sigma_record(1, 0.0)
    readings = held.extra["tiers"]["kernel mean"]["per σ"]
    assert [r["scale"] for r in readings] == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert all(r["outcome"] == "holds" for r in readings)
    assert not any(r["outcome"] == "holds" for r in null.extra["tiers"]["kernel mean"]["per σ"])
    (table,) = tier_tables([held, null])
    rows = {row["tier"]: row for row in table["rows"]}
    row = rows["kernel mean at one σ"]
    assert not row["asserted"] and rows["kernel mean"]["asserted"] and "never it" in row["question"]
    assert [c["mark"] for c in row["cells"]] == ["5/5", "0/5"] and row["cells"][0]["text"].startswith("×0.25 ● ")
    assert "at one σ alone (readings, not the verdict) the rule holds at L0 (×0.25, ×0.5, ×1, ×2, ×4)" in table["sentence"]
    (old,) = tier_tables([_record(0, 8.0)])  # records written without the readings: no row, no clause
    assert "kernel mean at one σ" not in [r["tier"] for r in old["rows"]] and "one σ alone" not in old["sentence"]


def test_the_by_benchmark_bounded_reading_gets_its_row_never_the_verdict_mark():
    """With a second benchmark the record keeps the tier with its by-benchmark splits bounded (a reading beside the
    verdict: amendments 3-4 were not adopted); the table shows it in its own row, each split's bounds with the cap
    said as such, and what the rule would read there."""
    from harness.report.tiers import BENCH_ROW, RATIO_CAP
    from harness.stats.bootstrap import CAP
    from harness.stats.by_benchmark import benchmark_splits
    from harness.stats.gap import cross_modal_gap
    from harness.stats.kernels import MIXTURE_SCALES

    assert RATIO_CAP == CAP
    pop = P.population(d=8, layout="shared-offset", shift=8.0)
    a, b = (P.sample(pop, prompts=16, cap=160, seed=s) for s in (0, 1))
    (image, text), (oi, ot) = a.sides(), b.sides()
    gap = cross_modal_gap(image, text, permutations=100, n_boot=1, kernel_scales=MIXTURE_SCALES)
    splits = benchmark_splits(gap.comparisons[0], image, text, oi, ot, widths=tuple(gap.sigma * c for c in MIXTURE_SCALES))
    t = all_tiers(image, text, permutations=100, n_boot=30, gap=gap, benchmarks=splits)
    record = TripleResult(model="m", layer=0, benchmark="b", status="passed", extra={"tiers": tiers_record(t)})
    (table,) = tier_tables([record, _record(1, 8.0)])
    rows = {row["tier"]: row for row in table["rows"]}
    bounded, without = rows[BENCH_ROW]["cells"]
    assert not rows[BENCH_ROW]["asserted"] and without["text"] == "–"
    assert "image/by-benchmark [" in bounded["note"] and "text/by-benchmark [" in bounded["note"]
    assert "1e+03" not in bounded["note"] and "the rule would read" in bounded["note"]
    assert bounded["mark"] == {"holds": "●", "absent": "○"}.get(t.by_benchmark.outcome, "?")
