"""A benchmark as a run asks for it: a registered name and, optionally, some of its subsets.

`--ks-benchmarks fixture,mmmu:Art,Biology` is parsed here, once, into
(BenchmarkChoice("fixture"), BenchmarkChoice("mmmu", ("Art", "Biology"))); everything downstream
reads the name and the subsets from the choice and prints it back as its `text`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .registry import benchmark_names


@dataclass(frozen=True)
class BenchmarkChoice:
    name: str  # a registered benchmark name, e.g. "mmmu"
    subsets: tuple[str, ...] = ()  # the subsets asked for, e.g. ("Art", "Biology"); () = all

    @classmethod
    def parse(cls, item: str) -> BenchmarkChoice:
        """`mmmu:Art,Biology` -> BenchmarkChoice("mmmu", ("Art", "Biology"))."""
        name, _, subsets = item.partition(":")
        return cls(name.strip(), tuple(s.strip() for s in subsets.split(",") if s.strip()))

    @property
    def text(self) -> str:
        """The choice as written on the command line and in results: `mmmu:Art,Biology`."""
        return self.name + (":" + ",".join(self.subsets) if self.subsets else "")

    def __str__(self) -> str:
        return self.text


def parse_benchmarks(text: str) -> tuple[BenchmarkChoice, ...]:
    """`fixture, mmmu:Art,Biology; world` -> the three choices, in the order given."""
    items = [v.strip() for v in text.replace(";", ",").split(",") if v.strip()]
    return tuple(BenchmarkChoice.parse(item) for item in _merge_subsets(items))


def _merge_subsets(items: list[str]) -> list[str]:
    """`mmmu:Art,Biology` arrives split at the comma; glue subset names back to their benchmark."""
    known = set(benchmark_names())
    merged: list[str] = []
    for item in items:
        if ":" not in item and merged and ":" in merged[-1] and item not in known:
            merged[-1] += "," + item
        else:
            merged.append(item)
    return merged
