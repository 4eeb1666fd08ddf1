"""Checks of the bundled offline fixture in fixtures/fixture/ (fast, no GPU, no network)."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DIR = ROOT / "fixtures" / "fixture"
JSONL = FIXTURE_DIR / "questions.jsonl"
SCRIPT = ROOT / "fixtures" / "make_fixture.py"

FIELDS = {"id", "image", "question", "options", "answer", "language", "category"}
CATEGORIES = {"shape", "colour", "count", "chart", "direction", "pattern"}
CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_BYTES = 50 * 1024


def _rows() -> list[dict]:
    with open(JSONL, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return _rows()


def test_every_line_parses_as_object():
    lines = JSONL.read_text(encoding="utf-8").splitlines()
    assert lines, "questions.jsonl is empty"
    for n, line in enumerate(lines, 1):
        assert line.strip(), f"blank line {n}"
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {n} is not an object"


def test_schema_and_types(rows):
    for r in rows:
        assert set(r) == FIELDS, r.get("id")
        for key in ("id", "image", "question", "answer", "language", "category"):
            assert isinstance(r[key], str) and r[key], (r["id"], key)
        assert isinstance(r["options"], list) and 2 <= len(r["options"]) <= 4, r["id"]
        assert all(isinstance(o, str) and o for o in r["options"]), r["id"]
        assert len(set(r["options"])) == len(r["options"]), f"duplicate options in {r['id']}"
        assert r["language"] in {"en", "zh"}, r["id"]
        assert r["category"] in CATEGORIES, r["id"]
        assert re.fullmatch(rf"fx-{r['language']}-\d{{3}}", r["id"]), r["id"]


def test_ids_unique(rows):
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))


def test_answer_indexes_an_option(rows):
    for r in rows:
        assert r["answer"] in "ABCD" and len(r["answer"]) == 1, r["id"]
        assert "ABCD".index(r["answer"]) < len(r["options"]), r["id"]


def test_images_exist_open_rgb_and_small(rows):
    for rel in sorted({r["image"] for r in rows}):
        path = FIXTURE_DIR / rel
        assert not Path(rel).is_absolute() and path.is_file(), rel
        assert path.stat().st_size < MAX_BYTES, rel
        with Image.open(path) as im:
            im.load()
            assert im.mode == "RGB", (rel, im.mode)
            assert 64 <= im.width <= 96 and 64 <= im.height <= 96, (rel, im.size)


def test_no_orphan_images(rows):
    on_disk = {p.relative_to(FIXTURE_DIR).as_posix() for p in (FIXTURE_DIR / "images").glob("*")}
    assert on_disk == {r["image"] for r in rows}


def test_each_image_has_en_and_zh_question_with_same_answer(rows):
    by_image: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        assert r["language"] not in by_image[r["image"]], f"two {r['language']} rows for {r['image']}"
        by_image[r["image"]][r["language"]] = r
    for image, langs in by_image.items():
        assert set(langs) == {"en", "zh"}, image
        en, zh = langs["en"], langs["zh"]
        assert en["answer"] == zh["answer"], image
        assert len(en["options"]) == len(zh["options"]), image
        assert en["category"] == zh["category"], image
        assert en["id"][-3:] == zh["id"][-3:], image


def test_zh_rows_contain_cjk_and_en_rows_do_not(rows):
    for r in rows:
        if r["language"] == "zh":
            assert CJK.search(r["question"]), r["id"]
        else:
            assert not CJK.search(r["question"] + "".join(r["options"])), r["id"]


def test_coverage(rows):
    assert len({r["image"] for r in rows}) >= 32
    assert len({r["category"] for r in rows}) >= 5


def test_readme_present():
    text = (FIXTURE_DIR / "README.md").read_text(encoding="utf-8")
    assert "questions.jsonl" in text and "make_fixture.py" in text


def test_generator_is_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location("make_fixture", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.generate(tmp_path)

    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    fresh, committed = files(tmp_path), files(FIXTURE_DIR)
    assert sorted(fresh) == sorted(committed)
    differing = [k for k in fresh if fresh[k] != committed[k]]
    assert not differing, f"regenerated files differ: {differing[:5]}"
