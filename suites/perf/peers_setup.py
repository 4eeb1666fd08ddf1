"""What suites/perf/peers.py measures: the data's shape, the sizes, and every test it times, named once.

The measuring script (`peers.py`) and the table it writes (`peers_table.py`) both read these, so a row's
label can never drift from the call behind it.
"""

from __future__ import annotations

DIM, TOKENS_PER_PROMPT, SHIFT, PERMS, BOOT = 128, 50, 0.05, 1000, 200
TSNE_TOKENS_PER_PROMPT = 20
MMD_SIZES = (2000, 10000)
TSNE_SIZES = (600, 5000, 20000)
TSNE_ITER = 750  # gradient iterations of both t-SNE backends, 250 of them with early exaggeration (openTSNE's default)

# every timed MMD test: (label, permutations, level); the harness's token-level tests do the peers' own work
# (token-level U-statistic, tokens permuted), its prompt-level tests the work the harness's verdict does
MMD_TESTS = {
    "harness": ("harness sign-flip test (between-prompt MMD²)", PERMS, "prompt"),
    "harness-gap": (f"harness `cross_modal_gap` (test + baselines + noise floor + {BOOT}-replicate bootstrap)", PERMS, "prompt"),
    "token-100": ("harness `mmd_test` (token-level MMD², tokens permuted)", 100, "token"),
    "token-1000": ("harness `mmd_test` (token-level MMD², tokens permuted)", PERMS, "token"),
    "alibi-100": ("alibi-detect `MMDDrift` (pytorch)", 100, "token"),
    "alibi-1000": ("alibi-detect `MMDDrift` (pytorch)", PERMS, "token"),
    "tts-1000": ("torch-two-sample `MMDStatistic`", PERMS, "token"),
}
MMD_PEERS = tuple(MMD_TESTS)  # in this order: 100 before 1000, so a timeout at 100 spares the 1000 run
HARNESS_TESTS = ("harness", "harness-gap", "token-100", "token-1000")
TSNE_PEERS = ("openTSNE", "sklearn")


def token_level_twin(peer: str) -> str:
    """The harness's token-level test with the peer's number of permutations (the like-with-like baseline)."""
    return f"token-{MMD_TESTS[peer][1]}"
