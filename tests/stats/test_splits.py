"""random_halves and group_halves: partitions, balance, whole groups, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.splits import group_halves, random_halves


def test_random_halves_partition_and_seed():
    a, b = random_halves(11, seed=3)
    assert len(a) == 5 and len(b) == 6
    assert sorted(np.r_[a, b].tolist()) == list(range(11))
    a2, _ = random_halves(11, seed=3)
    assert np.array_equal(a, a2)
    assert any(not np.array_equal(a, random_halves(11, seed=s)[0]) for s in range(4, 9))


def test_group_halves_keep_groups_whole_and_halve_the_groups():
    groups = np.repeat(["s0", "s1", "s2", "s3", "s4"], [10, 10, 1, 1, 3])
    for seed in range(8):
        a, b = group_halves(groups, seed=seed)
        assert sorted(np.r_[a, b].tolist()) == list(range(25))
        assert not set(groups[a]) & set(groups[b])
        assert len(set(groups[a])) == 2 and len(set(groups[b])) == 3  # G // 2 and G - G // 2 samples


def test_group_halves_vary_with_the_seed_when_samples_differ_in_length():
    # 12 samples of unequal token counts: a greedy token balance gave 2 distinct halvings in 16 seeds
    groups = np.repeat(np.arange(12), [40, 3, 17, 8, 25, 5, 60, 2, 11, 9, 30, 4])
    splits = {tuple(group_halves(groups, seed=s)[0]) for s in range(16)}
    assert len(splits) >= 14


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2 distinct samples"):
        group_halves(np.zeros(5), seed=0)
    with pytest.raises(ValueError, match="n >= 2"):
        random_halves(1, seed=0)
    with pytest.raises(ValueError, match="seed must be an int"):
        random_halves(4, seed=1.5)
