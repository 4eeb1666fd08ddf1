"""The interventions and how each is fitted from the keys of the fitting half of the prompts.

Each one is a per-KV-head affine map (harness.stats.recolour) applied to the pre-RoPE keys
(k_proj outputs) of the tokens of one modality at one layer:

- `mean`: image keys shifted by mean(text keys) − mean(image keys);
- `moments`: image keys whitened and recoloured with the text keys' mean and (shrunk) covariance;
- `random` (control): image keys shifted by a random direction with the norm of `mean`'s shift, per head;
- `text-mean`, `text-moments` (controls): the same two maps applied to text keys, toward the image statistics.

The prompts are split once, by a seeded permutation of whole units (a prompt, or the prompts that
share an image: harness.analysis.selection.sample_strata), into a fitting half (the maps are fitted on its
keys) and a held-out half (every figure is measured on it), so no prompt is both fitted and measured,
and no image is either: the English and Chinese prompts of one fixture image share its image
tokens, and fitting on one while measuring the other would fit on the measured image keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence, TypeVar

import numpy as np

from harness.capture.keys import LayerBank
from harness.errors import KeyspaceError
from harness.models.labels import IMAGE, TEXT
from harness.stats.recolour import FLOOR, AffineMap, fit_error, fit_mean, fit_moments, random_shift


@dataclass(frozen=True)
class Kind:
    name: str
    modality: int  # the tokens whose keys are changed (harness.models.labels code)
    how: str  # "mean", "moments" or "random"
    control: bool
    description: str


KINDS = {
    k.name: k
    for k in (
        Kind("mean", IMAGE, "mean", False, "image keys shifted by the text mean − image mean"),
        Kind("moments", IMAGE, "moments", False, "image keys whitened and recoloured with the text mean and covariance"),
        Kind("random", IMAGE, "random", True, "image keys shifted by a random direction of the same norm as `mean`'s shift"),
        Kind("text-mean", TEXT, "mean", True, "text keys shifted by the image mean − text mean"),
        Kind("text-moments", TEXT, "moments", True, "text keys whitened and recoloured with the image mean and covariance"),
    )
}
DEFAULT = tuple(KINDS)


@dataclass(frozen=True)
class Intervention:
    kind: Kind
    layer: int
    map: AffineMap  # acts on the [kv_heads · head_dim] pre-RoPE key of each token of kind.modality
    # on the fitting half: how far the mapped keys' moments are from the target's (harness.stats.recolour.fit_error);
    # {} for the random control, which matches nothing
    fit_error: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.kind.name


def parse_kinds(text: str) -> tuple[str, ...]:
    """`all` or comma-separated names from KINDS, in the order given."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words or words == ["all"]:
        return DEFAULT
    unknown = [w for w in words if w not in KINDS]
    if unknown:
        raise KeyspaceError(f"--ks-intervene: unknown intervention {unknown[0]!r}; use all or some of {', '.join(KINDS)}")
    return tuple(dict.fromkeys(words))


T = TypeVar("T")


def split_prompts(samples: Sequence[T], *, seed: int, units: Sequence[str] | None = None) -> tuple[list[T], list[T]]:
    """(fitting half, held-out half) by a seeded permutation of whole units, ⌊U/2⌋ and ⌈U/2⌉ of the U
    units; `units[i]` names the unit of `samples[i]` (default: every prompt its own). Each half keeps
    the samples' order."""
    unit = list(range(len(samples))) if units is None else list(units)
    if len(unit) != len(samples):
        raise KeyspaceError(f"split_prompts: {len(unit)} unit names for {len(samples)} prompts; give one per prompt")
    names, code = np.unique(np.asarray(unit, dtype=str), return_inverse=True)
    if len(names) < 4:
        raise KeyspaceError(
            f"interventions need at least 4 units (prompts, or prompts sharing an image: 2 to fit, 2 to measure), "
            f"got {len(names)} from {len(samples)} prompts"
        )
    order = np.random.default_rng([seed, 1618]).permutation(len(names))
    fit_units = set(order[: len(names) // 2].tolist())
    fit = [s for s, c in zip(samples, code.ravel()) if c in fit_units]
    held = [s for s, c in zip(samples, code.ravel()) if c not in fit_units]
    return fit, held


def fit_interventions(bank: LayerBank, layer: int, heads: int, names: Sequence[str], *,
                      shrinkage: str = "ledoit-wolf", seed: int = 0) -> dict[str, Intervention]:
    """The interventions `names` at `layer`, fitted on `bank` (the pre-RoPE keys of the fitting half)."""
    image, text = bank.select(IMAGE).vectors.double().numpy(), bank.select(TEXT).vectors.double().numpy()
    for x, what in ((image, "image"), (text, "text")):
        if len(x) < 2:
            raise KeyspaceError(f"layer {layer}: the fitting half has {len(x)} {what} key(s); need at least 2 to fit an intervention")
    def make(kind: Kind) -> Intervention:
        source, target = (image, text) if kind.modality == IMAGE else (text, image)
        if kind.how == "random":
            return Intervention(kind, layer, random_shift(fit_mean(source, target, heads), seed=seed + 7 * layer))
        if kind.how == "mean":
            m = fit_mean(source, target, heads)
            return Intervention(kind, layer, m, fit_error(m, source, target, heads, shrinkage=None))
        m = fit_moments(source, target, heads, shrinkage=shrinkage)
        return Intervention(kind, layer, m, fit_error(m, source, target, heads, shrinkage=shrinkage))

    return {name: make(KINDS[name]) for name in names}


def singular_source(ivs: Sequence[Intervention], layer: int) -> str | None:
    """Why a `moments`-kind map cannot do what it says, in one line, else None: on some fold's fitting half the source
    keys of a head span fewer dimensions than the head has (`AffineMap.source_rank`: eigenvalues above
    recolour.FLOOR × the largest), so no linear map gives them the target's covariance. Its record would otherwise
    read as a map that missed its own fit (a harness fault) where the keys themselves make the map impossible."""
    for fold, iv in enumerate(ivs):
        for head, rank in enumerate(iv.map.source_rank):
            if rank < iv.map.head_dim:
                source, target = ("image", "text") if iv.kind.modality == IMAGE else ("text", "image")
                return (f"intervention {iv.name} at layer {layer}: on fitting half {fold + 1} of {len(ivs)} the {source} keys of KV "
                        f"head {head} span {rank} of its {iv.map.head_dim} dimensions (covariance eigenvalues above "
                        f"{FLOOR:g} of the largest), so no linear map gives them the {target} keys' covariance and "
                        f"`{iv.name}` cannot do what it says on these keys (the shift maps are unaffected)")
    return None
