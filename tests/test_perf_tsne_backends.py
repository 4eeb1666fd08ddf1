"""suites/perf/tsne_backends.py at toy size: both backends measured alike, and the table it writes (no timings asserted)."""

from __future__ import annotations

from harness.perf.document import NOTES, read_section, update_section
from suites.perf.tsne_backends import measure, section


def test_both_backends_are_measured_at_equal_iterations_with_their_trustworthiness():
    figures = measure((60,), n_iter=10, rounds=1)
    (row,) = figures["rows"]
    assert row["points"] == 60 and figures["n_iter"] == 10 and figures["threads"] == 1
    for backend in ("openTSNE", "sklearn"):
        assert row[f"{backend}_cpu"] > 0 and row[f"{backend}_wall"] > 0 and 0 <= row[f"{backend}_trust"] <= 1
    assert row["cpu_ratio"] == row["sklearn_cpu"] / row["openTSNE_cpu"]


def test_section_names_the_faster_backend_and_the_load():
    row = {"points": 5000, "openTSNE_cpu": 40.0, "sklearn_cpu": 32.0, "openTSNE_wall": 44.0, "sklearn_wall": 35.0,
           "openTSNE_trust": 0.949, "sklearn_trust": 0.9473, "cpu_ratio": 0.8, "wall_ratio": 35.0 / 44.0}
    body = section({"rows": [row], "n_iter": 500, "rounds": 3, "threads": 1, "dim": 50, "load_start": 6.5, "load_end": 6.2})
    assert "| 5,000 | 40.00 s | 32.00 s | 0.80 | 44.00 s / 35.00 s | 0.80 | 0.9490 | 0.9473 | scikit-learn |" in body
    assert "6.5 at the start, 6.2 at the end" in body and "250 early-exaggeration iterations and 500 after them on both" in body


def test_regenerating_the_section_keeps_its_hand_written_notes():
    doc = f"# P\n\n## t-SNE backends\n\nold table\n\n{NOTES}\nreading\n\n## B\n\nb\n"
    new = update_section(doc, "t-SNE backends", "new table")
    assert read_section(new, "t-SNE backends") == f"new table\n\n{NOTES}\nreading" and new.endswith("## B\n\nb\n")
    assert read_section(update_section("# P\n", "t-SNE backends", "t"), "t-SNE backends") == "t"
