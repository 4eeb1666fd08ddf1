"""The bundled offline benchmark: small generated images with questions in English and Chinese."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from PIL import Image

from harness.errors import KeyspaceError

from .loading import LoadOptions, LoadReport
from .prompt import multiple_choice
from .registry import register_benchmark
from .sample import Sample

FIXTURE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "fixture"
LANGUAGES = ("en", "zh")


def load_rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise KeyspaceError(f"fixture benchmark not found at {path}; regenerate it with `python fixtures/make_fixture.py`")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def check_languages(subsets: Sequence[str]) -> None:
    unknown = sorted(set(subsets) - set(LANGUAGES))
    if unknown:
        raise KeyspaceError(f"unknown fixture subset(s) {', '.join(unknown)}; valid subsets: {', '.join(LANGUAGES)}")


@register_benchmark("fixture", check_subsets=check_languages)
def load_fixture(
    subsets: Sequence[str] = (),
    *,
    seed: int = 0,
    options: LoadOptions = LoadOptions(),
    report: LoadReport | None = None,
    root: Path = FIXTURE_DIR,
) -> list[Sample]:
    """All fixture questions, or only the languages named as subsets (`fixture:en`, `fixture:zh`)."""
    check_languages(subsets)
    samples = []
    for row in load_rows(root / "questions.jsonl"):
        if subsets and row["language"] not in subsets:
            continue
        with Image.open(root / row["image"]) as img:
            image = img.convert("RGB")
        samples.append(
            Sample(
                id=row["id"],
                images=(image,),
                question=row["question"],
                options=tuple(row["options"]),
                answer=row["answer"],
                language=row["language"],
                category=row["category"],
                prompt=multiple_choice(row["question"], row["options"], row["language"]),
            )
        )
    return samples
