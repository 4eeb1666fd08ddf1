"""What every figure in the report means, in which space and units (shown in its Definitions section)."""

from __future__ import annotations

SPACES = {
    "raw": "the keys as captured (k_proj outputs, float32)",
    "standardized": "each key coordinate centred and scaled to unit variance on the pooled image+text sample",
    "pca50": "the first 50 principal components of the pooled, standardized sample",
}


def definitions(spaces: list[str]) -> list[dict]:
    """(term, text) pairs; `spaces` are the spaces the results of this report were computed in."""
    space_text = "; ".join(f"{s}: {SPACES.get(s, 'a space named by the engine')}" for s in spaces) or "none recorded"
    return [
        {"term": "Key", "text": "The output of a decoder layer's k_proj for one token, before rotary position "
         "embedding, all key/value heads concatenated (num_key_value_heads × head_dim numbers)."},
        {"term": "Token labels", "text": "image: positions holding the model's image token after the processor "
         "expanded it; special: template and special tokens (BOS, role markers, vision delimiters); text: the rest."},
        {"term": "Space", "text": "Every figure of a triple is computed in the space named in its 'space' column. "
         f"Spaces in this report — {space_text}."},
        {"term": "MMD²", "text": "Squared maximum mean discrepancy between image-token and text-token keys: the "
         "unbiased U-statistic with an RBF kernel whose bandwidth σ is the median heuristic (median pairwise "
         "distance) on the pooled sample. Unitless, in kernel units: 0 when the two distributions are equal; "
         "the unbiased estimate can be slightly negative. MMD = sqrt(max(MMD², 0))."},
        {"term": "p", "text": "Permutation p-value of MMD²: (1 + #{permuted MMD² ≥ observed}) / (1 + permutations), "
         "labels permuted over the pooled sample with the kernel fixed."},
        {"term": "JS (bits)", "text": "Jensen–Shannon divergence between the image-key and text-key distributions, "
         "in bits, in [0, 1] (0: identical, 1: disjoint). High-dimensional samples need an estimator; each value "
         "names its own (shown in the column header, or under the value when they differ): 'classifier' from a probabilistic classifier's held-out log-loss, 'knn' from k-nearest-"
         "neighbour density ratios."},
        {"term": "AUC", "text": "Area under the ROC curve of a linear probe telling image keys from text keys, on held-out "
         "tokens. 0.5: indistinguishable; 1: linearly separable."},
        {"term": "Intra-modal baselines", "text": "The same MMD², same kernel and bandwidth as the cross-modal figure, "
         "between two halves of one modality: random (tokens split at random: the estimator's noise floor), "
         "by-sample (keys of half the samples vs the other half: variation between prompts), by-benchmark (the "
         "same modality from two benchmarks: variation between data sets). Random and by-sample figures are "
         "the mean over 16 halvings, since one halving depends on which samples happen to fall together."},
        {"term": "Ratio and interval", "text": "Cross-modal MMD² divided by the strongest intra-modal baseline (a "
         "baseline at or below zero is floored at 1/1000 of the cross-modal MMD², so the ratio is at most 1000). The interval is a percentile bootstrap that resamples "
         "samples (prompts, with all their tokens) and recomputes the ratio; its level and number of resamples are "
         "in the cell's tooltip. The test passes when the interval's lower bound (a one-sided 95 % bound for the "
         "default 90 % two-sided interval) ≥ threshold and p < alpha."},
        {"term": "Logit gap", "text": "Mean attention logit (q·k/√d, post-RoPE queries and keys) that text queries give "
         "image keys minus the mean they give text keys, in logit units: negative when image keys are scored lower "
         "than text keys by the same queries. Also reported for the last prompt token alone."},
        {"term": "Attention share", "text": "Attention mass that text queries put on image tokens divided by the share of "
         "image tokens in the context: 1 means image tokens get their fair share, below 1 they are under-attended."},
        {"term": "t-SNE map", "text": "A two-dimensional openTSNE embedding of the keys (after PCA), image, text and "
         "special tokens coloured apart. Distances within a cluster mean more than distances between clusters; "
         "the axes have no units. At most the stated number of points is drawn."},
        {"term": "Timings", "text": "analysis s: wall seconds of the statistics of one triple; capture s: wall seconds "
         "of the key capture (forward passes with hooks) it used."},
        {"term": "Baseline", "text": "Comparison of the figures with the stored expected values: ok (within "
         "tolerance), drift (outside: see the tooltip), created (no baseline existed; this run wrote it)."},
        {"term": "Controls", "text": "Runs where the answer is known: shuffled-labels and text-as-image must show no gap; "
         "synthetic-shift (a known shift injected) must show one. They check the harness, not the model."},
    ]
