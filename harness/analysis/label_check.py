"""Sanity guards on token labels: turn silently wrong labels into a visible warning with the counts.

A triple's figures mean something only if `text` really holds the benchmark's text. Two symptoms
of labels gone wrong (a processor whose additions were taken for text, or text taken for
template), each checked over all prompts of the run (every non-pad token the capture saw, before
token caps):

- fewer text tokens than half of the benchmark text's own token count (its prompts tokenized
  alone, without template or images);
- more `special` tokens than text tokens.

Either one flags the result: `extra["label_check"]` holds the counts and the problems, and the
message shown under the triple in the report and the console names them. `extra["prompt_format"]`
names how the prompt was built (the chat template, or the processor's own format without one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.capture.keys import KeyBank
    from harness.results.records import TripleResult


@dataclass(frozen=True)
class LabelCheck:
    """Token counts of one capture, over all its prompts (non-pad tokens, before caps)."""

    text: int  # tokens labelled text
    special: int  # tokens labelled special
    benchmark_text: int  # tokens of the benchmark text tokenized alone

    def problems(self) -> list[str]:
        found = []
        if self.text * 2 < self.benchmark_text:
            found.append(
                f"only {self.text} tokens are labelled text, fewer than half of the benchmark text's own "
                f"{self.benchmark_text} tokens"
            )
        if self.special > self.text:
            found.append(f"{self.special} special tokens outnumber the {self.text} text tokens")
        return found


def label_check(bank: "KeyBank") -> LabelCheck | None:
    """The counts of `bank`'s capture, or None for a bank that does not know its benchmark text."""
    if "benchmark_text_tokens" not in bank.label_source:
        return None
    seen = {name: bank.kept.get(name, 0) + bank.dropped.get(name, 0) for name in ("text", "special")}
    return LabelCheck(seen["text"], seen["special"], bank.label_source["benchmark_text_tokens"])


def flag_labels(result: "TripleResult", bank: "KeyBank") -> "TripleResult":
    """`result` with its label counts in `extra`, and a warning in its message when a guard trips."""
    check = label_check(bank)
    if check is None:
        return result
    problems = check.problems()
    extra = {
        **result.extra, "prompt_format": bank.label_source.get("prompt_format"),
        "label_check": {**asdict(check), "problems": problems},
    }
    if not problems:
        return replace(result, extra=extra)
    warning = "label warning: " + "; ".join(problems) + " (check the family's labels, see docs/families.md)"
    return replace(result, extra=extra, message=f"{result.message}; {warning}" if result.message else warning)
