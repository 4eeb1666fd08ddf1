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
and interventions.html beside the records shows them alone. The cases and the session (`ks_interventions`, a
harness.intervention.suite.InterventionSession) come from the plugin, as the keyspace suite's do.
"""

import pytest

pytestmark = pytest.mark.keyspace


def test_intervention(ks_intervention, ks_interventions):
    __tracebackhide__ = True
    result = ks_interventions.judge(ks_intervention)
    if result.status == "error":
        pytest.fail(f"{ks_intervention.id}: error: {result.message}", pytrace=False)
    known = ks_interventions.expected(result)
    if known:
        pytest.xfail(known)  # a finding about this model, stored run after run; a change either way shows
    assert result.status == "passed", f"{ks_intervention.id}: {result.message}"
