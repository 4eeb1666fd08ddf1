"""The one sample type every benchmark loader yields."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image


@dataclass(frozen=True)
class Sample:
    """One benchmark question with its images, as the model will see it."""

    id: str  # unique within the benchmark, stable across runs (used to compare runs sample for sample)
    images: tuple[Image.Image, ...]  # in prompt order (MMMU: <image 1>, <image 2>, ...)
    question: str  # the question alone, as the dataset states it
    options: tuple[str, ...]  # answer options in letter order (A, B, ...); empty for open questions
    answer: str | None  # the correct letter (or open answer); None where the dataset hides it
    language: str  # "en" or "zh"
    category: str  # subject (MMMU) or category (MMBench); the stratum for sampling
    prompt: str  # the user text in the benchmark's official format (question, options, instruction)
    hint: str | None = None  # MMBench's hint, already part of `prompt` when present
    meta: dict = field(default_factory=dict, compare=False)  # loader-specific extras, JSON-serialisable
