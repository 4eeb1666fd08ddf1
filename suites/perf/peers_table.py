"""The markdown of PERFORMANCE.md's Peers section, from the figures suites/perf/peers.py measured.

Two comparisons, in rows of their own and never mixed: (a) the same work: each peer's token-level test
against the harness's token-level test (`mmd_test`) with as many permutations; (b) different work: each
peer's token-level test against the harness's prompt-level test (the one its verdict runs), which is
cheaper because its null works on a prompts × prompts matrix.
"""

from __future__ import annotations

from suites.perf.peers_setup import DIM, HARNESS_TESTS, MMD_TESTS, TOKENS_PER_PROMPT, TSNE_PEERS, token_level_twin

TITLE = "Peers"


def _secs(m: dict) -> str:
    if "not_run" in m:
        return f"> {m['timeout_s']:.0f} s (not started: {m['not_run']})"
    if "timeout_s" in m:
        return f"> {m['timeout_s']:.0f} s (timeout)"
    if "error" in m:
        return "error: " + m["error"]
    return f"{m['seconds']:.2f} s" if "seconds" in m else "not run"


def _ratio(m: dict, base: dict) -> str:
    if "seconds" not in base:
        return "n/a"
    if "timeout_s" in m:
        return f"> {m['timeout_s'] / base['seconds']:.0f}×"
    return f"{m['seconds'] / base['seconds']:.1f}×" if "seconds" in m else "n/a"


def _memory(gb: float) -> str:
    return f"{gb:.2f} GB" if gb >= 1 else f"{gb * 1000:.0f} MB"


def _measurement(n: str, peer: str, m: dict, token_mmd2: float | None) -> str:
    label, perms, level = MMD_TESTS[peer]
    head = f"| 2 × {int(n):,} × {DIM} | {label} | {level} | {perms} | {_secs(m)} |"
    load = f" {m['load_average']:.1f} |" if "load_average" in m else " – |"
    if "seconds" not in m:
        return head + " – | – | – | – | – |" + load
    if peer in ("harness", "harness-gap"):
        token = m.get("token_mmd2")
        rest = f" between-prompt {m['mmd2']:.5f} | " + (f"{token:.5f} | 0 |" if token is not None else "– | – |")
    else:
        diff = f"{abs(m['mmd2'] - token_mmd2):.1e}" if token_mmd2 is not None else "–"
        rest = f" token-level {m['mmd2']:.5f} | {m['mmd2']:.5f} | {diff} |"
    return f"{head} {_memory(m['peak_GB'])} |{rest} {m['p']:.4f} |{load}"


def _comparisons(mmd: dict) -> list[str]:
    lines = ["| keys | comparison | peer's test | permutations | peer's seconds | harness's test | harness's seconds | peer / harness |",
             "|---|---|---|---|---|---|---|---|"]
    for kind in ("same work", "different work"):
        for n, row in mmd.items():
            for peer in (p for p in MMD_TESTS if p not in HARNESS_TESTS):
                if peer not in row:
                    continue
                if kind == "same work":
                    base_name, what = token_level_twin(peer), "(a) same work: token-level test against token-level test"
                else:
                    base_name, what = "harness", "(b) different work: peer's token-level test against the harness's prompt-level test"
                base = row.get(base_name, {})
                label, perms, _ = MMD_TESTS[peer]
                lines.append(f"| 2 × {int(n):,} × {DIM} | {what} | {label} | {perms} | {_secs(row[peer])} | "
                             f"{MMD_TESTS[base_name][0]}, {MMD_TESTS[base_name][1]} permutations | {_secs(base)} | "
                             f"{_ratio(row[peer], base)} |")
    return lines


def _iterations(figures: dict) -> str:
    """Runs before the iterations were recorded gave each backend its default: openTSNE 750, scikit-learn 1000."""
    it = figures.get("tsne_iterations", {"openTSNE": 750, "sklearn": 1000})
    if it["openTSNE"] == it["sklearn"]:
        return f"{it['openTSNE']} iterations each, 250 with early exaggeration"
    return (f"unequal work: openTSNE {it['openTSNE']} iterations, scikit-learn {it['sklearn']} (each one's default), "
            "250 with early exaggeration")


def section(figures: dict) -> str:
    """The figures (as peers.py's --json writes them) as the markdown of the Peers section."""
    lines = [
        "Side by side in one run, each measurement in its own child process, one thread each "
        f"(OMP_NUM_THREADS={figures.get('threads')}); ratios are a peer's seconds over the harness's in the same run. "
        f"The machine was shared (load average {figures.get('load_average_start', float('nan')):.1f} at the start, "
        f"{figures.get('load_average_end', float('nan')):.1f} at the end, on 2 cores), so seconds are inflated and "
        "only the ratios carry over. Peak memory: the child's peak resident set over its resident set before the call "
        "(an upper bound of the call's own where preparing the data peaked higher, as for the small t-SNE runs).",
        "",
        "**MMD two-sample test** (RBF kernel at the harness's median-heuristic σ, given to every test; "
        f"{TOKENS_PER_PROMPT} image and {TOKENS_PER_PROMPT} text tokens per prompt sharing the prompt's offset, a small "
        "mean shift). Two kinds of test are timed. Token level (the peers' and the harness's `mmd_test`): the "
        "token-level U-statistic, tokens permuted as if independent; the peers' MMD² is checked against the harness's "
        "`mmd2_unbiased` on the same data (outside the timed call). Prompt level (the test inside the harness's "
        "verdict): the between-prompt MMD², its null flipping the image/text sides of whole prompts"
        + (f". {figures['mmd_note']}" if figures.get("mmd_note") else "") + ":",
        "",
        "| keys | test | level | permutations | seconds | peak memory | MMD² reported | token-level MMD² | "
        r"\|token-level − harness's\| | p | load average after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, row in figures.get("mmd", {}).items():
        token_mmd2 = row.get("harness", {}).get("token_mmd2")
        lines += [_measurement(n, peer, row[peer], token_mmd2) for peer in MMD_TESTS if peer in row]
    lines += ["", "Ratios: (a) compares like with like; (b) compares different work (the harness's verdict needs only "
              "the prompt-level test, the peers offer only the token-level one) and is no speed-up at equal work:", ""]
    lines += _comparisons(figures.get("mmd", {}))
    lines += [
        "",
        f"**t-SNE** (same StandardScaler → PCA-50 input as the harness's maps; 1 thread each; {_iterations(figures)}; "
        "trustworthiness with 10 neighbours, exact up to 5,000 points, above that estimated "
        "over 2,000 seeded query points" + (f"; {figures['tsne_note']}" if figures.get("tsne_note") else "") + "):",
        "",
        "| points | backend | seconds | × openTSNE | peak memory | trustworthiness |",
        "|---|---|---|---|---|---|",
    ]
    for n, row in figures.get("tsne", {}).items():
        base = row.get("openTSNE", {})
        for peer in TSNE_PEERS:
            m = row.get(peer, {})
            done = "seconds" in m
            lines.append(
                f"| {int(n):,} | {peer} | {_secs(m)} | {_ratio(m, base) if peer != 'openTSNE' else '1'} | "
                + (f"{_memory(m['peak_GB'])} | {m['trustworthiness']:.4f} |" if done else "– | – |")
            )
    lines += ["", "Regenerate (peers in a separate venv, $PEERS_VENV; recipe in the script's docstring):", "",
              "    nice -n 10 $PEERS_VENV/bin/python -m suites.perf.peers --update PERFORMANCE.md",
              "", "or only the MMD part, keeping the t-SNE figures of an earlier `--json` run:", "",
              "    nice -n 5 $PEERS_VENV/bin/python -m suites.perf.peers --only mmd --tsne-from earlier.json --update PERFORMANCE.md"]
    return "\n".join(lines)
