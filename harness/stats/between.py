"""Between-prompt MMD² and its prompt-level sign-flip test, from one kernel matrix.

Tokens of one prompt share its content, template and image, so they are dependent; the prompt (more
generally the *unit*: prompts that share an image form one unit) is the independent draw. Every
statistic here pairs tokens of DIFFERENT units only, and weights every unit equally:

    μ_u^A = mean kernel embedding of unit u's tokens on side A (e.g. its image tokens)
    MMD²_bp(A, B) = mean_{u≠u'} ⟨μ_u^A, μ_u'^A⟩ + mean_{u≠u'} ⟨μ_u^B, μ_u'^B⟩ − 2 mean_{u≠u'} ⟨μ_u^A, μ_u'^B⟩

(each mean over the ordered pairs of distinct units that hold the sides named). With units drawn
independently from a population, each term is an unbiased estimate of the same inner product between
the population's mean embeddings, so E[MMD²_bp] = MMD²(P_A, P_B) exactly, at any number of units and
any number of tokens per unit, where P_A is the law of a side-A token drawn by picking a unit at random
and then one of its tokens at random. Same-unit pairs are left out of the cross term too: an image
and a text token of one prompt share that prompt's offset, so their kernel mean is not ⟨μ_A, μ_B⟩.

Everything follows from one matrix of kernel SUMS over token cells (`CellGram`, [C, C], built from
the pooled kernel in row blocks, O(N²) work): a statistic reads per-unit mean Grams from it.

Test: when every unit holds both sides, MMD²_bp = (εᵀHε − tr H) / (U(U−1)) at ε = 1, with
H = G^AA + G^BB − G^AB − G^BAᵀ and D_u = μ_u^A − μ_u^B. Swapping the A and B labels of unit u flips
the sign of D_u. Under the null of equal marginal laws E[D_u] = 0 and the statistic is a degenerate
U-statistic of independent D_u; random sign flips of whole units (a block swap per prompt) reproduce
its null law: exactly when D_u is symmetric, and asymptotically in U otherwise (the wild bootstrap
of degenerate U-statistics; Leucht & Neumann 2013, Chwialkowski et al. 2014). The bandwidth comes
from the pooled sample, which no swap changes. p = (1 + #{null ≥ observed}) / (1 + permutations).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from .kernels import _sq_dists, rbf_kernel

DEFAULT_MAX_KERNEL_ELEMENTS = 64_000_000  # 64e6 float64 = 512 MB for one kernel row block


class CellGram:
    """Sums of the kernel over pairs of token cells: sums[a, b] = Σ_{i∈a, j∈b} k(z_i, z_j).

    z [N, d] pooled vectors; cells [N] int codes in [0, n_cells). Same-token pairs sit in the
    diagonal cells; no statistic here reads a diagonal unit block, so they never count.
    `sq_dists` [N, N]: the pooled squared distances, when already computed (``kernels.pooled_sq_dists``).
    Everything runs on z's device; only the [C, C] sums come back to the host."""

    def __init__(self, z: torch.Tensor, cells: np.ndarray, n_cells: int, sigma, *,
                 max_kernel_elements: int = DEFAULT_MAX_KERNEL_ELEMENTS, dtype: torch.dtype = torch.float64,
                 sq_dists: torch.Tensor | None = None, per_scale: bool = False):
        """`per_scale` (with a sequence of σ, a mixture): also keep each RBF's own sums (``scale_sums``
        [S, C, C], ``at_scale``); the mixture's sums are the same numbers either way."""
        N = z.shape[0]
        codes = torch.as_tensor(np.asarray(cells, dtype=np.int64), device=z.device)
        sums = torch.zeros(n_cells, n_cells, dtype=dtype, device=z.device)  # [C, C]
        widths = [float(sigma)] if isinstance(sigma, (int, float)) else [float(s) for s in sigma]
        per_scale = per_scale and len(widths) > 1
        scale_sums = torch.zeros(len(widths), n_cells, n_cells, dtype=dtype, device=z.device) if per_scale else None

        def add(into: torch.Tensor, kb: torch.Tensor, i0: int, i1: int, exact: bool = True) -> None:
            # exact: each row's cell sums in `dtype` (float64); else in the kernel's own dtype, then `dtype` across
            # rows: a cell of one row holds tens of tokens, so its float32 sum is as exact as its float32 values
            # (the single-σ readings' sums; relative error ~1e-7, far below any figure's spread), at a fifth the cost
            work = dtype if exact else kb.dtype
            by_cell = torch.zeros(i1 - i0, n_cells, dtype=work, device=z.device).index_add_(1, codes, kb.to(work))  # [b, C]
            into.index_add_(0, codes[i0:i1], by_cell.to(dtype))

        rows = max(1, min(N, max_kernel_elements // max(N, 1)))
        for i0 in range(0, N, rows):
            i1 = min(N, i0 + rows)
            d2 = _sq_dists(z[i0:i1], z) if sq_dists is None else sq_dists[i0:i1]  # [b, N]
            if per_scale:  # each RBF's sums on the way, the mixture by rbf_kernel's own operations (the same values)
                kb = rbf_kernel(d2, widths[0])
                add(scale_sums[0], kb, i0, i1, exact=False)
                for j, s in enumerate(widths[1:], 1):
                    one = rbf_kernel(d2, s)
                    add(scale_sums[j], one, i0, i1, exact=False)
                    kb += one
                kb /= len(widths)
            else:
                kb = rbf_kernel(d2, sigma)  # [b, N]
            add(sums, kb, i0, i1)
        self.sums = sums.cpu().numpy()  # [C, C] float64
        self.scale_sums = None if scale_sums is None else scale_sums.cpu().numpy()  # [S, C, C] or None
        self.counts = np.bincount(np.asarray(cells, dtype=np.int64), minlength=n_cells).astype(np.float64)  # [C]

    def at_scale(self, j: int) -> "CellGram":
        """The same cells' sums under the j-th RBF of the mixture alone (needs ``per_scale``)."""
        if self.scale_sums is None:
            raise ValueError("this CellGram kept no per-scale sums (build it with per_scale=True and several σ)")
        out = copy.copy(self)
        out.sums, out.scale_sums = self.scale_sums[j], None
        return out

    def side(self, unit_of_cell: np.ndarray, chosen: np.ndarray, n_units: int) -> tuple[np.ndarray, np.ndarray]:
        """[U, c] 0/1 matrix over the chosen non-empty cells (c of them, their indices in ``.cells``):
        row u marks the cells of unit u (one side of a comparison)."""
        cells = np.flatnonzero(chosen & (self.counts > 0))
        out = np.zeros((n_units, len(cells)))
        out[unit_of_cell[cells], np.arange(len(cells))] = 1.0
        return cells, out

    def mean_gram(self, a, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(g [U, U'], n_a [U], n_b [U']) for sides a, b from ``side``: g[u, v] = ⟨μ_u^a, μ_v^b⟩ (0 where a side is empty)."""
        (ca, a), (cb, b) = a, b
        n_a, n_b = a @ self.counts[ca], b @ self.counts[cb]
        with np.errstate(invalid="ignore", divide="ignore"):
            g = (a @ self.sums[np.ix_(ca, cb)] @ b.T) / np.outer(n_a, n_b)
        return np.nan_to_num(g), n_a, n_b


def _pair_mean(g: np.ndarray, wa: np.ndarray, wb: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Σ_{u≠v} wa_u wb_v g_uv / Σ_{u≠v} wa_u wb_v for weights wa, wb [R, U] -> [R] (nan: no pair);
    with `mask` [U, U] (0 on the diagonal), the sums run over the pairs it marks, weighted by it."""
    if mask is None:
        num = ((wa @ g) * wb).sum(-1) - (wa * wb * np.diagonal(g)).sum(-1)
        den = wa.sum(-1) * wb.sum(-1) - (wa * wb).sum(-1)
    else:
        num = ((wa @ (g * mask)) * wb).sum(-1)
        den = ((wa @ mask) * wb).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def block_mask(blocks: np.ndarray) -> np.ndarray:
    """[U, U] 1.0 for pairs of distinct units in the same block (blocks [U]: a block id per unit)."""
    b = np.asarray(blocks)
    return ((b[:, None] == b[None, :]) & ~np.eye(len(b), dtype=bool)).astype(np.float64)


@dataclass(frozen=True)
class Comparison:
    """Two sides (A, B) over the same U units, as per-unit mean Grams; see the module doc."""

    g_aa: np.ndarray  # [U, U] ⟨μ_u^A, μ_v^A⟩
    g_bb: np.ndarray  # [U, U] ⟨μ_u^B, μ_v^B⟩
    g_ab: np.ndarray  # [U, U] ⟨μ_u^A, μ_v^B⟩
    has_a: np.ndarray  # [U] 1.0 where unit u holds side-A tokens
    has_b: np.ndarray  # [U] 1.0 where unit u holds side-B tokens
    # [U, U] pairs of units that count (``block_mask``: only units of one block are paired, e.g. the
    # measured half of one cross-fitting fold); None: every pair of distinct units
    mask: np.ndarray | None = None
    n_a: np.ndarray | None = None  # [U] side-A tokens of each unit (token-level figures weight by them)
    n_b: np.ndarray | None = None  # [U] side-B tokens of each unit

    @classmethod
    def build(cls, gram: CellGram, unit_of_cell: np.ndarray, a_cells: np.ndarray, b_cells: np.ndarray,
              n_units: int, *, paired: bool = False, mask: np.ndarray | None = None) -> "Comparison":
        """`paired`: keep only units holding both sides (what the sign-flip test needs); `mask`: see the field."""
        a, b = gram.side(unit_of_cell, a_cells, n_units), gram.side(unit_of_cell, b_cells, n_units)
        g_aa, n_a, _ = gram.mean_gram(a, a)
        g_bb, n_b, _ = gram.mean_gram(b, b)
        g_ab, _, _ = gram.mean_gram(a, b)
        has_a, has_b = (n_a > 0).astype(float), (n_b > 0).astype(float)
        if paired:
            has_a = has_b = has_a * has_b
        return cls(g_aa, g_bb, g_ab, has_a, has_b, mask, n_a * has_a, n_b * has_b)

    def mmd2(self, m: np.ndarray | None = None) -> np.ndarray:
        """MMD²_bp for unit multiplicities m [R, U] (default: every unit once) -> [R].

        A unit drawn k times weighs k; pairs between copies of one unit are left out like pairs
        within it, so each replicate is the data's own statistic on its drawn units."""
        m = np.ones((1, len(self.has_a))) if m is None else np.atleast_2d(m)
        wa, wb, k = m * self.has_a, m * self.has_b, self.mask
        return _pair_mean(self.g_aa, wa, wa, k) + _pair_mean(self.g_bb, wb, wb, k) - 2.0 * _pair_mean(self.g_ab, wa, wb, k)

    def units(self, side: str = "both") -> int:
        return int((self.has_a * self.has_b).sum()) if side == "both" else int(getattr(self, f"has_{side}").sum())


def sign_flip_test(cmp: Comparison, *, permutations: int, seed: int) -> tuple[float, np.ndarray]:
    """(observed MMD²_bp, null [P]) over units holding both sides; each null draw flips the sides of
    every unit with probability 1/2 (a CPU generator seeded by `seed`)."""
    keep = np.flatnonzero(cmp.has_a * cmp.has_b)
    U = len(keep)
    if U < 2:
        raise ValueError(f"the prompt-level test needs at least 2 prompts holding both sides, got {U}")
    ix = np.ix_(keep, keep)
    h = cmp.g_aa[ix] + cmp.g_bb[ix] - cmp.g_ab[ix] - cmp.g_ab[ix].T  # [U, U] ⟨D_u, D_v⟩
    g = torch.Generator().manual_seed(int(seed))
    eps = (torch.randint(0, 2, (permutations, U), generator=g).double() * 2.0 - 1.0).numpy()  # [P, U]
    if cmp.mask is None:
        tr, norm = float(np.trace(h)), U * (U - 1.0)
    else:  # pairs within blocks only: ε is 1 on the data, and the mask has no diagonal
        h, tr = h * cmp.mask[ix], 0.0
        norm = float(cmp.mask[ix].sum())
        if norm == 0:
            raise ValueError("the prompt-level test needs two units holding both sides in one block")
    observed = (float(h.sum()) - tr) / norm
    null = (((eps @ h) * eps).sum(1) - tr) / norm
    return observed, null


def unit_comparison(x, x_units, y, y_units, *, sigma: float | tuple[float, ...], paired: bool = False, blocks: dict | None = None,
                    dtype: torch.dtype = torch.float64) -> tuple[Comparison, np.ndarray]:
    """(Comparison of x [n, d] vs y [m, d], unit names in its order) with unit ids per row; rows of x
    and y with the same unit id are one unit (their pairs are left out like pairs within a side's unit).
    `paired`: only units holding both x and y rows count (as the sign-flip test and cross_modal_gap's
    cross-modal effect); `blocks`: unit id -> block, only pairs of units in one block count (``block_mask``)."""
    xu, yu = np.asarray(x_units), np.asarray(y_units)
    z = torch.cat([torch.as_tensor(x), torch.as_tensor(y)]).to(dtype)
    names, unit = np.unique(np.concatenate([xu, yu]), return_inverse=True)
    side = np.r_[np.zeros(len(xu), np.int64), np.ones(len(yu), np.int64)]
    cell = unit.ravel() * 2 + side
    widths = float(sigma) if isinstance(sigma, (int, float)) else tuple(float(s) for s in sigma)  # one RBF or a mixture
    gram = CellGram(z, cell, 2 * len(names), widths, dtype=dtype)
    cells = np.arange(len(gram.counts))
    mask = None if blocks is None else block_mask(np.array([blocks[n] for n in names]))
    return Comparison.build(gram, cells // 2, cells % 2 == 0, cells % 2 == 1, len(names), paired=paired, mask=mask), names


def between_prompt_mmd2(x, x_units, y, y_units, *, sigma: float | tuple[float, ...], dtype: torch.dtype = torch.float64) -> float:
    """Between-prompt MMD² of x [n, d] vs y [m, d] with unit ids per row (see ``unit_comparison``); `sigma`:
    the RBF σ, or the σ of each RBF of a mixture kernel (their mean, as ``kernels.mixture_sigmas``)."""
    return float(unit_comparison(x, x_units, y, y_units, sigma=sigma, dtype=dtype)[0].mmd2()[0])
