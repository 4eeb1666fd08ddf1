"""Pure numerics of the keyspace harness: tensors in, frozen dataclasses out (no pytest, no transformers)."""

from .kernels import BANDWIDTH_CONVENTION, median_bandwidth, pairwise_sq_dists, rbf_kernel
from .mmd import MMDResult, mmd2_unbiased, mmd_permutation_loop, mmd_permutation_null, mmd_test

__all__ = [
    "BANDWIDTH_CONVENTION", "median_bandwidth", "pairwise_sq_dists", "rbf_kernel",
    "MMDResult", "mmd2_unbiased", "mmd_permutation_loop", "mmd_permutation_null", "mmd_test",
]
