"""Pure numerics of the keyspace harness: tensors in, frozen dataclasses out (no pytest, no transformers)."""

from .kernels import BANDWIDTH_CONVENTION, median_bandwidth, pairwise_sq_dists, rbf_kernel
from .attention import AttentionMetrics, aggregate_attention, attention_metrics
from .bootstrap import RatioInterval, bootstrap_ratio_interval, weighted_mmd2
from .js import JSResult, js_classifier, js_knn, probe_auc
from .mmd import MMDResult, mmd2_unbiased, mmd_permutation_loop, mmd_permutation_null, mmd_test
from .projection import Projection, trustworthiness, tsne_2d
from .space import SPACES, to_space
from .splits import group_halves, random_halves

__all__ = [
    "BANDWIDTH_CONVENTION", "median_bandwidth", "pairwise_sq_dists", "rbf_kernel",
    "JSResult", "js_classifier", "js_knn", "probe_auc",
    "SPACES", "to_space",
    "random_halves", "group_halves", "RatioInterval", "bootstrap_ratio_interval", "weighted_mmd2",
    "Projection", "tsne_2d", "trustworthiness",
    "AttentionMetrics", "attention_metrics", "aggregate_attention",
    "MMDResult", "mmd2_unbiased", "mmd_permutation_loop", "mmd_permutation_null", "mmd_test",
]
