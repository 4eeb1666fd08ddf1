"""A clustered key population whose kernel figures are known in closed form, and its sampler.

The population (diagonal covariance Σ = diag(λ), λ_j ∝ 1/j scaled to sum d, as ``simulate``):

- a prompt has a category c (uniform over ``categories``; offsets m_c fixed by ``population_seed``:
  a real intra-modal sub-population, shared by both modalities) and a language l (uniform over
  ``languages``; no effect: a label that splits the data without a sub-population behind it);
- its tokens of modality M are m_c + shift·δ·[M = image] + o + o^M + e, with a shared prompt offset
  o ~ N(0, v_o Σ), a modality-specific one o^M ~ N(0, v_M Σ) and token noise e ~ N(0, v_e^M Σ)
  (``simulate.NULLS`` layouts; v_o + v_M + v_e^M = 1), δ_j = √λ_j / √d (a shift of `shift` pooled
  sds, Mahalanobis);
- image tokens per prompt uniform in [50, 600], text tokens in [20, 200]; the analysis keeps a
  uniform subsample of ``cap`` tokens per modality over all prompts (multivariate hypergeometric).

So the marginal law of a modality-M token (a prompt drawn at random, then one of its tokens) is the
mixture (1/K) Σ_c N(m_c + shift·δ·[M = image], Σ), whatever the layout, and within category c it is
one Gaussian. With the RBF kernel k(x, y) = exp(−|x − y|² / (2σ²)) and X − Y ~ N(m, 2Σ),

    E k(X, Y) = Π_j (1 + 2λ_j/σ²)^(−1/2) exp(−m_j² / (2(σ² + 2λ_j)))

so the MMD² between any two such mixtures is a finite sum (``mmd2_truth``): the cross-modal effect,
each category pair's effect, and the language split's effect (exactly 0). The between-prompt
MMD² (``between``) is unbiased for these figures at any number of prompts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .gap import Side
from .simulate import NULLS

IMAGE_TOKENS = (50, 600)  # tokens per prompt, inclusive range
TEXT_TOKENS = (20, 200)


@dataclass(frozen=True)
class Population:
    d: int
    layout: str  # a key of simulate.NULLS
    shift: float  # image mean moved by this many pooled sds along δ
    category_means: np.ndarray  # [K, d] m_c
    languages: int  # levels of the null label
    lam: np.ndarray  # [d] diagonal of Σ
    text_categories: bool = True  # False: the category offsets move image keys only (one dominant real split)

    @property
    def categories(self) -> int:
        return len(self.category_means)

    @property
    def delta(self) -> np.ndarray:  # [d] the unit shift direction (Mahalanobis norm 1)
        return np.sqrt(self.lam) / np.sqrt(self.d)


@dataclass(frozen=True)
class PopulationSample:
    image: np.ndarray  # [n_i, d] float32
    text: np.ndarray  # [n_t, d] float32
    image_units: np.ndarray  # [n_i] prompt index
    text_units: np.ndarray  # [n_t]
    image_strata: dict  # {"category": [n_i], "language": [n_i]} labels as str
    text_strata: dict  # the same for the text tokens

    def sides(self, strata: bool = True) -> tuple[Side, Side]:
        """(image, text) as ``gap.cross_modal_gap`` reads them; `strata` False: without labels."""
        return (Side(self.image, self.image_units, self.image_strata if strata else {}),
                Side(self.text, self.text_units, self.text_strata if strata else {}))


def population(*, d: int = 64, layout: str = "tight-image", shift: float = 0.0, categories: int = 4,
               category_sd: float = 0.5, languages: int = 2, population_seed: int = 0,
               text_categories: bool = True) -> Population:
    """The population above; `category_sd`: each coordinate of m_c is N(0, category_sd² λ_j / d), so two
    categories lie about √2·category_sd pooled sds apart (Mahalanobis). `text_categories` False: text
    keys carry no category offset (their by-category split is then a null one, and image/by-category
    the one real effect: the configuration where the per-split bound's coverage is exactly its level)."""
    if layout not in NULLS:
        raise ValueError(f"unknown layout {layout!r}; valid: {', '.join(NULLS)}")
    if d < 1 or categories < 2 or languages < 1:
        raise ValueError(f"need d >= 1, categories >= 2, languages >= 1; got {d}, {categories}, {languages}")
    lam = 1.0 / np.arange(1, d + 1)
    lam *= d / lam.sum()
    g = np.random.default_rng(population_seed).standard_normal((categories, d))
    return Population(d, layout, float(shift), g * np.sqrt(lam) * category_sd / np.sqrt(d), int(languages), lam,
                      bool(text_categories))


def _mean_kernel(m: np.ndarray, lam: np.ndarray, sigma: float) -> np.ndarray:
    """E k(X, Y) for X − Y ~ N(m, 2Σ); m [..., d] -> [...]."""
    s2 = sigma * sigma
    log = -0.5 * np.log1p(2.0 * lam / s2).sum() - 0.5 * (m * m / (s2 + 2.0 * lam)).sum(-1)
    return np.exp(log)


def mmd2_truth(means_a: np.ndarray, means_b: np.ndarray, lam: np.ndarray, sigma: float, scales=None) -> float:
    """MMD² between the equal-weight mixtures Σ_a N(a, Σ) / A and Σ_b N(b, Σ) / B; means [A, d], [B, d].
    `scales`: the kernel is the mean of RBF kernels at σ × each scale (``kernels.MIXTURE_SCALES``)."""
    widths = [sigma] if scales is None else [sigma * c for c in scales]

    def cross(u, v):
        return float(np.mean([_mean_kernel(u[:, None, :] - v[None, :, :], lam, w).mean() for w in widths]))
    return cross(means_a, means_a) + cross(means_b, means_b) - 2.0 * cross(means_a, means_b)


@dataclass(frozen=True)
class Truth:
    cross: float  # MMD² image vs text (kernel units)
    intra: dict  # split name -> MMD² (mean over pairs of levels), the names cross_modal_gap gives
    sigma: float
    scales: tuple | None = None  # mixture kernel scales (None: one RBF at σ)

    @property
    def strongest(self) -> float:
        return max(self.intra.values())

    @property
    def ratio(self) -> float:
        return self.cross / self.strongest


def truth(pop: Population, sigma: float, scales=None) -> Truth:
    """The population's kernel-mean figures at bandwidth σ (mixture over `scales` when given; module doc)."""
    img = pop.category_means + pop.shift * pop.delta
    txt = pop.category_means if pop.text_categories else np.zeros((1, pop.d))
    cross = mmd2_truth(img, txt, pop.lam, sigma, scales)
    pairs = [(a, b) for a in range(pop.categories) for b in range(a + 1, pop.categories)]
    cat = float(np.mean([mmd2_truth(pop.category_means[[a]], pop.category_means[[b]], pop.lam, sigma, scales)
                         for a, b in pairs]))
    # the shift moves every image level alike
    intra = {"image/by-category": cat, "text/by-category": cat if pop.text_categories else 0.0}
    if pop.languages >= 2:
        intra.update({"image/by-language": 0.0, "text/by-language": 0.0})
    return Truth(cross, intra, float(sigma), None if scales is None else tuple(scales))


def median_sigma(pop: Population, *, n: int = 2000, seed: int = 0) -> float:
    """σ of the median heuristic on a large pooled iid draw of the two marginal laws (half each)."""
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, pop.categories, n)
    x = pop.category_means[cat] + rng.standard_normal((n, pop.d)) * np.sqrt(pop.lam)
    x[: n // 2] += pop.shift * pop.delta
    sq = (x * x).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * x @ x.T
    return float(np.sqrt(np.median(d2[np.triu_indices(n, 1)])))


def shift_for_ratio(ratio: float, *, sigma: float, scales=None, **kwargs) -> float:
    """The shift at which the population's cross / strongest intra equals `ratio` at bandwidth σ
    (mixture over `scales` when given; other arguments as ``population``)."""
    base = truth(population(shift=0.0, **kwargs), sigma, scales)
    target = ratio * base.strongest

    def gap(s):
        return truth(population(shift=s, **kwargs), sigma, scales).cross - target
    hi = 1.0
    while gap(hi) < 0:
        hi *= 2.0
        if hi > 1e3:
            raise ValueError(f"ratio {ratio} is out of reach at σ = {sigma}")
    return float(brentq(gap, 0.0, hi, xtol=1e-8))


def sample(pop: Population, *, prompts: int, cap: int = 1500, seed: int = 0) -> PopulationSample:
    """Keys of `prompts` prompts of the population (module doc); at most `cap` tokens per modality kept."""
    if prompts < 2:
        raise ValueError(f"prompts must be >= 2, got {prompts}")
    v_o, v_i, v_t, e_i, e_t = NULLS[pop.layout]
    rng = np.random.default_rng(seed)
    sd = np.sqrt(pop.lam)  # [d]
    cat = rng.integers(0, pop.categories, prompts)
    lang = rng.integers(0, pop.languages, prompts)
    shared = rng.standard_normal((prompts, pop.d)) * sd * np.sqrt(v_o)  # [S, d]

    def modality(sizes_range, v_spec, v_noise, mean, categorised=True):
        sizes = rng.integers(sizes_range[0], sizes_range[1] + 1, prompts)
        kept = rng.multivariate_hypergeometric(sizes, min(cap, int(sizes.sum())))
        unit = np.repeat(np.arange(prompts), kept)  # [n]
        spec = rng.standard_normal((prompts, pop.d)) * sd * np.sqrt(v_spec)
        noise = rng.standard_normal((len(unit), pop.d)) * sd * np.sqrt(v_noise)
        x = mean + shared[unit] + spec[unit] + noise + (pop.category_means[cat[unit]] if categorised else 0.0)
        strata = {"category": cat[unit].astype(str), "language": lang[unit].astype(str)}
        return x.astype(np.float32), unit, strata

    xi, ui, si = modality(IMAGE_TOKENS, v_i, e_i, pop.shift * pop.delta)
    xt, ut, st = modality(TEXT_TOKENS, v_t, e_t, 0.0, pop.text_categories)
    return PopulationSample(xi, xt, ui, ut, si, st)
