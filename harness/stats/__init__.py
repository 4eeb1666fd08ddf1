"""Pure numerics of the keyspace harness: tensors in, frozen dataclasses out (no pytest, no transformers)."""

from .kernels import BANDWIDTH_CONVENTION, median_bandwidth, pairwise_sq_dists, rbf_kernel
from .attention import AttentionMetrics, aggregate_attention, attention_metrics
from .between import CellGram, Comparison, sign_flip_test
from .bootstrap import CAP, RatioInterval, ratio_interval
from .gap import GapResult, Side, cross_modal_gap
from .kernel_mean import KernelMeanTier, SplitBound, kernel_mean_tier
from .paper_form import PaperForm, paper_form
from .separability import Separability, separability
from .support import SupportShare, SupportTier, support_tier
from .tiers import Tiers, all_tiers, real_splits, verdict
from .js import JSResult, js_classifier, js_knn, probe_auc, probe_figures
from .mmd import MMDResult, mmd2_unbiased, mmd_permutation_loop, mmd_permutation_null, mmd_test
from .projection import Projection, trustworthiness, tsne_2d
from .space import SPACES, to_space
from .splits import group_halves, random_halves

__all__ = [
    "BANDWIDTH_CONVENTION", "median_bandwidth", "pairwise_sq_dists", "rbf_kernel",
    "JSResult", "js_classifier", "js_knn", "probe_auc", "probe_figures",
    "SPACES", "to_space",
    "random_halves", "group_halves", "CAP", "RatioInterval", "ratio_interval",
    "CellGram", "Comparison", "sign_flip_test", "GapResult", "Side", "cross_modal_gap",
    "KernelMeanTier", "SplitBound", "kernel_mean_tier", "PaperForm", "paper_form", "Separability", "separability",
    "SupportShare", "SupportTier", "support_tier", "Tiers", "all_tiers", "real_splits", "verdict",
    "Projection", "tsne_2d", "trustworthiness",
    "AttentionMetrics", "attention_metrics", "aggregate_attention",
    "MMDResult", "mmd2_unbiased", "mmd_permutation_loop", "mmd_permutation_null", "mmd_test",
]
