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

    def as_dict(self) -> dict:
        return {"asserted": self.asserted, "verdict": self.verdict, **self.tiers}

    @classmethod
    def read(cls, d) -> "TierFigures | None":
        """The tiers when the verdict and the asserted tier's figures are there, else None (results
        written before the tiers were computed)."""
        if not isinstance(d, dict) or not isinstance(d.get("verdict"), str) or not isinstance(d.get("kernel mean"), dict):
            return None
        return cls(str(d.get("asserted") or "kernel mean"), d["verdict"], {k: v for k, v in d.items() if isinstance(v, dict)})
