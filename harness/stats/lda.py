"""The separability tier's linear probe, fitted and scored without scikit-learn's estimator overhead.

``lda_scores`` returns, bit for bit, what
``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=[0.5, 0.5]).fit(x, y).decision_function(t)``
returns (scikit-learn's log-odds of class 1): scikit-learn 1.9's numeric steps transcribed in the same
order, on the same operands (class means, each class's Ledoit–Wolf covariance of its standardized
keys rescaled, weighted by the priors, a least-squares solve, the linear score). What it leaves out
is the estimators' input validation and bookkeeping (checks of arrays the caller has already made,
parameter validation, a StandardScaler and a LedoitWolf object per class), about two thirds of a fit
on a triple's fold (2,000 keys × 50 dims: 15 ms through the estimator, 4.4 ms here, same scores).

Only the case the tier uses is transcribed (labels 0 and 1 with at least two keys each, 2 to 1,000
finite float64 dims); anything else, and any scikit-learn release it was not checked against
(tests/stats/test_lda.py compares the two bit for bit on every run), goes through the estimator itself.
"""

from __future__ import annotations

import numpy as np
import sklearn
from scipy import linalg
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

PRIORS = (0.5, 0.5)
CHECKED = ("1.9.",)  # scikit-learn releases whose estimator this replica was compared with, bit for bit
_REPLICA = sklearn.__version__.startswith(CHECKED)


def lda_scores(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """[len(t)] decision function (log-odds of label 1 against label 0) of the shrunk LDA probe fitted on
    keys x [n, d] with labels y [n] (0 and 1), evaluated at keys t [m, d]."""
    if not (_REPLICA and x.dtype == np.float64 and t.dtype == np.float64 and x.ndim == 2 and x.shape[1] >= 2
            and x.shape[1] <= 1000 and _two_classes(y) and np.isfinite(x).all()):
        return _estimator_scores(x, y, t)
    coef, intercept = _fit(x, np.asarray(y))
    return (t @ coef.T + intercept).reshape(-1)  # LinearClassifierMixin.decision_function


def _two_classes(y: np.ndarray) -> bool:
    """Labels 0 and 1 only, each on at least two keys (one key: the estimator warns, so it runs it)."""
    labels, counts = np.unique(y, return_counts=True)
    return np.array_equal(labels, [0, 1]) and counts.min() >= 2


def _estimator_scores(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    probe = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=list(PRIORS))
    return probe.fit(x, y).decision_function(t)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coef [1, d], intercept [1]) as LinearDiscriminantAnalysis.fit with the lsqr solver sets them."""
    priors = np.asarray(PRIORS, dtype=x.dtype)
    classes, inverse = np.unique_inverse(y)
    # _class_means: np.add.at(means, inverse, x) adds each class's rows in order onto 0.0, as a reduction
    # over the rows from an initial 0.0 does (a tenth of the time)
    means = np.stack([np.add.reduce(x[inverse == i], axis=0, initial=0.0) for i in range(classes.shape[0])])
    means /= np.bincount(inverse)[:, None]
    cov = np.zeros(shape=(x.shape[1], x.shape[1]))  # _class_cov
    for idx, group in enumerate(classes):
        cov += priors[idx] * np.atleast_2d(_shrunk_cov(x[y == group, :]))
    coef = linalg.lstsq(cov, means.T)[0].T  # _solve_lstsq
    intercept = -0.5 * np.diag(np.dot(means, coef.T)) + np.log(priors)
    return (np.asarray(coef[1, :] - coef[0, :], dtype=x.dtype).reshape(1, -1),
            np.asarray(intercept[1] - intercept[0], dtype=x.dtype).reshape(1))


def _shrunk_cov(x: np.ndarray) -> np.ndarray:
    """discriminant_analysis._cov(x, "auto"): Ledoit–Wolf on the standardized keys, scaled back."""
    mean, var, seen = _mean_and_var(x)  # StandardScaler.fit
    eps = np.finfo(np.float64).eps  # preprocessing._data._is_constant_feature, _handle_zeros_in_scale
    scale = np.sqrt(var)
    scale[var <= seen * eps * var + (seen * mean * eps) ** 2] = 1.0
    z = np.array(x, copy=True)  # StandardScaler.transform
    z -= mean
    z /= scale
    z = z - z.mean(0)  # LedoitWolf.fit: centred, then covariance._shrunk_covariance._ledoit_wolf (d ≥ 2)
    n_samples, n_features = z.shape
    z2 = z**2  # ledoit_wolf_shrinkage(assume_centered=True), one block (d ≤ 1000)
    emp_cov_trace = np.sum(z2, axis=0) / n_samples
    mu = np.sum(emp_cov_trace) / n_features
    delta_ = 0.0 + np.sum(np.dot(z.T[0:], z[:, 0:]) ** 2)
    delta_ /= n_samples**2
    beta_ = 0.0 + np.sum(np.dot(z2.T[0:], z2[:, 0:]))
    beta = 1.0 / (n_features * n_samples) * (beta_ / n_samples - delta_)
    delta = delta_ - 2.0 * mu * emp_cov_trace.sum() + n_features * mu**2
    delta /= n_features
    beta = min(beta, delta)
    shrinkage = 0 if beta == 0 else beta / delta
    emp_cov = np.dot(z.T, z) / z.shape[0]  # empirical_covariance(assume_centered=True)
    mu = np.sum(np.trace(emp_cov)) / n_features
    s = (1.0 - shrinkage) * emp_cov
    s.flat[:: n_features + 1] += shrinkage * mu
    return scale[:, np.newaxis] * s * scale[np.newaxis, :]


def _mean_and_var(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """utils.extmath._incremental_mean_and_var from no earlier samples, on finite keys: (mean [d], var [d],
    the sample count as StandardScaler keeps it)."""
    count = np.full(x.shape[1], float(x.shape[0]))  # no NaN: every key counts, after none before
    new_sum = np.sum(x, axis=0)
    mean = (0.0 + new_sum) / count  # the earlier sum (0.0) first: a -0.0 reads +0.0, as there
    temp = x - new_sum / count
    correction = np.sum(temp, axis=0)
    temp **= 2
    unnormalized = np.sum(temp, axis=0)
    unnormalized -= correction**2 / count
    return mean, unnormalized / count, count[0]
