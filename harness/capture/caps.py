"""Token caps: how many tokens a capture keeps per prompt, per sample and per modality, and which.

`TokenCaps` is what `--ks-max-tokens` parses to (`parse_max_tokens`). The keep masks choose, in each
batch, the tokens the balanced and per-sample caps keep; every draw comes from a generator seeded by
(seed, sample[, modality]), so the kept tokens do not depend on the batch size. `rows_bound` is how
many tokens at most they let one capture keep, known before its first batch. Caps that leave the statistics
too few tokens end the run in one line naming the option: at start-up where the option alone shows it
(`parse_max_tokens`), else once the capture has seen the prompts (`TokenCaps.check_kept`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from harness.errors import KeyspaceError
from harness.models.labels import IMAGE, MODALITY_NAMES, TEXT

# The fewest image (and text) tokens the statistics are given: --ks-max-points and the image/text/balanced caps
# start at it. Tried on the default suite (organism-joint, fixture, seed 0): from it up every estimator and control
# runs without an error or a warning; under it they do not: at 32 a fold of the separability tier's held-out
# probe trains on one key of a sub-population (scikit-learn: "The number of samples must be more than the number
# of classes"), at 40-48 on a single key of one (scikit-learn warns "Only one sample available"), under 20 the
# synthetic-shift control loses the prompts it needs to find its shift. Hard floors lie under it: the kNN JS
# estimate needs k + 1 = 6 keys a side, the prompt-level test 2 prompts holding both modalities (FEWEST_PROMPTS).
FEWEST_TOKENS = 64
FEWEST_PROMPTS = 2  # prompts holding both image and text tokens: the prompt-level (sign-flip) test's minimum
STATISTICS_NEED = f"the statistics need at least {FEWEST_TOKENS} image and {FEWEST_TOKENS} text tokens"


@dataclass(frozen=True)
class TokenCaps:
    """Most tokens kept: per sample (None: all) and per modality over the whole bank (absent: all)."""

    per_sample: int | None = None
    per_modality: dict[str, int] = field(default_factory=dict)  # "image" / "text" / "special" → cap
    balanced: int | None = None  # about this many tokens per modality, an equal share per prompt (None: off)
    # The option's text (auto written out as balanced=N), which config ids and run info show; not compared.
    source: str = field(default="none", compare=False)
    # From the run's option (parse_max_tokens(..., floors=True)): a capture that keeps the statistics too few
    # tokens ends in one line naming it (`check_kept`); caps built in code (tests of the caps) are left alone.
    floors: bool = field(default=False, compare=False)

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

    def check_kept(self, modality: torch.Tensor, sample: torch.Tensor, dropped: dict[str, int]) -> None:
        """One-line error naming --ks-max-tokens where these caps (as the option gave them) left a capture fewer
        tokens than the statistics need: `modality`, `sample` [N] of the kept tokens, `dropped` per modality name.
        Known only once the prompts are seen: how a per-prompt cap falls on the modalities, and how many prompts
        keep both (a per-modality reservoir can leave its tokens to a few prompts)."""
        if not self.floors or not self.any:
            return
        if not dropped.get("image", 0) and not dropped.get("text", 0):  # the caps took no image or text token
            return
        kept = {name: int((modality == code).sum()) for code, name in ((IMAGE, "image"), (TEXT, "text"))}
        short = [name for name in kept if dropped.get(name, 0) and kept[name] < FEWEST_TOKENS]
        both = len(set(sample[modality == IMAGE].tolist()) & set(sample[modality == TEXT].tolist()))
        if not short and both >= FEWEST_PROMPTS:
            return
        counts = f"{kept['image']} image and {kept['text']} text tokens, both in {both} prompt(s)"
        need = f"{STATISTICS_NEED}, in at least {FEWEST_PROMPTS} prompts holding both"
        raise KeyspaceError(f"--ks-max-tokens {self.source}: the capture kept {counts}; {need}; give {self._fix(kept, short)}")

    def _fix(self, kept: dict[str, int], short: list[str]) -> str:
        """What to give instead, in words: a per-prompt cap scaled up to the floor, else a balanced share of every prompt."""
        if self.per_sample is not None and short:
            low = max(min(kept[name] for name in short), 1)
            return f"about sample={-(-self.per_sample * FEWEST_TOKENS // low)} or more, or balanced={FEWEST_TOKENS} (a share of every prompt)"
        return f"balanced={max(self.balanced or 0, FEWEST_TOKENS)} instead (an equal share of every prompt), or larger caps"

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


def parse_max_tokens(text: str, *, max_points: int | None = None, floors: bool = False) -> TokenCaps:
    """`auto` (= `balanced=<max_points>`); `none`; `N` (every modality capped at N); or any of
    `balanced=N,sample=N,image=N,text=N,special=N`. `floors` (the run's option): a cap that keeps fewer tokens
    than the statistics need is an error here, and at capture (`TokenCaps.check_kept`)."""
    text = text.strip().lower()
    if text in ("", "none"):
        return TokenCaps(source=text)
    if text == "auto":
        if max_points is None:
            raise KeyspaceError("--ks-max-tokens: auto needs --ks-max-points to size the per-prompt share")
        return TokenCaps(balanced=max_points, source=f"balanced={max_points}", floors=floors)
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
        if floors:
            _check_floor(key if eq else "", n)
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
    return TokenCaps(per_sample, per_modality, balanced, source=text, floors=floors)


def _check_floor(key: str, n: int) -> None:
    """A cap that keeps fewer image or text tokens than the statistics need ends the run at start-up. `sample`
    (per prompt, every modality) is checked on what the capture keeps (`TokenCaps.check_kept`); `special` caps
    tokens the statistics read only beside text (--ks-special-as-text), so it has no floor."""
    if key == "sample" and n < FEWEST_PROMPTS:  # one token a prompt: no prompt holds an image and a text token
        raise KeyspaceError(f"--ks-max-tokens: sample={n} keeps one token of each prompt, so no prompt holds both an image "
                            f"and a text token (the prompt-level test needs {FEWEST_PROMPTS} prompts that do); give "
                            f"sample={FEWEST_PROMPTS} or more (how many more depends on the prompts: checked at capture)")
    if key in ("sample", "special") or n >= FEWEST_TOKENS:
        return
    what = {"": "image (and text) tokens", "balanced": "tokens of each modality"}.get(key, f"{key} tokens")
    given = f"{key}={n}" if key else str(n)
    fix = f"{key}={FEWEST_TOKENS}" if key else str(FEWEST_TOKENS)
    raise KeyspaceError(f"--ks-max-tokens: {given} keeps fewer than {FEWEST_TOKENS} {what} ({STATISTICS_NEED}); "
                        f"give {fix} or more")


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
