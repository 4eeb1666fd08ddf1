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


def test_group_halves_keep_groups_whole_and_balance():
    groups = np.repeat(["s0", "s1", "s2", "s3"], [10, 10, 1, 1])
    a, b = group_halves(groups, seed=0)
    assert sorted(np.r_[a, b].tolist()) == list(range(22))
    assert len(a) == len(b) == 11  # 10 + 1 on each side is the only balanced split
    assert not set(groups[a]) & set(groups[b])


def test_group_halves_seed_changes_assignment_of_equal_groups():
    groups = np.repeat(np.arange(8), 3)
    splits = {tuple(group_halves(groups, seed=s)[0]) for s in range(6)}
    assert len(splits) > 1
    assert all(len(s) == 12 for s in splits)


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2 distinct samples"):
        group_halves(np.zeros(5), seed=0)
    with pytest.raises(ValueError, match="n >= 2"):
        random_halves(1, seed=0)
    with pytest.raises(ValueError, match="seed must be an int"):
        random_halves(4, seed=1.5)
