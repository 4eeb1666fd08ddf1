"""Simulated keys of known truth, with the dependence real prompts have, for calibrating the gap statistics.

Model (every term Gaussian with covariance ∝ Σ = diag(λ), λ_j ∝ 1 / (j + 1) scaled to mean 1: a
decaying spectrum). A token of modality M in prompt s of category c is

    x = shift·[M = image]·δ + c_c + o_s + o_s^M + e,   e ~ N(0, v_e^M Σ), o_s ~ N(0, v_o Σ), o_s^M ~ N(0, v_M Σ),
    c_c ~ N(0, (category_sd² / d) Σ) (a category offset shared by both modalities: a real
    intra-modal sub-population; two categories differ by about √2 · category_sd pooled sds)

so a token's marginal law, given its category, is N(c_c + shift·[image]·δ, (v_o + v_M + v_e^M) Σ).
The per-modality variances are set so both totals are equal (``total``): with shift 0 the image and
text marginals are equal, whatever the clustering. δ has per-coordinate entries √λ_j / √d: the
image mean moves by `shift` pooled standard deviations along the direction δ (Mahalanobis distance).

Shapes are LLaVA-like: image tokens per prompt uniform in [300, 600], text tokens in [15, 60];
``cap_image`` / ``cap_text`` tokens per modality are kept over all prompts, as the analysis does
(a uniform subsample of tokens, so per-prompt counts are multivariate hypergeometric). Tokens of one
prompt are exchangeable given its offsets, so only the kept tokens are generated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gap import Side

NULLS = {
    # name: (shared prompt offset v_o, image-specific v_I, text-specific v_T, image noise v_e^I, text noise v_e^T)
    "shared-offset": (0.5, 0.0, 0.0, 0.5, 0.5),
    "specific-offsets": (0.0, 0.5, 0.5, 0.5, 0.5),
    "tight-image": (0.2, 0.7, 0.05, 0.1, 0.75),
}


@dataclass(frozen=True)
class SimKeys:
    image: np.ndarray  # [n_i, d] float32
    text: np.ndarray  # [n_t, d] float32
    image_units: np.ndarray  # [n_i] prompt index
    text_units: np.ndarray  # [n_t] prompt index
    image_category: np.ndarray  # [n_i] category label
    text_category: np.ndarray  # [n_t] category label

    def sides(self, strata: bool = True) -> tuple[Side, Side]:
        """(image, text) as ``gap.cross_modal_gap`` reads them, labelled by category (`strata` False: unlabelled)."""
        return (Side(self.image, self.image_units, {"category": self.image_category} if strata else {}),
                Side(self.text, self.text_units, {"category": self.text_category} if strata else {}))


def simulate_keys(
    *, prompts: int, d: int = 64, shift: float = 0.0, null: str = "tight-image", categories: int = 4,
    category_sd: float = 0.5, cap_image: int = 600, cap_text: int = 400, seed: int = 0,
) -> SimKeys:
    """Keys of `prompts` prompts under the variance layout `null` (see NULLS), image mean moved by `shift`."""
    if null not in NULLS:
        raise ValueError(f"unknown null {null!r}; valid: {', '.join(NULLS)}")
    v_o, v_i, v_t, e_i, e_t = NULLS[null]
    rng = np.random.default_rng(seed)
    lam = 1.0 / np.arange(1, d + 1)
    lam *= d / lam.sum()
    sd = np.sqrt(lam)  # [d]
    cat = rng.integers(0, categories, prompts)
    cat_off = rng.standard_normal((categories, d)) * sd * category_sd / np.sqrt(d)
    shared = rng.standard_normal((prompts, d)) * sd * np.sqrt(v_o)
    delta = sd / np.sqrt(d) * shift

    def modality(sizes_range, cap, v_spec, v_noise, mean):
        sizes = rng.integers(sizes_range[0], sizes_range[1] + 1, prompts)
        kept = rng.multivariate_hypergeometric(sizes, min(cap, int(sizes.sum())))
        unit = np.repeat(np.arange(prompts), kept)
        spec = rng.standard_normal((prompts, d)) * sd * np.sqrt(v_spec)
        noise = rng.standard_normal((len(unit), d)) * sd * np.sqrt(v_noise)
        x = mean + cat_off[cat[unit]] + shared[unit] + spec[unit] + noise
        return x.astype(np.float32), unit, cat[unit]

    xi, ui, ci = modality((300, 600), cap_image, v_i, e_i, delta)
    xt, ut, ct = modality((15, 60), cap_text, v_t, e_t, 0.0)
    return SimKeys(xi, xt, ui, ut, ci, ct)
