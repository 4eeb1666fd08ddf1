"""Typed results: one TripleResult per (model, layer, benchmark), stored as JSON lines.

Each finished triple is appended and flushed at once, so a crash loses only the triple in flight.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable

from harness.atomic import write_atomic
from harness.filelock import locked


@dataclass(frozen=True)
class TripleResult:
    """The verdict and every figure of one (model, layer, benchmark) triple."""

    model: str  # registry name (or hf:… spec) of the model
    layer: int  # decoder layer index (0-based)
    benchmark: str  # benchmark name, with subsets when given (e.g. "mmmu:Art")
    status: str  # "passed", "failed" or "error"
    n_image: int = 0  # image-token vectors used in the statistics (after the point cap)
    n_text: int = 0  # text-token vectors used in the statistics (after the point cap)
    mmd2: float = float("nan")  # between-prompt MMD² between image and text keys (RBF kernel, see `bandwidth`; docs/statistics.md)
    mmd: float = float("nan")  # sqrt(max(mmd2, 0))
    p_value: float = float("nan")  # prompt-level (sign-flip) p-value of mmd2, (1 + #null ≥ obs) / (1 + permutations)
    permutations: int = 0  # permutations behind p_value
    bandwidth: float = float("nan")  # RBF σ (median heuristic on the pooled sample), in key units
    space: str = "raw"  # space the statistics were computed in: raw, standardized or pca50
    intra: dict = field(default_factory=dict)  # intra-modal effect name ("image/by-category", …) → between-prompt MMD²
    ratio: float = float("nan")  # mmd2 / max(intra); the cross-modal gap in units of the strongest baseline
    threshold: float = float("nan")  # the ratio the test requires
    alpha: float = float("nan")  # the p-value the test requires to be under
    passed: bool = False  # the ratio's lower bound ≥ threshold and p_value < alpha
    seconds: float = 0.0  # wall time of the analysis of this triple (capture is timed per model/benchmark)
    counts: dict = field(default_factory=dict)  # vectors captured per modality before the cap
    config_id: str = ""  # digest of the options that shape the figures (for --ks-resume)
    samples_digest: str = ""  # digest of the sample ids used
    message: str = ""  # the failure or error message, empty on a pass
    extra: dict = field(default_factory=dict)  # further figures (JS, AUC, interval, ...) by name

    @property
    def key(self) -> tuple[str, int, str, str]:
        """Identity of the triple: model, layer, benchmark, and the control name ('' for a real triple)."""
        return (self.model, self.layer, self.benchmark, self.extra.get("control", ""))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, allow_nan=True, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict) -> "TripleResult":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def append_result(path: Path, result: TripleResult) -> None:
    """Append one JSON line and flush it to disk before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path), path.open("a", encoding="utf-8") as fh:
        fh.write(result.to_json() + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def part_path(path: Path, worker: str) -> Path:
    """Where one parallel worker appends its results before the controller merges them."""
    return path.with_name(f"{path.name}.{worker}.part")


def part_paths(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.part"))


def merge_parts(path: Path, *, keep_existing: bool) -> list[TripleResult]:
    """Fold the workers' part files into `path` (after what it holds, when kept) and remove them."""
    parts = part_paths(path)
    merged = (read_results(path) if keep_existing else []) + [r for p in parts for r in read_results(p)]
    latest = {r.key: r for r in merged}
    write_results(path, sorted(latest.values(), key=lambda r: r.key))
    for p in parts:
        p.unlink()
        p.with_name(p.name + ".lock").unlink(missing_ok=True)
    return list(latest.values())


def read_results(path: Path) -> list[TripleResult]:
    """All results in `path`; a torn last line (a crash mid-write) is skipped, later lines win per triple."""
    if not path.is_file():
        return []
    latest: dict[tuple[str, int, str, str], TripleResult] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                result = TripleResult.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError, AttributeError):
                continue
            latest[result.key] = result
    return list(latest.values())


def write_results(path: Path, results: Iterable[TripleResult]) -> None:
    """Replace `path` atomically with `results`."""
    write_atomic(path, "".join(r.to_json() + "\n" for r in results).encode("utf-8"))
