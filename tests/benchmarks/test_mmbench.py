"""The MMBench-CN loader, run for real on a local parquet file shaped like the hub's."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.benchmarks import LoadOptions, load_benchmark
from harness.errors import KeyspaceError

from .hub_parquet import BROKEN_IMAGE, mmbench_row, png, write_mmbench


@pytest.fixture
def cn_dir(tmp_path):
    rows = [
        mmbench_row(0, "图中是什么颜色？", ["红色", "绿色", "蓝色", "nan"], "A", png((255, 0, 0)), hint="这是一张纯色图片。"),
        mmbench_row(1, "这是白天还是夜晚？", ["白天", "夜晚"], "B", png((0, 0, 0)), hint="nan", category="image_emotion"),
        mmbench_row(2, "图中有几个物体？", ["一个", None, "三个"], "A", png((1, 2, 3)), hint=None),
        mmbench_row(3, "图片坏了吗？", ["是", "否"], "A", BROKEN_IMAGE),
        mmbench_row(1_000_000, "图中是什么颜色？", ["绿色", "蓝色", "红色"], "C", png((255, 0, 0)), hint="这是一张纯色图片。"),
    ]
    write_mmbench(tmp_path, rows)
    return tmp_path


def load(subsets, data_dir):
    return load_benchmark("mmbench-cn", subsets, seed=0, options=LoadOptions(data_dir=data_dir))


def test_prompt_is_the_official_format(cn_dir):
    samples, _ = load([], cn_dir)
    first = samples[0]
    assert first.id == "mmbench-cn-0" and first.language == "zh" and first.category == "image_scene"
    assert first.prompt == "这是一张纯色图片。\n图中是什么颜色？\nA. 红色\nB. 绿色\nC. 蓝色\n请直接回答选项字母。"
    assert first.options == ("红色", "绿色", "蓝色") and first.hint == "这是一张纯色图片。" and first.answer == "A"
    assert first.images[0].getpixel((0, 0)) == (255, 0, 0)
    assert first.meta["l2_category"] == "coarse_perception"


def test_nan_hint_left_out_and_options_end_at_the_first_missing(cn_dir):
    by_id = {s.id: s for s in load([], cn_dir)[0]}
    assert by_id["mmbench-cn-1"].prompt == "这是白天还是夜晚？\nA. 白天\nB. 夜晚\n请直接回答选项字母。"
    assert by_id["mmbench-cn-1"].hint is None
    assert by_id["mmbench-cn-2"].options == ("一个",)


def test_unreadable_image_and_circular_copies_are_skipped_and_counted(cn_dir):
    samples, report = load([], cn_dir)
    assert [s.id for s in samples] == ["mmbench-cn-0", "mmbench-cn-1", "mmbench-cn-2"]
    assert report.skipped == {"image missing or unreadable": 1, "circular-evaluation copy": 1}


def test_categories_as_subsets(cn_dir):
    samples, _ = load(["image_emotion"], cn_dir)
    assert [s.id for s in samples] == ["mmbench-cn-1"]
    with pytest.raises(KeyspaceError, match="unknown MMBench-CN .* nope; valid categories: image_emotion, image_scene"):
        load(["nope"], cn_dir)


def test_plain_pyarrow_image_structs_without_hub_metadata(tmp_path):
    """A parquet written by another tool: the image column is a bare {bytes, path} struct."""
    path = tmp_path / "lmms-lab" / "MMBench" / "cn" / "dev-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    row = mmbench_row(7, "问题？", ["甲", "乙"], "B", png((0, 9, 0)))
    pq.write_table(pa.Table.from_pylist([row]), path)
    samples, _ = load([], tmp_path)
    assert samples[0].id == "mmbench-cn-7" and samples[0].images[0].getpixel((0, 0)) == (0, 9, 0)


def test_hub_unreachable_offline_says_how_to_get_it():
    with pytest.raises(KeyspaceError, match="hf download lmms-lab/MMBench --repo-type dataset"):
        load([], None)


def test_parquet_of_another_schema_is_one_line_naming_the_file_and_columns(tmp_path):
    import datasets

    shard = tmp_path / "lmms-lab" / "MMBench" / "cn" / "dev-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    datasets.Dataset.from_list([{"idx": 1, "question": "q"}]).to_parquet(str(shard))
    with pytest.raises(KeyspaceError) as info:
        load_benchmark("mmbench-cn", (), seed=0, options=LoadOptions(data_dir=tmp_path))
    message = str(info.value)
    assert "\n" not in message and str(shard) in message and "no column 'index', 'category'" in message
