"""MMMU (hub `MMMU/MMMU`, one config per subject, `validation` split) as lmms-eval presents it.

Prompt: lmms-eval's `mmmu_doc_to_text` (see `prompt.mmmu`). Images: lmms-eval's
`mmmu_doc_to_visual` — the images whose `<image n>` tags occur in the prompt (question and
options), each once, in tag-number order. lmms-eval's default MMMU task is not interleaved
(`interleaved_format: false`): every image goes before the text and the `<image n>` tags stay in
the text verbatim as references. The harness does the same, which is also how the model adapter
lays out a turn (images first, then the prompt). The tags are never rewritten to a model's own
image placeholder (an old lmms-eval variant turned them into `<image>`, which LLaVA's processor
would expand into a second set of image tokens).
"""

from __future__ import annotations

import ast
import re
from typing import Any, Sequence

from harness.errors import KeyspaceError

from .loading import LoadOptions, LoadReport, decode_image, load_rows
from .prompt import mmmu as mmmu_prompt
from .registry import register_benchmark
from .sample import Sample

REPO = "MMMU/MMMU"
SPLIT = "validation"
COLUMNS = ("id", "question", "options", "answer", "question_type")  # read without a default by row_sample
MAX_IMAGES = 7  # columns image_1 ... image_7
SUBJECTS = (
    "Accounting", "Agriculture", "Architecture_and_Engineering", "Art", "Art_Theory", "Basic_Medical_Science",
    "Biology", "Chemistry", "Clinical_Medicine", "Computer_Science", "Design", "Diagnostics_and_Laboratory_Medicine",
    "Economics", "Electronics", "Energy_and_Power", "Finance", "Geography", "History", "Literature", "Manage",
    "Marketing", "Materials", "Math", "Mechanical_Engineering", "Music", "Pharmacy", "Physics", "Psychology",
    "Public_Health", "Sociology",
)  # the hub configs, spelled as on the hub
IMAGE_TAG = re.compile(r"<image (\d+)>")


def resolve_subjects(subsets: Sequence[str]) -> list[str]:
    """Hub subject names for `subsets` (case-insensitive), all 30 when none is named."""
    if not subsets:
        return list(SUBJECTS)
    by_lower = {s.lower(): s for s in SUBJECTS}
    unknown = [s for s in subsets if s.lower() not in by_lower]
    if unknown:
        raise KeyspaceError(f"unknown MMMU subject(s) {', '.join(unknown)}; valid subjects: {', '.join(SUBJECTS)}")
    return list(dict.fromkeys(by_lower[s.lower()] for s in subsets))


def image_numbers(prompt: str) -> list[int]:
    """The image numbers tagged in `prompt`, each once, ascending (lmms-eval's order)."""
    return sorted({int(n) for n in IMAGE_TAG.findall(prompt)})


def parse_options(raw: Any) -> list[str]:
    """MMMU stores options as a stringified Python list, e.g. "['1', '2']"."""
    if isinstance(raw, (list, tuple)):
        return [str(o) for o in raw]
    value = ast.literal_eval(raw) if isinstance(raw, str) and raw.strip() else []
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"options are not a list: {raw!r}")
    return [str(o) for o in value]


def row_sample(row: dict, subject: str, options: LoadOptions, report: LoadReport) -> Sample | None:
    """One MMMU row as a Sample, or None (and a count in `report`) when it cannot be used."""
    rid = row["id"]
    is_open = row["question_type"] != "multiple-choice"
    if is_open and options.open_questions == "skip":
        report.skip("open question (--ks-open-questions skip)", rid)
        return None
    try:
        choices = [] if is_open else parse_options(row["options"])
    except (ValueError, SyntaxError):
        report.skip("options not a Python list", rid)
        return None
    prompt = mmmu_prompt(row["question"], choices)
    numbers = image_numbers(prompt)
    if not numbers:
        report.skip("no <image n> tag in question or options", rid)
        return None
    images = [decode_image(row.get(f"image_{n}")) if n <= MAX_IMAGES else None for n in numbers]
    if any(img is None for img in images):
        report.skip("image missing or unreadable", rid)
        return None
    return Sample(
        id=rid,
        images=tuple(images),
        question=row["question"],
        options=tuple(choices),
        answer=row["answer"],
        language="en",
        category=subject,
        prompt=prompt,
        meta={
            "subject": subject,
            "question_type": row["question_type"],
            "image_tags": numbers,
            "subfield": row.get("subfield"),
            "topic_difficulty": row.get("topic_difficulty"),
            "img_type": row.get("img_type"),
        },
    )


@register_benchmark("mmmu", check_subsets=resolve_subjects)
def load_mmmu(
    subsets: Sequence[str] = (), *, seed: int = 0, options: LoadOptions = LoadOptions(), report: LoadReport | None = None
) -> list[Sample]:
    """MMMU validation questions of the named subjects (`mmmu:Art,Biology`), all 30 without subsets."""
    report = report if report is not None else LoadReport()
    samples = []
    for subject in resolve_subjects(subsets):
        for row in load_rows(REPO, subject, SPLIT, options, COLUMNS):
            sample = row_sample(row, subject, options, report)
            if sample is not None:
                samples.append(sample)
    return samples
