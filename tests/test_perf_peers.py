"""suites/perf/peers.py without the peers: its trustworthiness estimate and its PERFORMANCE.md section."""

from __future__ import annotations

import numpy as np

from harness.perf.document import read_section, replace_section
from suites.perf.peers import harness_gap, harness_mmd, mmd_data, section, trust


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
    assert "| > 300 s (timeout) | > 150× |" in body
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
    assert "| 1 | 200 MB | between-prompt 0.00070 | 0.00100 | 0 | 0.0010 | – |" in body
    assert "| 20.0× | 300 MB | token-level 0.00120 | 0.00120 | 2.0e-04 | 0.0000 | – |" in body
