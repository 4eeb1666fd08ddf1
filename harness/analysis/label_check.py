"""Sanity guards on token labels: turn silently wrong labels into a visible warning with the counts.

A triple's figures mean something only if `text` really holds the benchmark's text. Two symptoms
of labels gone wrong (a processor whose additions were taken for text, or text taken for
template), each checked over all prompts of the run (every non-pad token the capture saw, before
token caps):

- fewer text tokens than half of the benchmark text's own token count (its prompts tokenized
  alone, without template or images);
- more `special` tokens than text tokens, where the text tokens also fall more than 5 % short of that
  count (with the text labels all there, many special tokens are only a long template: PerceptionLM's
  default system prompt outnumbers a short question with every label right; the margin leaves room
  for a real tokenizer merging a token at the text's edges in context).

Either one flags the result: `extra["label_check"]` holds the counts and the problems, and the
message shown under the triple in the report and the console names them. `extra["prompt_format"]`
names how the prompt was built (the chat template, or the processor's own format without one).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from harness.results.figures import LabelCheck

if TYPE_CHECKING:
    from harness.capture.keys import KeyBank
    from harness.results.records import TripleResult

__all__ = ["LabelCheck", "label_problems", "label_check", "flag_labels"]


def label_problems(text: int, special: int, benchmark_text: int) -> list[str]:
    """One sentence per guard the counts trip (module doc); empty when the labels look sound."""
    found = []
    if text * 2 < benchmark_text:
        found.append(f"only {text} tokens are labelled text, fewer than half of the benchmark text's own "
                     f"{benchmark_text} tokens")
    if special > text and text * 20 < benchmark_text * 19:
        found.append(f"{special} special tokens outnumber the {text} text tokens")
    return found


def label_check(bank: "KeyBank") -> LabelCheck | None:
    """The counts of `bank`'s capture and the problems found in them, or None for a bank that does not
    know its benchmark text."""
    if "benchmark_text_tokens" not in bank.label_source:
        return None
    seen = {name: bank.kept.get(name, 0) + bank.dropped.get(name, 0) for name in ("text", "special")}
    benchmark_text = bank.label_source["benchmark_text_tokens"]
    return LabelCheck(seen["text"], seen["special"], benchmark_text,
                      tuple(label_problems(seen["text"], seen["special"], benchmark_text)))


def flag_labels(result: "TripleResult", bank: "KeyBank") -> "TripleResult":
    """`result` with its label counts in `extra`, and a warning in its message when a guard trips."""
    check = label_check(bank)
    if check is None:
        return result
    extra = {**result.extra, "prompt_format": bank.label_source.get("prompt_format"), "label_check": check.to_dict()}
    if not check.problems:
        return replace(result, extra=extra)
    warning = "label warning: " + "; ".join(check.problems) + " (check the family's labels, see docs/families.md)"
    return replace(result, extra=extra, message=f"{result.message}; {warning}" if result.message else warning)
