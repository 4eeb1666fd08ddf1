"""Local parquet copies of the hub benchmarks, with exactly the hub schema, for offline tests.

Files land where a hub snapshot puts them (`<root>/MMMU/MMMU/<Subject>/validation-00000-of-00001.parquet`,
`<root>/lmms-lab/MMBench/cn/dev-00000-of-00001.parquet`), images as `{"bytes", "path"}` structs.
"""

from __future__ import annotations

import io
from pathlib import Path

import datasets
from PIL import Image

MMMU_FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "question": datasets.Value("string"),
        "options": datasets.Value("string"),  # a stringified Python list, as on the hub
        "explanation": datasets.Value("string"),
        **{f"image_{i}": datasets.Image() for i in range(1, 8)},
        "img_type": datasets.Value("string"),
        "answer": datasets.Value("string"),
        "topic_difficulty": datasets.Value("string"),
        "question_type": datasets.Value("string"),
        "subfield": datasets.Value("string"),
    }
)

MMBENCH_FEATURES = datasets.Features(
    {
        "index": datasets.Value("int64"),
        "question": datasets.Value("string"),
        "hint": datasets.Value("string"),
        "answer": datasets.Value("string"),
        **{c: datasets.Value("string") for c in "ABCDE"},
        "category": datasets.Value("string"),
        "image": datasets.Image(),
        "source": datasets.Value("string"),
        "L2-category": datasets.Value("string"),
        "comment": datasets.Value("string"),
        "split": datasets.Value("string"),
    }
)


def png(color: tuple[int, int, int], size: int = 12) -> dict:
    """A hub image cell: PNG bytes of a plain `color` square."""
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return {"bytes": buf.getvalue(), "path": None}


BROKEN_IMAGE = {"bytes": b"\x89PNG but not really", "path": None}


def mmmu_row(subject: str, n: int, question: str, options: list[str] | None, answer: str, images: dict[int, dict | None],
             question_type: str = "multiple-choice") -> dict:
    row = {
        "id": f"validation_{subject}_{n}",
        "question": question,
        "options": str(options if options is not None else []),
        "explanation": "",
        "img_type": "['Photographs']",
        "answer": answer,
        "topic_difficulty": "Easy",
        "question_type": question_type,
        "subfield": "Sub",
    }
    row.update({f"image_{i}": images.get(i) for i in range(1, 8)})
    return row


def write_mmmu(root: Path, subject: str, rows: list[dict]) -> Path:
    path = root / "MMMU" / "MMMU" / subject / "validation-00000-of-00001.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows, features=MMMU_FEATURES).to_parquet(str(path))
    return path


def mmbench_row(index: int, question: str, options: list[str | None], answer: str, image: dict | None,
                hint: str | None = None, category: str = "image_scene") -> dict:
    cells = {c: (options[i] if i < len(options) else None) for i, c in enumerate("ABCDE")}
    return {
        "index": index, "question": question, "hint": hint, "answer": answer, **cells, "category": category,
        "image": image, "source": "test", "L2-category": "coarse_perception", "comment": None, "split": "dev",
    }


def write_mmbench(root: Path, rows: list[dict]) -> Path:
    path = root / "lmms-lab" / "MMBench" / "cn" / "dev-00000-of-00001.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows, features=MMBENCH_FEATURES).to_parquet(str(path))
    return path


def standard_mmmu(root: Path, subjects: dict[str, int]) -> None:
    """`count` two-image multiple-choice questions per subject, each image a distinct colour."""
    for s_i, (subject, count) in enumerate(subjects.items()):
        rows = [
            mmmu_row(
                subject, k + 1, f"Which of <image 1> and <image 2> is brighter? ({subject} {k})", ["left", "right", "same"],
                "A", {1: png((40 * s_i % 255, 20 * k % 255, 200)), 2: png((200, 20 * k % 255, 40 * s_i % 255))},
            )
            for k in range(count)
        ]
        write_mmmu(root, subject, rows)
