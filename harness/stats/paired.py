"""Before/after effects over prompts, with a paired percentile bootstrap that resamples prompts.

One figure per prompt before and after an intervention (the same prompts both times), optionally
with a weight per prompt (e.g. the text-query × head pairs behind a prompt's attention share): the
population figure is the weighted mean Σ w v / Σ w over prompts, and the change is after − before.
A replicate draws prompts with replacement and recomputes all three with the same draw, so the
change's interval accounts for the pairing. Prompts where either figure is not finite (or whose
weight is 0) are left out of both sides. The unit of uncertainty is the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_seed


@dataclass(frozen=True)
class Effect:
    before: float  # weighted mean over prompts before the intervention
    after: float  # the same after it
    change: float  # after − before
    before_low: float  # percentile bootstrap interval at `level` of each figure
    before_high: float
    after_low: float
    after_high: float
    change_low: float
    change_high: float
    n_prompts: int  # prompts with both figures finite
    level: float  # two-sided coverage of each interval
    n_boot: int

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def paired_effect(before, after, weights=None, *, n_boot: int = 1000, level: float = 0.90, seed: int = 0) -> Effect:
    """Effect of one intervention on one per-prompt figure (module doc); before, after, weights [P]."""
    seed = check_seed(seed)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an int >= 1, got {n_boot!r}")
    b, a = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    w = np.ones_like(b) if weights is None else np.asarray(weights, dtype=np.float64)
    if b.ndim != 1 or a.shape != b.shape or w.shape != b.shape:
        raise ValueError(f"before, after and weights must be 1-D of one length, got {b.shape}, {a.shape}, {w.shape}")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    keep = np.isfinite(b) & np.isfinite(a) & (w > 0)
    b, a, w = b[keep], a[keep], w[keep]
    nan = float("nan")
    if not len(b):
        return Effect(nan, nan, nan, nan, nan, nan, nan, nan, nan, 0, float(level), int(n_boot))
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(b), np.full(len(b), 1.0 / len(b)), size=n_boot).astype(np.float64)  # [n_boot, P]
    cw = counts * w  # [n_boot, P]
    rep_b, rep_a = cw @ b / cw.sum(1), cw @ a / cw.sum(1)
    q = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    lo_hi = [np.quantile(r, q) for r in (rep_b, rep_a, rep_a - rep_b)]
    pb, pa = float(w @ b / w.sum()), float(w @ a / w.sum())
    return Effect(
        before=pb, after=pa, change=pa - pb,
        before_low=float(lo_hi[0][0]), before_high=float(lo_hi[0][1]),
        after_low=float(lo_hi[1][0]), after_high=float(lo_hi[1][1]),
        change_low=float(lo_hi[2][0]), change_high=float(lo_hi[2][1]),
        n_prompts=int(len(b)), level=float(level), n_boot=int(n_boot),
    )
