"""Controls: the triple check must fail where the finding is absent and pass where it is planted."""

import pytest

from harness.run.controls import CONTROLS
from harness.analysis.selection import AnalysisError
from harness.errors import KeyspaceError

pytestmark = pytest.mark.keyspace


def test_control(ks_control, ks_run):
    __tracebackhide__ = True
    try:
        result = ks_run.run_control(ks_control)
    except KeyspaceError as exc:  # the pair it is built from cannot be captured: one line, once per pair
        error = str(exc)
    except Exception as exc:  # it could not be measured (too few keys for an estimator ...): its recorded line,
        error = f"error: {exc}" if isinstance(exc, AnalysisError) else f"error: {type(exc).__name__}: {exc}"  # as a triple's
    else:
        error = None
    if error:
        if ks_control.triple is not None:
            _skip_if_reported(ks_run, ks_control.triple.pair)
        pytest.fail(f"control {ks_control.id}: {error}", pytrace=False)
    control = CONTROLS[ks_control.name]
    verdict = "passed" if result.passed else "failed"
    assert result.passed == control.expect_pass, (
        f"control {ks_control.id} ({result.extra['control_description']}): the check {verdict}, "
        f"expected it to {'pass' if control.expect_pass else 'fail'}; ratio {result.ratio:.3g}, p {result.p_value:.3g}"
    )


def _skip_if_reported(ks_run, pair):
    reason = ks_run.reported_elsewhere(pair)  # the pair's failure is shown once, by its capture test
    if reason:
        pytest.skip(reason)
