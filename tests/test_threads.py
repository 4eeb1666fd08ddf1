"""--ks-threads: the thread count of the forward passes (harness.run.threads)."""

import pytest

from harness.errors import KeyspaceError
from harness.run.threads import choose, parse_threads


def test_auto_takes_the_free_cores_and_never_less_than_one():
    assert choose(None, cores=2, load=0.2, env="")[0] == 2  # idle: both cores
    assert choose(None, cores=2, load=1.4, env="")[0] == 1  # one core taken
    assert choose(None, cores=2, load=13.0, env="")[0] == 1  # far over: still one
    assert choose(None, cores=16, load=2.0, workers=2, env="")[0] == 7  # free cores shared by xdist workers
    n, why = choose(None, cores=2, load=1.4, env="")
    assert "auto: 2 cores, load 1.4, 1 free" in why


def test_a_given_count_and_omp_num_threads_win_over_auto():
    assert choose(3, cores=2, load=5.0, env="4") == (3, "3 (--ks-threads)")
    assert choose(None, cores=2, load=5.0, env="4") == (4, "4 (OMP_NUM_THREADS)")


def test_bad_counts_are_one_line_errors():
    assert parse_threads("auto") is None and parse_threads(" 2 ") == 2
    for bad in ("0", "-1", "two", ""):
        with pytest.raises(KeyspaceError, match="--ks-threads: .* give auto or a whole number"):
            parse_threads(bad)
