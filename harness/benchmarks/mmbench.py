"""MMBench-CN (hub `lmms-lab/MMBench`, config `cn`, split `dev`) in its official prompt format.

Prompt: the format of MMBench's official evaluations (LLaVA's `model_vqa_mmbench.py --lang cn
--single-pred-prompt`, VLMEvalKit's multiple-choice prompt): hint (when present), question, the
options `A. …` up to the first missing one, then `请直接回答选项字母。`, one per line. (lmms-eval's
`mmbench_cn` task words it differently: space-joined, `有如下几个选项：` before the options and
`请直接使用所提供的选项字母作为答案回答。` after.)

Rows with an index of 1,000,000 or more are circular-evaluation copies (the same image and
question with the options rotated; MMBench's evaluator scores them with `index % 1e6`). They are
skipped and counted: they would count one image and question several times among the prompts.
"""

from __future__ import annotations

from typing import Sequence

from harness.errors import KeyspaceError

from .loading import LoadOptions, LoadReport, decode_image, is_missing, load_rows
from .prompt import multiple_choice
from .registry import register_benchmark
from .sample import Sample

REPO = "lmms-lab/MMBench"
CONFIG = "cn"
SPLIT = "dev"
LETTERS = "ABCDE"
CIRCULAR_OFFSET = 1_000_000
COLUMNS = ("index", "question", "category")  # read without a default by row_sample


def row_sample(row: dict, report: LoadReport) -> Sample | None:
    """One MMBench row as a Sample, or None (and a count in `report`) when it cannot be used."""
    rid = f"mmbench-cn-{row['index']}"
    if int(row["index"]) >= CIRCULAR_OFFSET:
        report.skip("circular-evaluation copy", rid)
        return None
    choices = []
    for letter in LETTERS:  # options end at the first missing one, as the official evaluation reads them
        if is_missing(row.get(letter)):
            break
        choices.append(str(row[letter]))
    if not choices:
        report.skip("no options", rid)
        return None
    image = decode_image(row.get("image"))
    if image is None:
        report.skip("image missing or unreadable", rid)
        return None
    hint = None if is_missing(row.get("hint")) else str(row["hint"])
    return Sample(
        id=rid,
        images=(image,),
        question=row["question"],
        options=tuple(choices),
        answer=None if is_missing(row.get("answer")) else row["answer"],
        language="zh",
        category=row["category"],
        prompt=multiple_choice(row["question"], choices, "zh", hint),
        hint=hint,
        meta={
            "index": int(row["index"]),
            "l2_category": row.get("L2-category"),
            "source": row.get("source"),
            "split": row.get("split"),
        },
    )


@register_benchmark("mmbench-cn")
def load_mmbench_cn(
    subsets: Sequence[str] = (), *, seed: int = 0, options: LoadOptions = LoadOptions(), report: LoadReport | None = None
) -> list[Sample]:
    """MMBench-CN dev questions, all or only the named categories (`mmbench-cn:image_scene`)."""
    report = report if report is not None else LoadReport()
    rows = load_rows(REPO, CONFIG, SPLIT, options, COLUMNS)
    categories = sorted(set(rows["category"]))
    unknown = sorted(set(subsets) - set(categories))
    if unknown:
        raise KeyspaceError(f"unknown MMBench-CN categor(y/ies) {', '.join(unknown)}; valid categories: {', '.join(categories)}")
    samples = []
    for row in rows:
        if subsets and row["category"] not in subsets:
            continue
        sample = row_sample(row, report)
        if sample is not None:
            samples.append(sample)
    return samples
