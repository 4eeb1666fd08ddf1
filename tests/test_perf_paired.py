"""The whole-capture benchmark's per-round ratio: its median and distribution-free interval against known answers."""

import math

import numpy as np

from harness.perf.workloads import interleaved_seconds, paired_ratio


def test_the_paired_ratio_recovers_a_known_overhead_and_its_interval_covers_it():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(200):
        base = rng.uniform(0.2, 0.6, 25)  # rounds at different machine speeds: pairs move together
        noise = rng.normal(0.0, 0.02, 25)
        mid, low, high = paired_ratio(list(base * 1.04 * (1 + noise)), list(base))
        covered += low <= 1.04 <= high
        assert low <= mid <= high and abs(mid - 1.04) < 0.03
    assert 0.90 <= covered / 200 <= 1.0  # nominal 95 %: the median of the noise is 0, so the median ratio is 1.04


def test_too_few_rounds_give_no_interval():
    mid, low, high = paired_ratio([1.0, 2.0], [1.0, 1.0])
    assert mid == 1.5 and math.isnan(low) and math.isnan(high)


def test_calls_are_timed_in_turn_each_round():
    order = []
    times = interleaved_seconds({"a": (order.append, "a"), "b": (order.append, "b")}, rounds=3)
    assert order == ["a", "b"] * 4 and {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}
