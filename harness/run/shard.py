"""Shards: one run's (model, benchmark) pairs spread over N machines, `--ks-shard K/N` taking part K.

K counts from 1 (shards 1/3, 2/3 and 3/3 make the whole run). A pair is the unit: all layers of
a pair stay in one shard, so each pair is captured once. When several benchmarks run, a model's
pairs stay together instead: each triple's by-benchmark baseline reads the bank of the same model
on another benchmark, which would otherwise be captured a second time in another shard. Units are
dealt out by estimated cost (planned layers × samples), largest first, each to the shard with the
least cost so far (ties: the lower shard). The assignment depends only on the plan, which every machine works out
from the same options, so any machine computes the same split without talking to the others.

Controls follow their pair: a control built on a triple runs in the shard that owns that triple's
pair (shuffled labels reuse its capture); the synthetic control, built on no pair, runs in shard 1.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Protocol, Sequence

from harness.errors import KeyspaceError

USAGE = "give K/N with 1 ≤ K ≤ N (shards count from 1), e.g. 2/3, or none"


@dataclass(frozen=True)
class Shard:
    index: int  # K: which part, 1..count
    count: int  # N: how many parts the run is cut into

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard | None:
    """`none` (the whole run) or `K/N`; anything else is a one-line KeyspaceError."""
    value = str(text).strip().lower()
    if value in ("", "none"):
        return None
    k, slash, n = value.partition("/")
    if not slash or not k.strip().isdigit() or not n.strip().isdigit():
        raise KeyspaceError(f"--ks-shard: {text!r} is not K/N; {USAGE}")
    shard = Shard(int(k), int(n))
    if shard.count < 1:
        raise KeyspaceError(f"--ks-shard: {text!r} has N = 0; {USAGE}")
    if shard.index == 0:
        raise KeyspaceError(
            f"--ks-shard: {text!r} has K = 0, but shards count from 1; from a 0-based index I pass $((I + 1))/N"
        )
    if shard.index > shard.count:
        raise KeyspaceError(f"--ks-shard: {text!r} has K > N; {USAGE}")
    return shard


def shard_option(text: str) -> str:
    """The option's value written plainly ("none" or "K/N"), checked here so a bad one fails in one
    line before anything loads; `parse_shard` reads it back."""
    shard = parse_shard(text)
    return str(shard) if shard else "none"


def shard_arg(text: str) -> str:
    """`shard_option` as an argparse `type=`: a bad value raises ArgumentTypeError with the same line."""
    try:
        return shard_option(text)
    except KeyspaceError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Pair(Protocol):
    model: str
    id: str


class _Triple(Protocol):
    @property
    def pair(self) -> _Pair: ...


def unit_costs(units: Sequence[str], samples: int | None) -> dict[str, int]:
    """Estimated cost per unit, given one unit name per planned triple: planned layers × samples
    (1 when `samples` is all: then every pair of one benchmark has the same count, which cancels)."""
    costs: dict[str, int] = {}
    for u in units:
        costs[u] = costs.get(u, 0) + (samples or 1)
    return costs


def assign(costs: dict[str, float], count: int) -> dict[str, int]:
    """Unit → shard (1..count): largest cost first to the least-loaded shard; ties broken by the
    unit's name and the lower shard, so the result is a function of `costs` alone."""
    load = [0.0] * count
    owner = {}
    for unit in sorted(costs, key=lambda u: (-costs[u], u)):
        k = min(range(count), key=lambda i: (load[i], i))
        load[k] += costs[unit]
        owner[unit] = k + 1
    return owner


class Sharding:
    """The whole plan and the part of it one shard runs."""

    def __init__(self, triples: Sequence[_Triple], shard: Shard | None, *, samples: int | None = None,
                 benchmarks: int = 1):
        self.triples = list(triples)  # every triple of the run, all shards together
        self.shard = shard
        self.by_model = benchmarks > 1  # a model's pairs share a shard (see the module docstring)
        costs = unit_costs([self.unit(t.pair) for t in self.triples], samples)
        self.owner = assign(costs, shard.count) if shard else {}

    def unit(self, pair: _Pair) -> str:
        return pair.model if self.by_model else pair.id

    def owns(self, pair: _Pair | None) -> bool:
        """Whether this shard runs `pair` (None: the controls built on no pair, which shard 1 runs)."""
        if self.shard is None:
            return True
        return (self.owner[self.unit(pair)] if pair is not None else 1) == self.shard.index

    def mine(self) -> list:
        """This shard's triples, in plan order."""
        return [t for t in self.triples if self.owns(t.pair)]

    def empty_note(self) -> str:
        """'' unless this shard owns none of the run's units; then the line saying so ("shard 3/4 holds
        no pair of this run: 2 pairs over 4 shards"), since pytest says only "got empty parameter set"."""
        if self.shard is None or self.mine():
            return ""
        what = "model" if self.by_model else "pair"
        units = len(self.owner)
        return f"shard {self.shard} holds no {what} of this run: {units} {what}{'s' * (units != 1)} over {self.shard.count} shards"
