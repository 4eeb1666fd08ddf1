"""Layer selection: indices, negative indices, and the words first, mid, last, all."""

from __future__ import annotations

from typing import Sequence

from harness.errors import KeyspaceError

WORDS = ("first", "mid", "last", "all")


def resolve_layers(tokens: Sequence[str], num_layers: int, *, model: str, option: str = "--ks-layers") -> list[int]:
    """Sorted unique layer indices for `tokens`, or a one-line error naming `option` and the valid range."""
    chosen: set[int] = set()
    for raw in tokens:
        token = raw.strip().lower()
        if token == "all":
            chosen.update(range(num_layers))
        elif token == "first":
            chosen.add(0)
        elif token == "mid":
            chosen.add(num_layers // 2)
        elif token == "last":
            chosen.add(num_layers - 1)
        else:
            try:
                index = int(token)
            except ValueError:
                raise KeyspaceError(
                    f"{option}: {raw!r} is not a layer; use integers (negative counts from the end) or {', '.join(WORDS)}"
                ) from None
            if not -num_layers <= index < num_layers:
                raise KeyspaceError(
                    f"{option}: layer {index} is outside {model}'s range 0..{num_layers - 1} (or -{num_layers}..-1)"
                )
            chosen.add(index % num_layers)
    if not chosen:
        raise KeyspaceError(f"{option}: no layer given; use e.g. '0,mid,-1' or 'all'")
    return sorted(chosen)


def checked_indices(layers: Sequence[int], num_layers: int, *, model: str, what: str) -> list[int]:
    """Sorted unique `layers`, or a one-line error when none is given or one is out of range."""
    chosen = sorted(set(layers))
    if not chosen:
        raise KeyspaceError(f"{what}: no layer given")
    bad = [i for i in chosen if not 0 <= i < num_layers]
    if bad:
        raise KeyspaceError(f"{what}: layer {bad[0]} is outside {model}'s range 0..{num_layers - 1}")
    return chosen
