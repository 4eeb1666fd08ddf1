"""Model registry: names → where the weights come from, how to load them, which layers by default.

Names users type:
- a registered name (`llava-1.5-7b`), optionally with a revision override (`llava-1.5-7b@abc123`);
- `hf:ORG/NAME[@REVISION]`: any `AutoModelForImageTextToText` checkpoint on the hub, through the
  generic adapter;
- `hf:/path/to/dir` (or `hf:./dir`, or an existing relative folder such as `hf:fixtures/organisms/joint`):
  a local `save_pretrained` directory holding the model and its processor, through the generic adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from harness.errors import KeyspaceError

HF_PREFIX = "hf:"


@dataclass(frozen=True)
class ModelSpec:
    """What the harness needs to know about one registered model."""

    name: str  # the name users type, e.g. "llava-1.5-7b", "llava-1.5-7b@abc123", "hf:Org/Name"
    family: str  # the adapter family, e.g. "llava"; "generic" for hf: names
    source: str  # hub id ("llava-hf/llava-1.5-7b-hf"), a local directory, or "tiny:<family>" for offline twins
    # Pinned hub commit (40 hex digits) of a registered checkpoint; a user's `name@REV` may name a tag or
    # branch instead. None for tiny twins and local paths. The registered pins are the snapshots that
    # public projects record in their hub caches (README.md lists them); the key cache is keyed on it.
    revision: str | None = None
    num_layers: int | None = None  # decoder layers; None: read from the checkpoint's config when needed
    default_layers: tuple[str, ...] = ("first", "mid", "last")  # layer words or indices used without --ks-layers
    # The lower (one-sided 95 %) bound of cross-modal MMD² / strongest intra-modal MMD² must reach
    # this (--ks-threshold overrides). 1 is the minimal form of the claim: image keys differ from text
    # keys more than keys of one modality differ among themselves; the paper's "orders of magnitude"
    # is --ks-threshold 10 or more.
    threshold: float = 1.0
    alpha: float = 0.01  # the permutation p-value must be under this (--ks-alpha overrides)
    max_images: int | None = None  # images the model takes per prompt; None: unlimited (--ks-multi-image for the rest)

    @property
    def is_tiny(self) -> bool:
        return self.source.startswith("tiny:")

    @property
    def is_local(self) -> bool:
        return self.source.startswith(("/", "./", "../", "~"))


_MODELS: dict[str, Callable[[], ModelSpec]] = {}


def register_model(name: str) -> Callable[[Callable[[], ModelSpec]], Callable[[], ModelSpec]]:
    """Register a factory returning the ModelSpec of `name` (one decorator per model)."""

    def wrap(factory: Callable[[], ModelSpec]) -> Callable[[], ModelSpec]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name] = factory
        return factory

    return wrap


def model_names() -> list[str]:
    return sorted(_MODELS)


def _hf_spec(name: str) -> ModelSpec:
    target = name[len(HF_PREFIX) :].strip()
    from pathlib import Path

    if target.startswith(("/", "./", "../", "~")) or Path(target).is_dir():  # an existing relative folder is local too
        path = Path(target).expanduser()
        if not path.is_dir():
            raise KeyspaceError(f"--ks-models: {name!r}: no directory {path}; give a save_pretrained directory or hf:ORG/NAME")
        return ModelSpec(name=name, family="generic", source=str(path.resolve()), default_layers=("first", "mid", "last"))
    repo, _, revision = target.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise KeyspaceError(f"--ks-models: {name!r} is not a hub id; use hf:ORG/NAME[@REVISION] or hf:/path/to/dir")
    return ModelSpec(name=name, family="generic", source=repo, revision=revision or None)


def get_model_spec(name: str) -> ModelSpec:
    """The spec of a registered name (with an optional `@REVISION`) or of an `hf:` name."""
    if name.startswith(HF_PREFIX):
        return _hf_spec(name)
    base, at, revision = name.partition("@")
    try:
        spec = _MODELS[base]()
    except KeyError:
        raise KeyspaceError(
            f"unknown model {base!r}; valid models: {', '.join(model_names())}, or hf:ORG/NAME[@REV], hf:/path/to/dir"
        ) from None
    if at:
        if not revision:
            raise KeyspaceError(f"--ks-models: {name!r} has an empty revision after '@'; give a commit or tag")
        if spec.is_tiny:
            raise KeyspaceError(f"--ks-models: {base} is built offline and has no revisions; drop '@{revision}'")
        spec = replace(spec, name=name, revision=revision)
    return spec
