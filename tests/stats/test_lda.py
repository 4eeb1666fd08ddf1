"""lda_scores: the separability probe's scores are scikit-learn's estimator's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats import lda
from harness.stats.lda import lda_scores


def _estimator(x, y, t):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=[0.5, 0.5]).fit(x, y).decision_function(t)


def _case(seed: int):
    """Keys of the shapes the tier sees (a fold of a PCA-50 map down to a few tiny-model dims), with
    columns of very different scales and offsets, a constant column and duplicated keys now and then."""
    rng = np.random.default_rng(seed)
    n, d, m = int(rng.integers(6, 700)), int(rng.integers(2, 60)), int(rng.integers(1, 300))
    x = rng.normal(size=(n, d)) * rng.uniform(0.01, 100, size=d) + rng.normal(size=d) * 10
    if seed % 5 == 0:
        x[:, 0] = 3.0
    if seed % 7 == 0:
        x[n // 2:] = x[: n - n // 2]
    y = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(int)
    y[:2] = [0, 1]
    return x, y, rng.normal(size=(m, d)) * 5


@pytest.mark.skipif(not lda._REPLICA, reason="this scikit-learn release is served by its own estimator (lda.CHECKED)")
@pytest.mark.parametrize("seed", range(60))
def test_replica_equals_the_estimator_bit_for_bit(seed):
    x, y, t = _case(seed)
    assert np.array_equal(lda_scores(x, y, t), _estimator(x, y, t))


@pytest.mark.parametrize("x, y", [
    (np.arange(12, dtype=float).reshape(6, 2) ** 1.5, np.array([1, 2, 1, 2, 1, 2])),  # labels other than 0 and 1
    (np.linspace(0, 1, 6)[:, None], np.array([0, 1, 0, 1, 0, 1])),  # one feature
    (np.arange(12, dtype=np.float32).reshape(6, 2) ** 1.5, np.array([0, 1, 0, 1, 0, 1])),  # float32
    (np.arange(12, dtype=float).reshape(6, 2) ** 1.5, np.array([0, 0, 0, 1, 0, 0])),  # one key of a class
])
def test_other_cases_go_through_the_estimator(x, y):
    t = x[:3]
    assert np.array_equal(lda_scores(x, y, t), _estimator(x, y, t))


@pytest.mark.skipif(not lda._REPLICA, reason="this scikit-learn release is served by its own estimator (lda.CHECKED)")
def test_the_tiers_case_does_not_build_the_estimator(monkeypatch):
    def refuse(*args):
        raise AssertionError("the estimator was built")

    monkeypatch.setattr(lda, "_estimator_scores", refuse)
    x, y, t = _case(1)
    assert lda_scores(x, y, t).shape == (len(t),)
