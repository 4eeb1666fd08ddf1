"""The separability tier's linear probe, fitted and scored without scikit-learn's estimator overhead.

``lda_scores`` returns, bit for bit, what
``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=[0.5, 0.5]).fit(x, y).decision_function(t)``
returns (scikit-learn's log-odds of class 1): the same numeric steps in the same order (class means,
each class's Ledoit–Wolf covariance of its standardized keys rescaled, weighted by the priors, a
least-squares solve, the linear score), calling scikit-learn's own numeric helpers where it has them.
What it leaves out is the estimators' input validation and bookkeeping (checks of arrays the caller
has already made, parameter validation, a StandardScaler and a LedoitWolf object per class), which
took about two thirds of a fit on a triple's fold (2,000 keys × 50 dims: 15.5 ms against 4-5 ms here).

Only the case the tier uses is replicated (two classes, at least two features, finite float64 keys);
anything else, and any scikit-learn release whose estimator it was not checked against
(tests/stats/test_lda.py compares the two on every run), goes through the estimator itself.
"""

from __future__ import annotations

import numpy as np
import sklearn
from scipy import linalg
from sklearn.covariance import empirical_covariance, ledoit_wolf_shrinkage
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature
from sklearn.utils.extmath import _incremental_mean_and_var

PRIORS = (0.5, 0.5)
CHECKED = ("1.9.",)  # scikit-learn releases whose estimator this replica was compared with, bit for bit
_REPLICA = sklearn.__version__.startswith(CHECKED)


def lda_scores(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """[len(t)] decision function (log-odds of label 1 against label 0) of the shrunk LDA probe fitted on
    keys x [n, d] with labels y [n] (0 and 1), evaluated at keys t [m, d]."""
    if not (_REPLICA and x.dtype == np.float64 and t.dtype == np.float64 and x.ndim == 2 and x.shape[1] >= 2
            and x.shape[0] > 2 and np.array_equal(np.unique(y), [0, 1])):
        return _estimator_scores(x, y, t)
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        coef, intercept = _fit(np.asarray(x), np.asarray(y))
    return (t @ coef.T + intercept).reshape(-1)  # LinearClassifierMixin.decision_function


def _estimator_scores(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    probe = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=list(PRIORS))
    return probe.fit(x, y).decision_function(t)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coef [1, d], intercept [1]) as LinearDiscriminantAnalysis.fit with the lsqr solver sets them."""
    priors = np.asarray(PRIORS, dtype=x.dtype)
    classes, inverse = np.unique_inverse(y)
    means = np.zeros((classes.shape[0], x.shape[1]), dtype=x.dtype)  # _class_means
    cnt = np.bincount(inverse)
    np.add.at(means, inverse, x)
    means /= cnt[:, None]
    cov = np.zeros(shape=(x.shape[1], x.shape[1]))  # _class_cov
    for idx, group in enumerate(classes):
        cov += priors[idx] * np.atleast_2d(_shrunk_cov(x[y == group, :]))
    coef = linalg.lstsq(cov, means.T)[0].T  # _solve_lstsq
    intercept = -0.5 * np.diag(np.dot(means, coef.T)) + np.log(priors)
    return (np.asarray(coef[1, :] - coef[0, :], dtype=x.dtype).reshape(1, -1),
            np.asarray(intercept[1] - intercept[0], dtype=x.dtype).reshape(1))


def _shrunk_cov(x: np.ndarray) -> np.ndarray:
    """discriminant_analysis._cov(x, "auto"): Ledoit–Wolf on the standardized keys, scaled back."""
    mean, var, seen = _incremental_mean_and_var(x, 0.0, 0.0, np.zeros(x.shape[1], dtype=np.int64))  # StandardScaler.fit
    if np.max(seen) == np.min(seen):
        seen = seen[0]
    scale = _handle_zeros_in_scale(np.sqrt(var), copy=False, constant_mask=_is_constant_feature(var, mean, seen))
    z = np.array(x, copy=True)  # StandardScaler.transform
    z -= mean.astype(z.dtype)
    z /= scale.astype(z.dtype)
    centred = z - z.mean(0)  # LedoitWolf.fit
    n_features = centred.shape[1]  # covariance._shrunk_covariance._ledoit_wolf (n_features ≥ 2)
    shrinkage = ledoit_wolf_shrinkage(centred, assume_centered=True, block_size=1000)
    emp_cov = empirical_covariance(centred, assume_centered=True)
    mu = np.sum(np.trace(emp_cov)) / n_features
    s = (1.0 - shrinkage) * emp_cov
    s.flat[:: n_features + 1] += shrinkage * mu
    return scale[:, np.newaxis] * s * scale[np.newaxis, :]
