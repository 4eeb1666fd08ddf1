"""Multi-image policy and stratified, seeded choice of samples over real loader output."""

from __future__ import annotations

from collections import Counter

import pytest

from harness.benchmarks import LoadOptions, fit_images, load_benchmark, select_samples
from harness.errors import KeyspaceError

from .hub_parquet import mmmu_row, png, standard_mmmu, write_mmmu


@pytest.fixture
def mixed(tmp_path):
    write_mmmu(tmp_path, "Art", [
        mmmu_row("Art", 1, "One: <image 1>", ["a", "b"], "A", {1: png((1, 1, 1))}),
        mmmu_row("Art", 2, "Three: <image 1> <image 2> <image 3>", ["a", "b"], "A",
                 {1: png((1, 0, 0)), 2: png((2, 0, 0)), 3: png((3, 0, 0))}),
    ])
    return load_benchmark("mmmu", ["Art"], seed=0, options=LoadOptions(data_dir=tmp_path))[0]


def test_first_keeps_the_leading_images_and_says_so(mixed):
    fit = fit_images(mixed, 1, "first")
    assert (fit.trimmed, fit.skipped) == (1, 0)
    multi = fit.samples[1]
    assert [i.getpixel((0, 0)) for i in multi.images] == [(1, 0, 0)]
    assert multi.meta["images_dropped"] == 2 and multi.meta["multi_image"] == "first"
    assert multi.prompt == mixed[1].prompt  # the text keeps its references
    assert "kept the first 1 image(s) of them" in fit.note(1, "first")


def test_skip_leaves_the_question_out(mixed):
    fit = fit_images(mixed, 2, "skip")
    assert [s.id for s in fit.samples] == ["validation_Art_1"] and fit.skipped == 1
    assert "1 question(s) with more than 2 image(s): skipped" in fit.note(2, "skip")


def test_no_limit_changes_nothing(mixed):
    fit = fit_images(mixed, None, "skip")
    assert fit.samples == list(mixed) and fit.note(None, "skip") is None


def test_bad_policy_is_one_line():
    with pytest.raises(KeyspaceError, match="--ks-multi-image: 'all' is not a policy; use first or skip"):
        fit_images([], 1, "all")


def test_selection_is_stratified_by_subject_and_seeded(tmp_path):
    standard_mmmu(tmp_path, {"Art": 10, "Biology": 20, "Math": 30})
    samples, _ = load_benchmark("mmmu", ["Art", "Biology", "Math"], seed=0, options=LoadOptions(data_dir=tmp_path))
    chosen, note = select_samples(samples, 12, seed=3)
    assert note is None
    assert Counter(s.category for s in chosen) == {"Art": 2, "Biology": 4, "Math": 6}
    assert [s.id for s in select_samples(samples, 12, seed=3)[0]] == [s.id for s in chosen]
    assert [s.id for s in select_samples(samples, 12, seed=4)[0]] != [s.id for s in chosen]
    everything, note = select_samples(samples, 100, seed=3)
    assert len(everything) == 60 and note == "asked for 100 samples, the set has 60: using all"
