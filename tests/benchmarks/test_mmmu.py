"""The MMMU loader, run for real on local parquet files shaped like the hub's."""

from __future__ import annotations

import pytest
from PIL import Image

from harness.benchmarks import LoadOptions, load_benchmark
from harness.benchmarks.mmmu import SUBJECTS
from harness.errors import KeyspaceError

from .hub_parquet import BROKEN_IMAGE, mmmu_row, png, standard_mmmu, write_mmmu

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def colours(sample) -> list[tuple]:
    return [img.getpixel((0, 0)) for img in sample.images]


@pytest.fixture
def art_dir(tmp_path):
    rows = [
        # image 2 named before image 1, image 2 named twice, image 3 only in the options, image 4 unused
        mmmu_row("Art", 1, "Compare <image 2> with <image 1>; is <image 2> older?", ["<image 3>", "no"], "A",
                 {1: png(RED), 2: png(GREEN), 3: png(BLUE), 4: png((9, 9, 9))}),
        mmmu_row("Art", 2, "Name the colour of <image 1>.", None, "red", {1: png(RED)}, question_type="open"),
        mmmu_row("Art", 3, "Is <image 1> blue?", ["yes", "no"], "B", {1: None}),  # image missing
        mmmu_row("Art", 4, "Is <image 1> blue?", ["yes", "no"], "B", {1: BROKEN_IMAGE}),  # image unreadable
        mmmu_row("Art", 5, "Is <image 1> red?", ["yes", "no"], "A", {1: png(RED)}),
    ]
    write_mmmu(tmp_path, "Art", rows)
    return tmp_path


def load(subsets, data_dir, **kw):
    return load_benchmark("mmmu", subsets, seed=0, options=LoadOptions(data_dir=data_dir, **kw))


def test_prompt_is_lmms_eval_format_and_images_follow_tag_numbers(art_dir):
    samples, _ = load(["Art"], art_dir)
    first = samples[0]
    assert first.id == "validation_Art_1"
    assert first.prompt == (
        "Compare <image 2> with <image 1>; is <image 2> older?\nA. <image 3>\nB. no\n\n"
        "Answer with the option's letter from the given choices directly."
    )
    assert first.options == ("<image 3>", "no") and first.answer == "A"
    # tags 1, 2, 3 (options included), each once, by number; image 4 is never referenced
    assert colours(first) == [RED, GREEN, BLUE]
    assert first.meta["image_tags"] == [1, 2, 3]
    assert first.category == "Art" and first.language == "en"
    assert all(isinstance(i, Image.Image) and i.mode == "RGB" for i in first.images)


def test_open_question_prompt_and_policy(art_dir):
    kept, _ = load(["Art"], art_dir)
    open_q = next(s for s in kept if s.id == "validation_Art_2")
    assert open_q.prompt == "Name the colour of <image 1>.\n\nAnswer the question using a single word or phrase."
    assert open_q.options == () and open_q.meta["question_type"] == "open"
    skipped, report = load(["Art"], art_dir, open_questions="skip")
    assert "validation_Art_2" not in {s.id for s in skipped}
    assert report.skipped["open question (--ks-open-questions skip)"] == 1


def test_missing_and_unreadable_images_are_skipped_and_counted(art_dir):
    samples, report = load(["Art"], art_dir)
    assert [s.id for s in samples] == ["validation_Art_1", "validation_Art_2", "validation_Art_5"]
    assert report.skipped == {"image missing or unreadable": 2}
    assert report.examples["image missing or unreadable"] == "validation_Art_3"
    assert "skipped 2 row(s)" in report.note()


def test_subjects_by_name_case_insensitive_and_deduplicated(tmp_path):
    standard_mmmu(tmp_path, {"Art": 2, "Biology": 3})
    samples, report = load(["art", "Biology", "Art"], tmp_path)
    assert [s.category for s in samples] == ["Art"] * 2 + ["Biology"] * 3
    assert len({s.id for s in samples}) == 5 and report.note() is None


def test_unknown_subject_lists_the_valid_ones(tmp_path):
    with pytest.raises(KeyspaceError, match=r"unknown MMMU subject\(s\) Arts; valid subjects: Accounting, .*Sociology$"):
        load(["Arts"], tmp_path)


def test_subject_list_is_the_hub_configs():
    assert len(SUBJECTS) == len(set(SUBJECTS)) == 30
    assert {"Art", "Manage", "Diagnostics_and_Laboratory_Medicine", "Public_Health"} <= set(SUBJECTS)


def test_hub_unreachable_offline_says_how_to_get_it(tmp_path):
    with pytest.raises(KeyspaceError) as info:
        load(["Art"], None)
    message = str(info.value)
    assert "\n" not in message
    assert "hf download MMMU/MMMU --repo-type dataset" in message and "--ks-data-dir" in message


def test_local_copy_without_the_subject_names_the_layout(tmp_path):
    standard_mmmu(tmp_path, {"Art": 1})
    with pytest.raises(KeyspaceError, match=r"no validation-\*\.parquet under .*MMMU/MMMU/Biology"):
        load(["Biology"], tmp_path)


def test_env_data_dir_and_bare_snapshot_layout(tmp_path, monkeypatch):
    standard_mmmu(tmp_path, {"Art": 2})
    bare = tmp_path / "MMMU" / "MMMU"  # what `--local-dir <dir>` of a snapshot download holds
    monkeypatch.setenv("KS_DATA_DIR", str(bare))
    samples, _ = load(["Art"], None)
    assert [s.id for s in samples] == ["validation_Art_1", "validation_Art_2"]


def test_row_without_any_image_tag_is_skipped(tmp_path):
    write_mmmu(tmp_path, "Math", [
        mmmu_row("Math", 1, "What is 2+2?", ["3", "4"], "B", {1: png(RED)}),
        mmmu_row("Math", 2, "See <image 1>.", ["3", "4"], "B", {1: png(RED)}),
    ])
    samples, report = load(["Math"], tmp_path)
    assert [s.id for s in samples] == ["validation_Math_2"]
    assert report.skipped == {"no <image n> tag in question or options": 1}


def test_a_subject_with_no_usable_row_is_an_error(tmp_path):
    write_mmmu(tmp_path, "Music", [mmmu_row("Music", 1, "Hear <image 1>.", ["a", "b"], "A", {1: None})])
    with pytest.raises(KeyspaceError, match=r"mmmu:Music: no usable samples; skipped 1 row\(s\): 1 image missing"):
        load(["Music"], tmp_path)


def test_corrupt_parquet_is_one_line_naming_the_fix(tmp_path):
    shard = tmp_path / "MMMU" / "MMMU" / "Art" / "validation-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(b"PAR1 not a parquet file" * 4)
    with pytest.raises(KeyspaceError) as info:
        load(["Art"], tmp_path)
    message = str(info.value)
    assert "\n" not in message and "cannot read the local copy of MMMU/MMMU" in message
    assert "hf download MMMU/MMMU --repo-type dataset --local-dir" in message and "huggingface-cli" not in message


def test_parquet_of_another_schema_is_one_line_naming_the_file_and_columns(tmp_path):
    """A parquet file with other columns (another dataset saved under MMMU's path): the file and the
    missing columns in one line, not `KeyError: 'id'` from the first row."""
    import datasets

    shard = tmp_path / "MMMU" / "MMMU" / "Art" / "validation-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    datasets.Dataset.from_list([{"text": "hello", "label": 1}]).to_parquet(str(shard))
    with pytest.raises(KeyspaceError) as info:
        load(["Art"], tmp_path)
    message = str(info.value)
    assert "\n" not in message and str(shard) in message
    assert "no column 'id', 'question', 'options', 'answer', 'question_type'" in message and "text, label" in message
