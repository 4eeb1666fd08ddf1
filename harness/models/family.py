"""Family registry: adapter classes by family name."""

from __future__ import annotations

from typing import Callable

from .adapter import ModelAdapter

_FAMILIES: dict[str, type[ModelAdapter]] = {"generic": ModelAdapter}


def register_family(name: str) -> Callable[[type[ModelAdapter]], type[ModelAdapter]]:
    def wrap(cls: type[ModelAdapter]) -> type[ModelAdapter]:
        _FAMILIES[name] = cls
        return cls

    return wrap


def adapter_for(family: str) -> ModelAdapter:
    return _FAMILIES[family]()
