"""What every figure in the report means, in which space and units (shown in its Definitions section)."""

from __future__ import annotations

from harness.results.captured import WORDS, named

SPACES = {
    "raw": "the {what} as captured ({source}; computed in the run's dtype, kept as float32)",
    "standardized": "each key coordinate centred and scaled to unit variance on the pooled image+text sample",
    "pca50": "the first 50 principal components of the pooled, standardized sample",
}


def definitions(spaces: list[str], kinds: list[str] = ("keys",), scope: str = "") -> list[dict]:
    """(term, text) pairs; `spaces` are the spaces the results of this report were computed in, `kinds` what
    they captured (harness.results.captured: keys, values, queries, ...; the figures' words follow them), `scope`
    what else the records say they measured (captured.scope: one head's slice, special tokens as text; "" for neither)."""
    what, source = named(kinds), " / ".join(WORDS[k].source for k in kinds)
    space_text = "; ".join(f"{s}: {SPACES.get(s, 'a space named by the engine').format(what=what, source=source)}"
                           for s in spaces) or "none recorded"
    return [
        *({"term": WORDS[k].term, "text": WORDS[k].what[0].upper() + WORDS[k].what[1:] + "."} for k in kinds),
        {"term": "Token labels", "text": "image: positions holding the model's image token after the processor "
         "expanded it; special: template and special tokens (BOS, role markers, vision delimiters); text: the rest."},
        *([{"term": "This report", "text": f"Measured: {scope} (--ks-heads N: that head's head_dim numbers of each "
            "vector; --ks-special-as-text: the text side holds the template and special tokens too)."}] if scope else []),
        {"term": "Space", "text": "Every figure of a triple is computed in the space named in its 'space' column. "
         f"Spaces in this report — {space_text}."},
        {"term": "Unit", "text": "The independent draw: a prompt, or the prompts that share an image (the "
         "fixture asks each question in English and Chinese about one image). Tokens of one unit are dependent, "
         "so every figure below pairs tokens of different units only, resamples units and tests by units."},
        {"term": "MMD²", "text": "Between-prompt squared maximum mean discrepancy between image-token and "
         f"text-token {what}. Estimator: the mean kernel value over pairs of tokens of different units, every "
         "unit weighted equally (image–image + text–text − 2 image–text), units holding both modalities. Kernel: "
         "the mixture of RBF kernels at σ × {0.25, 0.5, 1, 2, 4}, averaged, σ the median pairwise distance of the "
         f"pooled sample (shown under the value), so no single bandwidth decides. Space: the {what} as captured "
         "('space' column). Unit: kernel units, dimensionless, 0 when the laws are equal; it can be slightly negative. "
         "Prompts: its expectation is the MMD² between the two marginal laws whatever the number of prompts or "
         "tokens per prompt; more prompts only shrink its spread. MMD = sqrt(max(MMD², 0))."},
        {"term": "p", "text": "Prompt-level test of MMD²: each null draw swaps the image and text blocks of every "
         "unit with probability 1/2 (a sign flip of the unit's contribution), kernel fixed; p = (1 + #{null ≥ "
         "observed}) / (1 + draws). Valid when tokens of a prompt are dependent (exact when a unit's two blocks are "
         "exchangeable, asymptotic in units otherwise; checked by simulation). With U units it cannot go below "
         "about 2 / 2^U, so p < 0.01 needs at least 8 units."},
        {"term": "JS (bits)", "text": f"Jensen–Shannon divergence between the distributions of image and text {what}, "
         "in bits, in [0, 1] (0: identical, 1: disjoint), in the space named by js_space (default: PCA-50 of the "
         f"standardized {what}). High-dimensional samples need an estimator; each value names its own (shown in the "
         "column header, or under the value when they differ): 'classifier' from a probabilistic classifier's "
         "held-out log-loss, 'knn' from k-nearest-neighbour density ratios. Both are estimates of a population "
         f"figure; their small-sample bias shrinks as prompts grow. Not a headline figure: on {what} clustered by prompt they read far below the truth (0.009 for 0.160 bits at 40 prompts, docs/statistics.md), so the held-out AUC and the out-of-support share take their place."},
        {"term": "AUC", "text": f"Area under the ROC curve of a class-balanced linear probe telling image {what} from "
         f"text {what}, scored on held-out units (grouped folds), each unit weighing 1 as the MMD weighs them: the "
         "separability tier's figure, the 'AUC' column. 0.5: indistinguishable; 1: linearly separable. A population "
         "figure estimated with a bias that shrinks as prompts grow. 'AUC tokens' (full table) is the JS space's "
         "probe AUC with each token weighing 1, the figure beside the JS estimates."},
        {"term": "Intra-modal effects", "text": "The same between-prompt MMD², same kernel and bandwidth, between "
         "real sub-populations of one modality: by-language, by-category (a split with several levels gives the "
         "mean over its pairs of levels; levels held by fewer than 2 units are left out) and by-benchmark when two "
         "benchmarks run (the verdict checks those on the point only: no bound, not in the ratio; bounded, they are the "
         "Tiers table's 'kernel mean, by-benchmark bounded' row, a reading). Without any usable label the fallback is by-position: each unit's earlier vs later "
         "tokens of the modality (named in the result). Kernel units; expectation independent of the number of "
         "prompts."},
        {"term": "Noise floor", "text": "For each modality, the standard deviation over 16 random halvings of the "
         "units of the between-prompt MMD² between the two halves: the estimator's own noise at this number of "
         "prompts (expectation 0; it shrinks about as 1 / number of prompts). Reported only, never a baseline."},
        {"term": "Ratio and interval", "text": "The kernel-mean tier's figure (the verdict's): the cross-modal MMD² "
         "(mixture kernel) over each real intra-modal split's effect, dimensionless; the ratio shown is the smallest "
         "over the splits (its split named as binding). Each split's bounds are normal Fieller bounds of cross / "
         "effect from the unbiased U-statistic variance over units (grid resolution 2.3 %); the interval is [the "
         "smallest lower bound, the smallest (Bonferroni) upper bound]. At about 20 prompts one split's own bounds "
         "are narrower than their level (its lower bound exceeded the truth in 11 % of simulated runs, nominal 5 %; "
         "the smallest over the splits, which the verdict reads, stayed within 10 %: docs/statistics.md, end of "
         "amendment 4). Where the binding split's effect is not "
         "bounded above 0 the ratio is set by noise and marked 'not estimable': read the interval. An upper end that "
         "cannot be bounded (every split's effect indistinguishable from 0 there) is shown at the cap 1000 and "
         "flagged 'saturated'. The verdict holds when p < alpha and the lower bound (one-sided 95 % for the default "
         f"90 % interval) ≥ threshold: threshold 1 means image {what} differ from text {what} more than the most "
         "different real sub-populations of one modality differ; 10 means ten times more. The population ratio "
         "does not depend on how many prompts ran; the bound does (README: the effective bar). Without a real "
         "split the ratio to the by-position split is shown, with no interval and no verdict. The Tiers row 'kernel "
         "mean at one σ' reads the same tier, test and rule with each RBF of the mixture alone (σ × 0.25 … × 4): what "
         "one bandwidth would have claimed, shown beside the verdict, never it."},
        {"term": "Logit gap", "text": "Mean attention logit (q·k/√d, post-RoPE queries and keys) that text queries give "
         "image keys minus the mean they give text keys, in logit units: negative when image keys are scored lower "
         "than text keys by the same queries. Also reported for the last prompt token alone."},
        {"term": "Attention share", "text": "Attention mass that text queries put on image tokens divided by the share of "
         "image tokens in the context: 1 means image tokens get their fair share, below 1 they are under-attended."},
        {"term": "t-SNE map", "text": f"A two-dimensional t-SNE embedding of the {what} (after PCA; by openTSNE or "
         "scikit-learn, whichever is faster at the map's size, and the map names which), image, text and "
         "special tokens coloured apart. Distances within a cluster mean more than distances between clusters; "
         "the axes have no units. At most the stated number of points is drawn."},
        {"term": "Timings", "text": "analysis s: wall seconds of the whole analysis of one triple (every tier and the t-SNE map); capture s: wall seconds "
         "of the capture (forward passes with hooks) it used."},
        {"term": "Baseline", "text": "Comparison with the stored baseline (reports/baselines/<model>.json or the run's "
         "--ks-baselines): the verdict's outcome (exactly), its lower bound and ratio, MMD², p, the token counts and the "
         "held-out tiers' AUC and out-of-support excess, each within its tolerance. ok: every figure within; drift: "
         "some outside (old → new shown; the test fails); created: none existed in the named store, this run wrote it "
         "(the test fails once); new: none existed, written beside the results (a note); updated: rewritten by "
         "--ks-update-baselines (what changed shown); other-config / not-comparable: stored under other settings "
         "(named), so nothing was compared (a note with the default store; a failure with a named one); unreadable: "
         "the baseline file is damaged (a failure)."},
        {"term": "Controls", "text": "Runs where the answer is known: shuffled-labels and text-as-image must show no gap; "
         "synthetic-shift (a known shift injected) must show one. They check the harness, not the model."},
    ]
