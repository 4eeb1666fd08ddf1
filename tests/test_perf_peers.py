"""suites/perf/peers.py without the peers: its trustworthiness estimate, its harness tests and its PERFORMANCE.md section."""

from __future__ import annotations

import numpy as np

from harness.perf.document import read_section, replace_section
from harness.stats import mmd2_unbiased
from suites.perf.peers import harness_gap, harness_mmd, harness_token_mmd, mmd_data, trust
from suites.perf.peers_table import section


def test_sampled_trustworthiness_is_the_exact_one_over_every_query_point():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 20))
    points = x[:, :2] + rng.normal(size=(400, 2)) * 0.5
    exact = trust(x, points)
    assert trust(x, points, exact_up_to=0, queries=400) == exact
    assert abs(trust(x, points, exact_up_to=0, queries=150) - exact) < 0.03


def test_section_replaces_only_its_own_and_records_timeouts_as_bounds():
    figures = {"mmd": {"2000": {"harness": {"seconds": 2.0, "peak_GB": 0.2, "mmd2": 0.004, "p": 0.001},
                                "alibi-1000": {"timeout_s": 300.0}}},
               "tsne": {}, "threads": "1", "load_average_start": 1.0, "load_average_end": 1.0}
    body = section(figures)
    assert "| > 300 s (timeout) | harness sign-flip test (between-prompt MMD²), 1000 permutations | 2.00 s | > 150× |" in body
    assert "| > 300 s (timeout) | harness `mmd_test` (token-level MMD², tokens permuted), 1000 permutations | not run | n/a |" in body
    doc = "# P\n\n## A\n\na\n\n## Peers\n\nold\n\n## B\n\nb\n"
    new = replace_section(doc, "Peers", body)
    assert read_section(new, "Peers") == body.strip() and "## A\n\na\n" in new and new.endswith("## B\n\nb\n")
    assert read_section(replace_section("# P\n", "Peers", "x"), "Peers") == "x"


def test_timed_test_is_the_cross_modal_gaps_own_test():
    x, y, prompts = mmd_data(400)  # 8 prompts of 50 image and 50 text tokens
    assert len(set(prompts)) == 8
    mmd2, p = harness_mmd(x, y, prompts, prompts, 15.0, 199)
    assert (mmd2, p) == harness_gap(x, y, prompts, prompts, 15.0, 199)


def test_peers_are_compared_with_the_token_level_statistic():
    figures = {"mmd": {"2000": {"harness": {"seconds": 2.0, "peak_GB": 0.2, "mmd2": 0.0007, "p": 0.001, "token_mmd2": 0.0010},
                                "tts-1000": {"seconds": 40.0, "peak_GB": 0.3, "mmd2": 0.0012, "p": 0.0}}},
               "tsne": {}, "threads": "1", "load_average_start": 1.0, "load_average_end": 1.0}
    body = section(figures)
    assert "| prompt | 1000 | 2.00 s | 200 MB | between-prompt 0.00070 | 0.00100 | 0 | 0.0010 | – |" in body
    assert "| token | 1000 | 40.00 s | 300 MB | token-level 0.00120 | 0.00120 | 2.0e-04 | 0.0000 | – |" in body


def test_same_work_and_different_work_are_rows_of_their_own():
    figures = {"mmd": {"2000": {"harness": {"seconds": 2.0, "peak_GB": 0.2, "mmd2": 0.0007, "p": 0.001, "token_mmd2": 0.001},
                                "token-100": {"seconds": 1.0, "peak_GB": 0.2, "mmd2": 0.001, "p": 0.01},
                                "token-1000": {"seconds": 10.0, "peak_GB": 0.2, "mmd2": 0.001, "p": 0.001},
                                "alibi-100": {"seconds": 30.0, "peak_GB": 0.3, "mmd2": 0.001, "p": 0.0},
                                "tts-1000": {"seconds": 40.0, "peak_GB": 0.3, "mmd2": 0.001, "p": 0.0}}},
               "tsne": {}, "threads": "1", "load_average_start": 1.0, "load_average_end": 1.0}
    rows = [line for line in section(figures).splitlines() if line.startswith("| 2 × 2,000 × 128 | (")]
    same = [r for r in rows if "(a) same work: token-level test against token-level test" in r]
    other = [r for r in rows if "(b) different work: peer's token-level test against the harness's prompt-level test" in r]
    assert len(same) == len(other) == 2 and len(rows) == 4
    token = "harness `mmd_test` (token-level MMD², tokens permuted)"
    assert any("alibi-detect" in r and f"| 100 | 30.00 s | {token}, 100 permutations | 1.00 s | 30.0× |" in r for r in same)
    assert any("torch-two-sample" in r and f"| 1000 | 40.00 s | {token}, 1000 permutations | 10.00 s | 4.0× |" in r for r in same)
    assert any("torch-two-sample" in r and "| 40.00 s | harness sign-flip test (between-prompt MMD²), 1000 permutations | 2.00 s | 20.0× |" in r
               for r in other)


def test_harness_token_level_test_is_the_peers_statistic():
    x, y, _ = mmd_data(400)
    mmd2, p = harness_token_mmd(x, y, 15.0, 99)
    assert mmd2 == mmd2_unbiased(x, y, sigma=15.0) and 0.01 <= p <= 1.0


def test_t_sne_rows_say_whether_the_iterations_were_equal():
    assert "unequal work: openTSNE 750 iterations, scikit-learn 1000" in section({"tsne": {}})
    assert "750 iterations each" in section({"tsne": {}, "tsne_iterations": {"openTSNE": 750, "sklearn": 750}})
