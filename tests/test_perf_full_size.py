"""suites/perf/full_size.py at a tiny size on the CPU: the verdict's own test runs through the script and
its figures are those of `analyze_layer`'s statistic (the full-size run needs a GPU; its capture part, real
widths even when cut in depth, is left to `--cpu-reduced` by hand)."""

from __future__ import annotations

import json

import pytest
import torch

from harness.analysis.verdict import decide_gap
from harness.perf.measure import verdict_keys
from harness.stats import cross_modal_gap
from harness.stats.kernels import MIXTURE_SCALES
from suites.perf import full_size

TINY = ["--cpu-reduced", "--models", "", "--verdict-keys", "120,180", "--verdict-dim", "8", "--prompts", "6",
        "--permutations", "20", "--n-boot", "10"]


def test_tiny_run_times_the_verdicts_test(tmp_path, capsys):
    out = tmp_path / "fs.json"
    assert full_size.main([*TINY, "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert [v["keys_per_side"] for v in figures["verdicts"]] == [120, 180]  # every size asked for, in order
    v = figures["verdicts"][0]
    assert figures["capture"] == figures["study"] == [] and "REDUCED" in figures["label"]
    assert (v["keys_per_side"], v["dim"], v["prompts"], v["permutations"], v["n_boot"]) == (120, 8, 6, 20, 10)
    assert v["kernel_scales"] == list(MIXTURE_SCALES) and v["seconds"] == v["gap_s"] + v["tier_s"] > 0
    assert "verdict's test (between-prompt mixture-kernel gap, 20 sign flips" in capsys.readouterr().out

    # the figures are the verdict's own: the same keys through the analysis' calls give the same numbers
    data = verdict_keys(keys=120, dim=8, prompts=6)
    gap = cross_modal_gap(data["image"], data["text"], permutations=20, n_boot=1, level=0.90, seed=0, kernel_scales=MIXTURE_SCALES)
    verdict, kernel = decide_gap(gap, threshold=1.0, alpha=0.01, n_boot=10, level=0.90, seed=0)
    assert (v["mmd2"], v["p_value"], v["ratio_low"], v["verdict"]) == (gap.mmd2, gap.p_value, kernel.low, verdict.outcome)


def test_bad_sizes_are_one_line_errors(capsys):
    for bad in ("", "20000,x", "0"):
        with pytest.raises(SystemExit):
            full_size.parse_args(["--verdict-keys", bad])
        assert "positive whole numbers separated by commas" in capsys.readouterr().err


def test_the_study_runs_through_the_script(tmp_path, monkeypatch, capsys):
    """The full-size run's intervention study, wired as on the GPU but on the tiny LLaVA twin and 8 fixture
    prompts: its figures are harness.perf.study's for the same model and prompts, the JSON holds each step
    as it finishes (a run cut during the study keeps the capture and verdict figures), and the report renders them."""
    from harness.benchmarks import get_benchmark
    from harness.perf import measure
    from harness.perf.study import study_cost
    from harness.perf.workloads import loaded_model
    from suites.perf import report

    tiny = loaded_model("tiny-llava")
    samples = tuple(get_benchmark("fixture")((), seed=0)[:8])
    monkeypatch.setattr(measure, "full_size_loaded", lambda name, **kw: tiny)
    monkeypatch.setattr(measure, "realistic_samples", lambda name, count: samples[:count])
    written = []
    monkeypatch.setattr(full_size, "write_atomic", lambda path, data: written.append(json.loads(data)))
    args = ["--cpu-reduced", "--models", "llava-1.5-7b", "--study-prompts", "8", "--study-rounds", "0", "--verdict-keys", "60", "--verdict-dim", "4",
            "--prompts", "6", "--permutations", "10", "--n-boot", "5", "--json", str(tmp_path / "fs.json")]
    assert full_size.main(args) == 0
    # after the capture, after the verdict, after the study, at the end
    assert [(len(w["capture"]), len(w["verdicts"]), len(w["study"])) for w in written] == [(1, 0, 0), (1, 1, 0), (1, 1, 1), (1, 1, 1)]
    s = written[-1]["study"][0]
    direct = study_cost(tiny, samples, "fixture", rounds=1)  # counted the same whether the counted runs are timed or not
    counts = ("layer", "interventions", "prompts", "batch", "passes", "calls", "plain_calls", "encoded")
    assert {k: s[k] for k in counts} == {k: direct[k] for k in counts}
    assert (s["rounds"], direct["rounds"]) == (0, 1) and s["timed"] != direct["timed"]
    assert s["layer"] == tiny.num_layers // 2 and s["prompts"] == 8 and s["passes"] > 1 and s["study_s"] > 0
    assert "intervention study of layer 2" in capsys.readouterr().out

    record = {"date": "d", "machine": "m", "software": "s", "how": "h", "command": "c", "figures": written[-1]}
    for c in record["figures"]["capture"] + record["figures"]["verdicts"] + record["figures"]["study"]:
        c["peak_memory_gib"] = 1.0  # a GPU's figure; None on the CPU
    record["figures"]["capture"][0].update(mfu=0.1, peak_used="a peak")
    text = "\n".join(report.gpu_part(record))
    assert f"| llava-1.5-7b | 2 | 8 | {s['passes']:.2f} | {s['calls']} ({s['plain_calls']}) |" in text
    assert "2 × 60 keys of dim 4" in text


def test_keys_have_the_shape_of_a_triple():
    data = verdict_keys(keys=60, dim=4, prompts=6)
    image, text = data["image"], data["text"]
    assert image.x.shape == text.x.shape == (60, 4) and image.x.dtype == torch.float32
    assert len(set(image.units)) == 6 and list(image.units) == list(text.units)
    assert set(image.strata["category"]) == {"c0", "c1"}


def test_the_committed_gpu_figures_are_what_perf_md_shows(monkeypatch, tmp_path):
    """PERFORMANCE.md's full-size section is made from suites/perf/measured/full_size_gpu.json when a GPU session
    committed one (each model's row and the verdict's seconds from its figures), and says nothing was measured
    where there is none, so regenerating the file never drops a GPU session's figures."""
    from pathlib import Path

    from suites.perf import report

    record = json.loads(report.GPU_MEASURED.read_text(encoding="utf-8"))
    text = "\n".join(report.gpu_part(record))
    for c in record["figures"]["capture"]:
        assert f"| {c['model']} |" in text and f"{c['tokens_per_s']:,.0f}" in text and f"{c['peak_memory_gib']:.1f} GiB" in text
    assert f"**{record['figures']['verdict']['seconds']:.2f} s**" in text
    performance = (Path(report.__file__).parents[2] / "PERFORMANCE.md").read_text(encoding="utf-8")
    assert text.split("\n\n", 1)[1].split("\n\nRandom")[0] in performance  # the table as committed
    monkeypatch.setattr(full_size, "run", lambda args: {"capture": [], "verdicts": [record["figures"]["verdict"]]})
    assert "| llava-1.5-7b |" in report.full_size_section()
    monkeypatch.setattr(report, "GPU_MEASURED", tmp_path / "none.json")
    assert "are not recorded" in report.full_size_section()


def test_record_carries_the_figures_with_date_machine_and_software(tmp_path):
    """--record: the form suites/perf/measured/full_size_gpu.json keeps (what gpu_session.sh asks for)."""
    out, rec = tmp_path / "fs.json", tmp_path / "record.json"
    assert full_size.main([*TINY, "--json", str(out), "--record", str(rec)]) == 0
    record = json.loads(rec.read_text())
    assert record["figures"] == json.loads(out.read_text())
    assert {"date", "machine", "software", "how", "command"} <= set(record) and "torch " in record["software"]
