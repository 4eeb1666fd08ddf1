"""Stored baselines: created when missing, compared within tolerance, drift shows old and new."""

import json
from dataclasses import replace

from harness.results.baselines import check_baseline
from harness.results.records import TripleResult

RESULT = TripleResult(
    model="hf:org/model", layer=3, benchmark="fixture", status="passed", n_image=100, n_text=120,
    mmd2=0.1, p_value=0.001, ratio=50.0, config_id="abc",
)


def test_created_then_ok(tmp_path):
    first = check_baseline(RESULT, tmp_path)
    assert first.status == "created" and first.fails and "baseline created" in first.message()
    stored = json.loads((tmp_path / "hf_org_model.json").read_text())
    assert stored["triples"]["L3-fixture"]["figures"]["mmd2"]["value"] == 0.1
    again = check_baseline(replace(RESULT, mmd2=0.102), tmp_path)  # within 5 %
    assert again.status == "ok" and not again.fails


def test_drift_beyond_tolerance_shows_old_and_new(tmp_path):
    check_baseline(RESULT, tmp_path)
    drift = check_baseline(replace(RESULT, mmd2=0.2, n_text=121), tmp_path)
    assert drift.status == "drift" and drift.fails
    msg = drift.message()
    assert "mmd2 0.1 → 0.2" in msg and "n_text 120 → 121" in msg and "ratio" not in msg


def test_update_rewrites(tmp_path):
    check_baseline(RESULT, tmp_path)
    assert check_baseline(replace(RESULT, mmd2=0.2), tmp_path, update=True).status == "updated"
    assert check_baseline(replace(RESULT, mmd2=0.2), tmp_path).status == "ok"


def test_other_settings_are_never_compared_and_say_which_differ(tmp_path):
    """A regression run against entries of other settings compares nothing: in a named store that fails (a green
    run that checked nothing would be a test that cannot fail); in the default store it is a note. Both name the
    settings that differ."""
    from harness.results.baselines import BaselineStore

    check_baseline(RESULT, tmp_path, settings={"seed": "0", "max_points": "1500", "dtype": "auto"})
    other = check_baseline(replace(RESULT, mmd2=9.0, config_id="zzz"), tmp_path,
                           settings={"seed": "1", "max_points": "1500", "dtype": "auto"})
    assert other.status == "not-comparable" and other.fails and "seed 0 → 1" in other.message()
    assert "max_points" not in other.message() and "rerun with its settings" in other.message()
    auto = check_baseline(replace(RESULT, config_id="zzz"), BaselineStore(own=tmp_path / "own", stored=tmp_path, strict=False),
                          settings={"seed": "0", "max_points": "500", "dtype": "auto"})
    assert auto.status == "other-config" and not auto.fails and "max_points 1500 → 500" in auto.message()
    legacy = tmp_path / "legacy"
    check_baseline(RESULT, legacy)  # an entry written without settings (before they were stored) says so
    assert "not recorded" in check_baseline(replace(RESULT, config_id="zzz"), legacy).message()


def _tiers(verdict: str, low: float) -> dict:
    return {"ratio_interval": {"low": low, "high": 9.0},
            "tiers": {"asserted": "kernel mean", "verdict": verdict, "kernel mean": {"low": low},
                      "separability": {"cross": 0.97}, "out of support": {"excess": 0.4}}}


def test_the_verdicts_outcome_and_bound_are_stored_and_compared():
    """'undecided' stored, 'absent' now (both not passed, with MMD², ratio and p within tolerance) is drift; so is a
    lower bound that moved, though the outcome did not."""
    import tempfile
    from pathlib import Path

    undecided = replace(RESULT, status="undecided", extra=_tiers("undecided: intra-modal effects not bounded at this number "
                                                                 "of prompts", 0.8))
    with tempfile.TemporaryDirectory() as d:
        check_baseline(undecided, Path(d))
        stored = json.loads((Path(d) / "hf_org_model.json").read_text())["triples"]["L3-fixture"]["figures"]
        assert stored["outcome"]["value"].startswith("undecided") and stored["ratio_low"]["value"] == 0.8
        assert stored["separability_auc"]["value"] == 0.97 and stored["out_of_support_excess"]["value"] == 0.4
        absent = check_baseline(replace(undecided, status="failed", extra=_tiers("absent", 0.8)), Path(d))
        assert absent.status == "drift" and "outcome undecided: intra-modal" in absent.message() and "→ absent" in absent.message()
        lower = check_baseline(replace(undecided, extra=_tiers(undecided.extra["tiers"]["verdict"], 0.5)), Path(d))
        assert lower.status == "drift" and "ratio_low 0.8 → 0.5" in lower.message()


def test_a_damaged_or_foreign_baseline_file_is_one_line_naming_it(tmp_path):
    import pytest
    from harness.errors import KeyspaceError

    path = tmp_path / "hf_org_model.json"
    for content, want in (("{trunc", "not readable JSON"), ("[1, 2]", "not a baseline file"),
                          ('{"model": "hf:org/model", "triples": {"L3-fixture": {"figures": {}}}}', "entry L3-fixture is damaged"),
                          ('{"model": "hf:org/other", "triples": {}}', "holds baselines of 'hf:org/other'")):
        path.write_text(content)
        with pytest.raises(KeyspaceError, match=want) as err:
            check_baseline(RESULT, tmp_path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_an_update_says_what_it_rewrote(tmp_path):
    check_baseline(RESULT, tmp_path)
    rewritten = check_baseline(replace(RESULT, mmd2=0.2), tmp_path, update=True)
    assert rewritten.status == "updated" and not rewritten.fails and "mmd2 0.1 → 0.2" in rewritten.message()
    assert "no figure outside" in check_baseline(replace(RESULT, mmd2=0.2), tmp_path, update=True).message()


def test_auto_store_creates_beside_the_results_with_a_note_and_reads_the_committed_one_first(tmp_path):
    from harness.results.baselines import BaselineStore

    committed, own = tmp_path / "committed", tmp_path / "out" / "r.jsonl.baselines"
    store = BaselineStore(own=own, stored=committed, strict=False)
    first = check_baseline(RESULT, store)
    assert first.status == "new" and not first.fails and "a note, not a failure" in first.message()
    assert (own / "hf_org_model.json").is_file() and not committed.exists()
    assert check_baseline(replace(RESULT, mmd2=0.2), store).status == "drift"  # the next run compares
    check_baseline(replace(RESULT, mmd2=0.5), committed)  # a committed entry wins over the run's own
    assert check_baseline(replace(RESULT, mmd2=0.5), store).status == "ok"
    assert check_baseline(replace(RESULT, mmd2=0.7), store, update=True).path == str(committed / "hf_org_model.json")


def test_the_benchmarks_of_its_by_benchmark_splits_are_a_setting_of_the_entry(tmp_path):
    """With two or more benchmarks the verdict also checks each by-benchmark split, so the benchmarks its splits were
    formed against (the record's extra["by_benchmark"]) shape its figures: an entry stored by a one-benchmark run is
    not compared with such a triple (and says why); where no split was formed nothing is added, so entries stored
    with one benchmark keep comparing."""
    from harness.run.options import OPTIONS, parse_config
    from harness.run.session import KeyspaceRun
    from pathlib import Path

    values = {o.name: o.default for o in OPTIONS} | {"benchmarks": "fixture,world"}
    run = KeyspaceRun(parse_config(values.__getitem__, Path(__file__).resolve().parents[1]))
    paired = replace(RESULT, extra={"by_benchmark": "world"})
    assert "by_benchmark" not in run._shaping(RESULT)  # the other benchmark could not be captured: not claimed
    assert run._shaping(paired)["by_benchmark"] == "world"
    check_baseline(RESULT, tmp_path, settings=run._shaping(RESULT))
    drift = check_baseline(paired, tmp_path, settings=run._shaping(paired))
    assert drift.status == "not-comparable" and "by_benchmark – → world" in drift.note


def test_an_update_over_an_entry_of_other_settings_says_which_changed(tmp_path):
    check_baseline(RESULT, tmp_path, settings={"seed": "0"})
    drift = check_baseline(replace(RESULT, extra={"by_benchmark": "world"}), tmp_path, update=True,
                           settings={"seed": "0", "by_benchmark": "world"})
    assert drift.status == "updated" and "was stored under other settings (by_benchmark – → world)" in drift.message()
    assert "no figure outside" not in drift.message()
