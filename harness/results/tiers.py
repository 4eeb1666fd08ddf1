"""Typed sub-record of a TripleResult for the tiers of the claim (kept in `extra["tiers"]`), read back tolerantly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TierFigures:
    """Every tier of the claim at one triple (harness.analysis.tiers.tiers_record; docs/statistics.md
    "Tiers and the asserted verdict"), each figure with its interval over units."""

    asserted: str  # the tier the verdict is read from ("kernel mean")
    verdict: str  # its outcome: "holds", "absent" or "undecided: ..." (the triple's verdict)
    tiers: dict  # tier name ("paper form", "separability", "out of support", "kernel mean") -> its figures
    level: float | None = None  # two-sided coverage of every interval (None: not recorded)

    def to_dict(self) -> dict:
        """The record as harness.analysis.tiers.tiers_record writes it (the level after the kernel-mean tier)."""
        out: dict = {"asserted": self.asserted, "verdict": self.verdict}
        for name, figures in self.tiers.items():
            out[name] = figures
            if name == "kernel mean" and self.level is not None:
                out["level"] = self.level
        if self.level is not None:
            out.setdefault("level", self.level)
        return out

    @classmethod
    def from_dict(cls, d) -> "TierFigures | None":
        """The tiers when the verdict and the asserted tier's figures are there, else None (results
        written before the tiers were computed, or a damaged record)."""
        if not isinstance(d, dict) or not isinstance(d.get("verdict"), str) or not isinstance(d.get("kernel mean"), dict):
            return None
        level = d.get("level")
        return cls(str(d.get("asserted") or "kernel mean"), d["verdict"], {k: v for k, v in d.items() if isinstance(v, dict)},
                   level if isinstance(level, (int, float)) and not isinstance(level, bool) else None)


# What the report needs to read the tiers, kept here (no torch) so that rendering a report loads no model
# library; the outcome sentences are harness.stats.tiers' (a test checks they agree).
ASSERTED = "kernel mean"  # the tier the verdict is decided by (docs/statistics.md, pre-registered)
SHORT = {"undecided: no real sub-population to compare with": "undecided (no real sub-population)",  # the outcomes as a table cell says them
         "undecided: intra-modal effects not bounded at this number of prompts": "undecided (intra-modal effects not bounded)",
         "undecided: the prompt-level test does not reject at alpha": "undecided (test not significant)",
         "undecided: under threshold × a by-benchmark effect on the point (not bounded)": "undecided (by-benchmark effect, on the point)"}
ORDER = ("paper form", "separability", "out of support", "kernel mean")


def tier_claim(name: str, tier: dict) -> bool | None:
    """Whether a tier's own claim is met on its figures (None: no figure). Paper form: its ratio's
    lower bound > 1 (shown, never evidence); separability and out of support: cross exceeds every
    real split (lower bound of the difference > 0); kernel mean: the verdict holds."""
    if not tier:
        return None
    if name == "paper form":
        return tier["low"] > 1.0
    if name in ("separability", "out of support"):
        return bool(tier["splits"]) and tier["delta_low"] > 0.0
    return None
