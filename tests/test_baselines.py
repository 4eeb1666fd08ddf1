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


def test_other_configuration_is_not_compared(tmp_path):
    check_baseline(RESULT, tmp_path)
    other = check_baseline(replace(RESULT, mmd2=9.0, config_id="zzz"), tmp_path)
    assert other.status == "other-config" and not other.fails


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
