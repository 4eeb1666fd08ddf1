"""The verification suite: one capture test per (model, benchmark), one triple test per (model, layer, benchmark).

    pytest suites/                                   # offline default: tiny models, bundled fixture set
    pytest suites/ --ks-models llava-1.5-7b --ks-benchmarks mmmu --ks-device cuda
"""

import pytest

pytestmark = pytest.mark.keyspace


def test_capture(ks_pair, ks_run, benchmark):
    """Capture the keys of every planned layer of one (model, benchmark) pair, timed by pytest-benchmark."""
    bank = benchmark.pedantic(ks_run.capture, args=(ks_pair,), rounds=1, iterations=1)
    assert bank.sample_ids, "no samples captured"


def test_keyspace(ks_triple, ks_run, benchmark):
    """Image keys must be farther from text keys than either modality is from itself, significantly,
    and every figure must stay within tolerance of the stored baseline."""
    __tracebackhide__ = True
    result = benchmark.pedantic(ks_run.judge, args=(ks_triple,), rounds=1, iterations=1)
    if result.status == "error":
        pytest.fail(f"{ks_triple.id}: error: {result.message}", pytrace=False)
    problems = [] if result.passed else [result.message]
    drift = result.extra.get("baseline_drift")
    if drift and drift["status"] in ("drift", "created"):
        from harness.baselines import Drift

        problems.append(Drift(**drift).message())
    assert not problems, f"{ks_triple.id}: " + " | ".join(problems)
