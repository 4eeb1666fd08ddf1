"""The one verdict: whether the figures of one layer show the finding. The triple check
(``harness.analysis.triple``) and the interventions' record of the triple verdict before and after
(``harness.intervention.run``) both decide here, so they cannot disagree.

The verdict is the kernel-mean tier, pre-registered in docs/statistics.md ("Tiers and the asserted
verdict"): the cross-modal between-prompt MMD² (mixture kernel) against EVERY real intra-modal split,
each bounded on its own (``harness.stats.kernel_mean``). Its outcome (``harness.stats.tiers.verdict``):

- "holds": the sign-flip p-value is under `alpha` and every real split's lower bound of
  cross / effect reaches `threshold`;
- "absent": some split's upper bound (Bonferroni over the splits) is under `threshold`;
- "undecided: no real sub-population to compare with": no label splits a modality (the by-position
  split is a figure only, never a baseline);
- "undecided: the prompt-level test does not reject at alpha": every split's lower bound reaches
  `threshold` but p ≥ alpha (the pre-registered "undecided" with its own reason);
- "undecided: intra-modal effects not bounded at this number of prompts": otherwise.

Only "holds" passes. Where the keys of a second benchmark give by-benchmark baselines, the
cross-modal MMD² must also reach `threshold` × each of them (a point check: the bounds are U-statistic
variances over one benchmark's units, and these effects pair units of two); a "holds" that misses it reads
"undecided: under threshold × a by-benchmark effect on the point (not bounded)": no upper bound is under the
threshold, so it is not "absent" (until 2026-12-05 it read "absent").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from harness.stats.gap import GapResult
from harness.stats.tiers import (ASSERTED, UNDECIDED_BY_BENCHMARK, UNDECIDED_NO_SPLIT, UNDECIDED_NOT_SIGNIFICANT,
                                 UNDECIDED_UNBOUNDED, asserted_tier, verdict as tier_outcome)
from harness.stats.kernel_mean import KernelMeanTier

__all__ = ["ASSERTED", "UNDECIDED_BY_BENCHMARK", "UNDECIDED_NO_SPLIT", "UNDECIDED_NOT_SIGNIFICANT", "UNDECIDED_UNBOUNDED", "Verdict", "decide", "decide_gap"]


@dataclass(frozen=True)
class Verdict:
    """The decision, the tier it is read from and each condition behind it."""

    outcome: str  # "holds", "absent" or an "undecided: ..." sentence
    significant: bool  # p-value < alpha
    beats_benchmarks: bool  # MMD² ≥ threshold × every by-benchmark baseline (True when there is none)
    tier: str = ASSERTED  # the tier the outcome is read from

    @property
    def passed(self) -> bool:
        """The finding holds (the only outcome that passes)."""
        return self.outcome == "holds"

    @property
    def status(self) -> str:
        """The triple's status: "passed", "undecided" or "failed"."""
        return "passed" if self.passed else ("undecided" if self.undecided else "failed")

    @property
    def undecided(self) -> bool:
        """The data cannot decide: never a pass, never a failure of the finding."""
        return self.outcome.startswith("undecided")


def decide(kernel: KernelMeanTier, *, p_value: float, threshold: float, alpha: float,
           by_benchmark: Mapping[str, float] | None = None) -> Verdict:
    """The verdict from the kernel-mean tier `kernel` (``harness.stats.tiers.asserted_tier``) and the
    sign-flip p-value of its cross-modal MMD²; `by_benchmark`: name -> between-prompt MMD² between one
    modality's keys on two benchmarks, in the tier's (mixture) kernel."""
    outcome = tier_outcome(kernel, p_value, threshold=threshold, alpha=alpha)
    beats = all(kernel.cross >= threshold * v for v in (by_benchmark or {}).values())
    if outcome == "holds" and not beats:
        outcome = UNDECIDED_BY_BENCHMARK
    return Verdict(outcome=outcome, significant=bool(p_value < alpha), beats_benchmarks=beats)


def decide_gap(gap: GapResult, *, threshold: float, alpha: float, n_boot: int, level: float, seed: int,
               by_benchmark: Mapping[str, float] | None = None) -> tuple[Verdict, KernelMeanTier]:
    """`decide` on a mixture-kernel `gap` (``cross_modal_gap(..., kernel_scales=MIXTURE_SCALES)``): its
    kernel-mean tier formed here, returned beside the verdict."""
    kernel = asserted_tier(gap, n_boot=n_boot, level=level, seed=seed)
    return decide(kernel, p_value=gap.p_value, threshold=threshold, alpha=alpha, by_benchmark=by_benchmark), kernel
