"""Pure numerics of the keyspace harness: tensors in, frozen dataclasses out (no pytest, no transformers)."""

from .kernels import BANDWIDTH_CONVENTION, median_bandwidth, pairwise_sq_dists, rbf_kernel
from .js import JSResult, js_classifier, js_knn, probe_auc
from .mmd import MMDResult, mmd2_unbiased, mmd_permutation_loop, mmd_permutation_null, mmd_test
from .space import SPACES, to_space

__all__ = [
    "BANDWIDTH_CONVENTION", "median_bandwidth", "pairwise_sq_dists", "rbf_kernel",
    "JSResult", "js_classifier", "js_knn", "probe_auc",
    "SPACES", "to_space",
    "MMDResult", "mmd2_unbiased", "mmd_permutation_loop", "mmd_permutation_null", "mmd_test",
]
