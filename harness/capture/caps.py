"""Token caps: how many tokens a capture keeps per prompt, per sample and per modality, and which.

`TokenCaps` is what `--ks-max-tokens` parses to (`parse_max_tokens`). The keep masks choose, in each
batch, the tokens the balanced and per-sample caps keep; every draw comes from a generator seeded by
(seed, sample[, modality]), so the kept tokens do not depend on the batch size. `rows_bound` is how
many tokens at most they let one capture keep, known before its first batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from harness.errors import KeyspaceError
from harness.models.labels import MODALITY_NAMES


@dataclass(frozen=True)
class TokenCaps:
    """Most tokens kept: per sample (None: all) and per modality over the whole bank (absent: all)."""

    per_sample: int | None = None
    per_modality: dict[str, int] = field(default_factory=dict)  # "image" / "text" / "special" → cap
    balanced: int | None = None  # about this many tokens per modality, an equal share per prompt (None: off)
    # The option's text (auto written out as balanced=N), which config ids and run info show; not compared.
    source: str = field(default="none", compare=False)

    @property
    def any(self) -> bool:
        return self.per_sample is not None or bool(self.per_modality) or self.balanced is not None

    def per_prompt(self, prompts: int) -> int | None:
        """Tokens of each modality one prompt keeps under `balanced` (None: all)."""
        return None if self.balanced is None else -(-self.balanced // max(prompts, 1))

    def rows_bound(self, prompts: int, modalities: int) -> int | None:
        """The most tokens of `modalities` modalities that `prompts` prompts keep under the balanced and
        per-sample caps (None: no cap bounds them). Exact where every prompt has at least its share of each."""
        per_prompt = [n for n in (self.per_sample,) if n is not None]
        if self.balanced is not None:
            per_prompt.append(self.per_prompt(prompts) * modalities)
        return min(per_prompt) * prompts if per_prompt else None

    def describe(self, prompts: int, seed: int) -> dict:
        """The caps as recorded with the bank and in each result ({} when every token is kept)."""
        if not self.any:
            return {}
        out: dict = {"seed": seed}
        if self.balanced is not None:
            out["balanced"] = {"per_modality": self.balanced, "prompts": prompts, "per_prompt": self.per_prompt(prompts)}
        if self.per_sample is not None:
            out["per_sample"] = self.per_sample
        if self.per_modality:
            out["per_modality"] = dict(self.per_modality)
        return out


def parse_max_tokens(text: str, *, max_points: int | None = None) -> TokenCaps:
    """`auto` (= `balanced=<max_points>`); `none`; `N` (every modality capped at N); or any of
    `balanced=N,sample=N,image=N,text=N,special=N`."""
    text = text.strip().lower()
    if text in ("", "none"):
        return TokenCaps(source=text)
    if text == "auto":
        if max_points is None:
            raise KeyspaceError("--ks-max-tokens: auto needs --ks-max-points to size the per-prompt share")
        return TokenCaps(balanced=max_points, source=f"balanced={max_points}")
    usage = "use auto, none, N, or balanced=N,sample=N,image=N,text=N,special=N"
    per_sample, balanced, per_modality = None, None, {}
    for part in text.split(","):
        key, eq, value = part.strip().rpartition("=")
        try:
            n = int(value)
        except ValueError:
            raise KeyspaceError(f"--ks-max-tokens: {value!r} is not a whole number; {usage}") from None
        if n < 1:
            raise KeyspaceError(f"--ks-max-tokens: {part.strip()!r} must be at least 1; {usage}")
        if not eq:
            per_modality.update({name: n for name in MODALITY_NAMES.values()})
        elif key == "sample":
            per_sample = n
        elif key == "balanced":
            balanced = n
        elif key in MODALITY_NAMES.values():
            per_modality[key] = n
        else:
            raise KeyspaceError(f"--ks-max-tokens: unknown cap {key!r}; {usage}")
    return TokenCaps(per_sample, per_modality, balanced, source=text)


def share(n: int, cap: int, seed: int, sample: int, code: int) -> np.ndarray:
    """Which of a prompt's `n` tokens of one modality (in position order) it keeps: all, or a sorted
    uniform choice of `cap` drawn by a (seed, sample, modality) generator."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 15485863, sample, code]).choice(n, size=cap, replace=False))


def balanced_keep(keep: torch.Tensor, labels: torch.Tensor, cap: int | None, first_sample: int, seed: int) -> torch.Tensor:
    """`keep` ([B, T] bool) with each row keeping at most `cap` tokens of each modality (`share`)."""
    if cap is None:
        return keep
    out = torch.zeros_like(keep)
    for row in range(keep.shape[0]):
        for code in MODALITY_NAMES:
            where = (keep[row] & (labels[row] == code)).nonzero().squeeze(1)
            out[row, where[torch.from_numpy(share(len(where), cap, seed, first_sample + row, code))]] = True
    return out


def per_sample_keep(keep: torch.Tensor, cap: int | None, first_sample: int, seed: int) -> torch.Tensor:
    """`keep` ([B, T] bool) with each row cut to at most `cap` tokens, chosen by a (seed, sample) generator."""
    if cap is None:
        return keep
    keep = keep.clone()
    for row in range(keep.shape[0]):
        where = keep[row].nonzero().squeeze(1)
        if len(where) > cap:
            rng = np.random.default_rng([seed, 104729, first_sample + row])
            chosen = torch.from_numpy(np.sort(rng.choice(len(where), size=cap, replace=False)))
            keep[row] = False
            keep[row, where[chosen]] = True
    return keep
