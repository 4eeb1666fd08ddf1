"""Interventions on image keys: one test per (model, layer, benchmark, intervention).

    pytest suites/test_intervention.py                                   # the default models, the mid layer, `world`
    pytest suites/test_intervention.py --ks-intervene mean,moments --ks-intervene-layers 0,mid,-1

Each test fits its intervention on one half of the units (a prompt, or the prompts sharing an
image) and measures the other half before and after (harness.intervention). It asserts only what
must hold (harness.intervention.checks.checks): the map matches its target's moments where it was fitted;
where the triple check finds the gap, the cross-modal divergence falls and `moments` brings it to the
intra-modal level; the random-direction control does not move attention as the mean shift does. A failure
stored as this model's known outcome (harness.intervention.baselines) shows as xfail. Every effect is
recorded with intervals over units in --ks-intervene-results; the main report has a section for them
and interventions.html beside the records shows them alone.
"""

import pytest

from harness.errors import KeyspaceError
from harness.report.interventions import render_interventions
from harness.intervention.results import read_interventions_since
from harness.intervention.suite import InterventionSession
from harness.plugin import INTERVENE_KEY, RUN_KEY, STARTED_KEY

pytestmark = pytest.mark.keyspace
SESSION_KEY = pytest.StashKey[InterventionSession]()


def _session(config: pytest.Config) -> InterventionSession:
    if SESSION_KEY not in config.stash:  # the options were parsed and checked when the session configured
        config.stash[SESSION_KEY] = InterventionSession(config.stash[RUN_KEY], config.stash[INTERVENE_KEY])
    return config.stash[SESSION_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "ks_intervention" in metafunc.fixturenames:
        try:
            cases = _session(metafunc.config).plan()
        except KeyspaceError as exc:
            raise pytest.UsageError(str(exc)) from None
        metafunc.parametrize("ks_intervention", cases, ids=[c.id for c in cases])


@pytest.fixture(scope="module")
def ks_interventions(request: pytest.FixtureRequest):
    """The session's intervention state; on teardown, the interventions report beside the records."""
    session = _session(request.config)
    yield session
    if session.results:
        path = session.icfg.results
        records = read_interventions_since(path, request.config.stash[STARTED_KEY])  # this session's, parallel parts too
        known = {r.key: why for r in records if (why := session.expected(r))}
        render_interventions(records, path.with_suffix(".html"), known)  # also a section of the main report


def test_intervention(ks_intervention, ks_interventions):
    __tracebackhide__ = True
    result = ks_interventions.judge(ks_intervention)
    if result.status == "error":
        pytest.fail(f"{ks_intervention.id}: error: {result.message}", pytrace=False)
    known = ks_interventions.expected(result)
    if known:
        pytest.xfail(known)  # a finding about this model, stored run after run; a change either way shows
    assert result.status == "passed", f"{ks_intervention.id}: {result.message}"
