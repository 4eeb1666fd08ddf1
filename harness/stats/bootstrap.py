"""Cross-modal / intra-modal MMD² ratio with a sample-level bootstrap interval.

Ratio = MMD²(image, text) / max(intra-modal baselines), the baselines being MMD² between two
halves of one modality split (a) at random over tokens and (b) by sample (whole samples per half,
``splits.balanced_group_mask``), for image and for text: four baselines, the strongest wins.

Bootstrap: SAMPLES are resampled with replacement, not tokens (tokens of one sample are
dependent). Sample ids shared by image and text tokens are the same sample and are drawn
together. A replicate gives every token the multiplicity of its sample as a weight; all five
MMD² are then weighted statistics on ONE pooled kernel matrix K (σ fixed from the full data):

    MMD²_w(u, v) = (uᵀKu − Σu_i²K_ii) / ((Σu)² − Σu_i²) + (same for v) − 2 uᵀKv / (Σu Σv)

which is the unbiased U-statistic when the weights are 0/1 and, with repeated samples, leaves
out every pair of copies of one token. The halves are re-drawn in every replicate (seeded).

Copies of one sample: tokens of one prompt are more alike than tokens of two prompts, and the
data hold each within-prompt pair once. A sample drawn m times would weight its within-prompt
pairs m² (pairs across its copies included), inflating every baseline (by 1.8× in the median at one
tiny-twin layer). Given the samples (``_SampleBlocks``), pairs within one sample keep weight m (one
per copy) and pairs across copies are left out, in numerator and pair count alike: each replicate
is then the data's own statistic on a data set of m_s distinct copies of each sample.

Point estimate: the cross term on the data as is; each baseline averaged over ``POINT_SPLITS``
seeded halvings of the data as is. One halving is a lottery: on 72 samples, the by-sample image
baseline of single halvings spans 0.0004-0.026 (5-95 %) at one tiny-twin layer, so a lucky halving
put the point ratio far above the bootstrap interval. The average estimates what the replicates
scatter around.

Tokens are capped at ``max_points`` pooled (seeded subsample of each modality, proportional)
so K stays [≤ max_points, ≤ max_points]. Interval: percentile, over replicates with a finite ratio.

Non-positive denominator: intra-modal MMD² is ≈ 0 and can be < 0 by noise. The denominator is
floored at max(REL_FLOOR · |cross|, ABS_FLOOR), so the ratio never exceeds 1 / REL_FLOOR = 1000
in size; the share of replicates that hit the floor is reported as ``floored_fraction``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ._validate import as_pair, check_seed
from .kernels import _sq_dists, median_bandwidth, rbf_kernel
from .splits import balanced_group_mask

REL_FLOOR = 1e-3  # denominator floor relative to |cross-modal MMD²|
ABS_FLOOR = 1e-12  # absolute floor, for when cross-modal MMD² is 0 too
_ROWS = 8  # weight vectors per replicate: image random halves A/B, image sample halves A/B, same for text
POINT_SPLITS = 16  # halvings of the data as is averaged into the point estimate of each baseline


@dataclass(frozen=True)
class RatioInterval:
    ratio: float  # cross-modal MMD² / strongest intra-modal MMD² on the (capped) data; dimensionless
    low: float  # lower percentile bound of the bootstrap ratio at ``level``
    high: float  # upper percentile bound of the bootstrap ratio at ``level``
    n_boot: int  # bootstrap replicates drawn (those with a finite ratio make the interval)
    level: float  # two-sided coverage of [low, high], e.g. 0.95
    method: str  # how the interval was made
    cross_mmd2: float = float("nan")  # MMD²(image, text), kernel units
    intra_mmd2: float = float("nan")  # the strongest of the four intra-modal MMD² (the denominator before flooring)
    intra_image_random: float = float("nan")  # MMD² between random token halves of the image keys (mean of POINT_SPLITS halvings)
    intra_image_sample: float = float("nan")  # MMD² between by-sample halves of the image keys (mean of POINT_SPLITS halvings)
    intra_text_random: float = float("nan")  # MMD² between random token halves of the text keys (mean of POINT_SPLITS halvings)
    intra_text_sample: float = float("nan")  # MMD² between by-sample halves of the text keys (mean of POINT_SPLITS halvings)
    floored_fraction: float = float("nan")  # share of bootstrap replicates whose denominator hit the floor
    sigma: float = float("nan")  # RBF σ used throughout, in the units of the input vectors
    n_points: int = 0  # pooled tokens after the max_points cap


class _SampleBlocks:
    """The same-sample pairs of a kernel: its diagonal blocks, one per sample, and the token → sample map.

    Sums over pairs within one sample without forming K ⊙ [same sample]: `quad` loops over samples
    ([.., n_s] × [n_s, n_s] products, about Σ n_s² / N² of one dense product), `mass` multiplies by
    the one-hot token → sample map."""

    def __init__(self, k: torch.Tensor, codes: np.ndarray):
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        self.index = [torch.as_tensor(ix, device=k.device) for ix in np.split(order, bounds)]
        self.blocks = [k[ix][:, ix] for ix in self.index]
        column = torch.as_tensor(np.unique(codes, return_inverse=True)[1], device=k.device)
        self.onehot = torch.nn.functional.one_hot(column, len(self.index)).to(k.dtype)  # [N, samples]

    def quad(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Σ_s a_sᵀ K_ss b_s for a, b [..., N] -> [...]."""
        return sum(((a[..., ix] @ blk) * b[..., ix]).sum(-1) for ix, blk in zip(self.index, self.blocks))

    def mass(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Σ_s (Σ_{i∈s} a_i)(Σ_{j∈s} b_j) for a, b [..., N] -> [...]."""
        return ((a @ self.onehot) * (b @ self.onehot)).sum(-1)


def weighted_mmd2(
    k: torch.Tensor, u: torch.Tensor, v: torch.Tensor, *, blocks: _SampleBlocks | None = None,
    excess: torch.Tensor | None = None,
) -> torch.Tensor:
    """MMD²_w (module doc) for weight vectors u, v [..., N] on kernel k [N, N]; -> [...]; nan if
    a side has fewer than two distinct weighted tokens.

    With `blocks` and `excess` [..., N] (1 − 1/m for a token whose sample is drawn m times, 0 for
    m ≤ 1), pairs within one sample are weighted per copy and pairs across copies left out."""
    ku, kv, dg = u @ k, v @ k, k.diagonal()
    su, sv = u.sum(-1), v.sum(-1)
    keep = 1.0 if excess is None else 1.0 - excess  # share of a token's self-pairs not already taken out below
    qu = (ku * u).sum(-1) - (u * u * dg * keep).sum(-1)
    qv = (kv * v).sum(-1) - (v * v * dg * keep).sum(-1)
    nu, nv = su * su - (u * u * keep).sum(-1), sv * sv - (v * v * keep).sum(-1)
    quv, nuv = (ku * v).sum(-1), su * sv
    if blocks is not None and excess is not None:
        eu, ev = u * excess, v * excess
        qu, qv, quv = qu - blocks.quad(eu, u), qv - blocks.quad(ev, v), quv - blocks.quad(eu, v)
        nu, nv, nuv = nu - blocks.mass(eu, u), nv - blocks.mass(ev, v), nuv - blocks.mass(eu, v)
    out = qu / nu + qv / nv - 2.0 * quv / nuv
    return torch.where((nu > 0) & (nv > 0), out, torch.full_like(out, float("nan")))


def _cap(n_i: int, n_t: int, max_points: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if n_i + n_t <= max_points:
        return np.arange(n_i), np.arange(n_t)
    k_i = int(np.clip(round(max_points * n_i / (n_i + n_t)), 2, max_points - 2))
    k_t = max_points - k_i
    return np.sort(rng.choice(n_i, min(k_i, n_i), replace=False)), np.sort(rng.choice(n_t, min(k_t, n_t), replace=False))


def _halves(w: np.ndarray, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[4, n] weights of one modality: random halves A, B then sample halves A, B (zeros where undefined)."""
    out = np.zeros((4, len(w)))
    live = np.flatnonzero(w > 0)
    perm = rng.permutation(live)
    a = np.zeros(len(w), dtype=bool)
    a[perm[: len(perm) // 2]] = True
    out[0], out[1] = np.where(a, w, 0.0), np.where(~a & (w > 0), w, 0.0)
    uniq, inv = np.unique(codes[live], return_inverse=True)
    if len(uniq) >= 2:
        sizes = np.bincount(inv, weights=w[live])
        in_a = np.zeros(len(w), dtype=bool)
        in_a[live] = balanced_group_mask(sizes, rng)[inv]
        out[2], out[3] = np.where(in_a, w, 0.0), np.where(~in_a & (w > 0), w, 0.0)
    return out


def bootstrap_ratio_interval(
    image, text, image_groups, text_groups, *, n_boot: int = 200, level: float = 0.95, seed: int = 0,
    sigma: float | None = None, max_points: int = 4000, dtype: torch.dtype = torch.float64,
) -> RatioInterval:
    """Ratio cross-modal / strongest intra-modal MMD² and its sample-level bootstrap interval.

    image [n_i, d], text [n_t, d]; image_groups [n_i], text_groups [n_t]: sample id per token,
    at least 2 distinct samples per modality. sigma: RBF σ (default: median heuristic on the
    pooled full data, seeded). See the module doc for the statistic, the floor and the cap.
    """
    seed = check_seed(seed)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an int >= 1, got {n_boot!r}")
    if max_points < 8:
        raise ValueError(f"max_points must be >= 8, got {max_points}")
    xi, xt = as_pair(image, text, min_rows=2)
    gi, gt = np.asarray(image_groups), np.asarray(text_groups)
    for g, t, name in ((gi, xi, "image_groups"), (gt, xt, "text_groups")):
        if g.shape != (t.shape[0],):
            raise ValueError(f"{name} must have one sample id per token, shape ({t.shape[0]},), got {g.shape}")
        if len(np.unique(g)) < 2:
            raise ValueError(f"{name} has {len(np.unique(g))} distinct sample(s); need at least 2")
    if sigma is None:
        sigma = median_bandwidth(xi, xt, seed=seed)
    rng = np.random.default_rng(seed)
    ii, it = _cap(xi.shape[0], xt.shape[0], max_points, rng)
    ni = len(ii)
    dev = xi.device
    z = torch.cat([xi[torch.as_tensor(ii, device=dev)], xt[torch.as_tensor(it, device=dev)]])  # [N, d]
    k = rbf_kernel(_sq_dists(z, z), float(sigma)).to(dtype)  # [N, N]
    uniq, codes = np.unique(np.concatenate([gi[ii], gt[it]]), return_inverse=True)  # shared ids = one sample
    ci, ct = codes[:ni], codes[ni:]

    blocks = _SampleBlocks(k, codes)
    reps, excess = [], []  # 0..POINT_SPLITS-1: the data as is, halved anew each time; then n_boot resampled replicates
    for r in range(POINT_SPLITS + n_boot):
        mult = (
            np.ones(len(uniq)) if r < POINT_SPLITS
            else np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))
        ).astype(np.float64)
        w = np.zeros((_ROWS, len(codes)))
        w[:4, :ni] = _halves(mult[ci], ci, rng)
        w[4:, ni:] = _halves(mult[ct], ct, rng)
        reps.append(w)
        excess.append((1.0 - 1.0 / np.maximum(mult, 1.0))[codes])  # 0 for samples drawn once or not at all
    stats = []
    chunk = max(1, 16_000_000 // (_ROWS * len(codes)))
    for c0 in range(0, len(reps), chunk):
        w = torch.as_tensor(np.stack(reps[c0 : c0 + chunk]), dtype=dtype, device=dev)  # [c, 8, N]
        e = torch.as_tensor(np.stack(excess[c0 : c0 + chunk]), dtype=dtype, device=dev)[:, None]  # [c, 1, N]
        img, txt = w[:, 0] + w[:, 1], w[:, 4] + w[:, 5]  # [c, N] all image / all text tokens
        pairs = torch.stack([img, w[:, 0], w[:, 2], w[:, 4], w[:, 6]], 1), torch.stack([txt, w[:, 1], w[:, 3], w[:, 5], w[:, 7]], 1)
        # [c, 5]: cross, img-rand, img-sample, txt-rand, txt-sample
        stats.append(weighted_mmd2(k, *pairs, blocks=blocks, excess=e).cpu().numpy())
    every = np.concatenate(stats).astype(np.float64)  # [POINT_SPLITS + n_boot, 5]
    with warnings.catch_warnings():  # a baseline undefined in every halving stays nan
        warnings.simplefilter("ignore", RuntimeWarning)
        point = np.nanmean(every[:POINT_SPLITS], axis=0)
    s = np.vstack([point, every[POINT_SPLITS:]])  # [1 + n_boot, 5]: the point estimate, then the replicates
    cross = s[:, 0]
    with np.errstate(invalid="ignore"):
        intra = np.where(np.isnan(s[:, 1:]).all(1), np.nan, np.nanmax(np.where(np.isnan(s[:, 1:]), -np.inf, s[:, 1:]), 1))
    floor = np.maximum(REL_FLOOR * np.abs(cross), ABS_FLOOR)
    ratio = cross / np.maximum(intra, floor)
    boot = ratio[1:][np.isfinite(ratio[1:])]
    alpha = (1.0 - level) / 2.0
    low, high = (np.quantile(boot, [alpha, 1.0 - alpha]) if len(boot) else (np.nan, np.nan))
    return RatioInterval(
        ratio=float(ratio[0]), low=float(low), high=float(high), n_boot=int(n_boot), level=float(level),
        method="percentile bootstrap over samples (groups), weighted MMD² on one kernel matrix, copies of a sample not paired",
        cross_mmd2=float(cross[0]), intra_mmd2=float(intra[0]),
        intra_image_random=float(s[0, 1]), intra_image_sample=float(s[0, 2]),
        intra_text_random=float(s[0, 3]), intra_text_sample=float(s[0, 4]),
        floored_fraction=float(np.mean(np.nan_to_num(intra[1:], nan=-np.inf) < floor[1:])), sigma=float(sigma), n_points=len(codes),
    )
