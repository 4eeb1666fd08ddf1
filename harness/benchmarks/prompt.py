"""Prompt text in the official multiple-choice formats (question, then lettered options)."""

from __future__ import annotations

from typing import Sequence

LETTERS = "ABCDEFGHIJ"

# The instructions lmms-eval appends for multiple-choice questions.
INSTRUCTION = {
    "en": "Answer with the option's letter from the given choices directly.",
    "zh": "请直接回答选项字母。",
}


def format_options(options: Sequence[str]) -> str:
    """`A. first\\nB. second ...` in letter order."""
    return "\n".join(f"{LETTERS[i]}. {opt}" for i, opt in enumerate(options))


def multiple_choice(question: str, options: Sequence[str], language: str, hint: str | None = None) -> str:
    """Hint (if any), question, options, then the instruction to answer with the letter."""
    parts = [p for p in (hint, question, format_options(options), INSTRUCTION[language]) if p]
    return "\n".join(parts)


# MMMU's instructions (lmms-eval `mmmu/utils.py`, after the official MMMU repository).
MMMU_MULTIPLE_CHOICE = INSTRUCTION["en"]
MMMU_OPEN = "Answer the question using a single word or phrase."


def mmmu(question: str, options: Sequence[str]) -> str:
    """lmms-eval's MMMU prompt: `question\\nA. ...\\nB. ...\\n\\n<instruction>` (a blank line before it);
    open questions (no options): `question\\n\\nAnswer the question using a single word or phrase.`"""
    if options:
        return f"{question}\n{format_options(options)}\n\n{MMMU_MULTIPLE_CHOICE}"
    return f"{question}\n\n{MMMU_OPEN}"
