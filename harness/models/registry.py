"""Model registry: names → where the weights come from, how to load them, which layers by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from harness.errors import KeyspaceError


@dataclass(frozen=True)
class ModelSpec:
    """What the harness needs to know about one registered model."""

    name: str  # the registry name users type, e.g. "llava-1.5-7b"
    family: str  # the adapter family, e.g. "llava"
    source: str  # hub id ("llava-hf/llava-1.5-7b-hf"), a local directory, or "tiny:<family>" for offline twins
    revision: str | None = None  # pinned hub revision (commit or tag); None for tiny twins and local paths
    num_layers: int | None = None  # decoder layers; None: read from the checkpoint's config when needed
    default_layers: tuple[str, ...] = ("first", "mid", "last")  # layer words or indices used without --ks-layers
    threshold: float = 10.0  # the ratio cross / strongest intra-modal baseline must reach this (--ks-threshold overrides)
    alpha: float = 0.01  # the permutation p-value must be under this (--ks-alpha overrides)
    max_images: int | None = None  # images the model takes per prompt; None: unlimited (--ks-multi-image for the rest)

    @property
    def is_tiny(self) -> bool:
        return self.source.startswith("tiny:")


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


def get_model_spec(name: str) -> ModelSpec:
    try:
        return _MODELS[name]()
    except KeyError:
        raise KeyspaceError(f"unknown model {name!r}; valid models: {', '.join(model_names())}") from None
