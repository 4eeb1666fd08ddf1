"""Prompts as a checkpoint's user builds them, and where the benchmark's text sits in them.

The token sequence comes from the checkpoint's documented path, nothing rebuilt by hand:
`processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)`
(transformers then renders the template, tokenizes without adding a BOS the template already wrote,
and lets the processor expand each image placeholder); a checkpoint without a chat template
(PaliGemma) gets `processor(text=..., images=...)`, its processor's own prompt format.

Which characters are the benchmark's text is found by construction, in the very string the
processor handed to its tokenizer (`tokenized`: the template's output after the processor's own
expansion of image placeholders, wrappers, row and tile markers). While the processor runs, its
tokenizer records that string and the character offsets of every token in it. The benchmark's text
is located in it as follows, never by counting what an expansion adds:

1. The template is rendered a second time with the text replaced by a sentinel; the real render
   must equal the sentinel render with the sentinel swapped back (otherwise the template rewrote
   the text, and nobody can tell which tokens came from it: a one-line error).
2. If the text occurs exactly once in `tokenized`, that occurrence is it (a processor only inserts
   around placeholders; it cannot make the benchmark's text disappear and reappear elsewhere).
3. Otherwise (the text also occurs in a system prompt, or is very short), the processor runs once
   more on the sentinel render with the same images; the sentinel's place in that output is the
   text's place, checked by swapping the sentinel back and finding the real `tokenized` string.

Offsets tie tokens to characters (harness.models.labels). A processor that changes token ids after its
tokenizer ran, or tokenizes in pieces, cannot be tied back: it gets a one-line error too.
"""

from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import torch

from harness.errors import KeyspaceError

if TYPE_CHECKING:
    from harness.benchmarks.sample import Sample

SENTINEL = "\ue000keyspace-benchmark-text\ue001"  # private-use code points: no template writes them
CHAT_TEMPLATE = "chat template"
PROCESSOR_PREFIX = "processor prompt format (no chat template)"


@dataclass
class Built:
    """One batch as the processor made it, with where each row's benchmark text lies."""

    batch: dict[str, torch.Tensor]  # processor output (left-padded), ready for the model
    tokenized: list[str]  # per row: the exact string the processor's tokenizer received
    offsets: torch.Tensor  # [B, T, 2] character offsets of each token into its row of `tokenized`
    spans: list[tuple[int, int]]  # per row: [start, end) of the benchmark's text in `tokenized`


@cache
def _recording(cls: type) -> type:
    """`cls` whose calls also record the text they got and its offsets (same output otherwise)."""

    def __call__(self, text=None, *args, **kwargs):
        out = cls.__call__(self, text, *args, **kwargs)
        if text is not None and not args:
            extra = {k: v for k, v in kwargs.items() if k not in ("return_tensors", "return_offsets_mapping")}
            try:
                again = cls.__call__(self, text, return_offsets_mapping=True, **extra)
            except (NotImplementedError, ValueError, TypeError):  # a tokenizer without offsets (a Python one)
                again = None
            self.__dict__.setdefault("_keyspace_calls", []).append((text, again))
        return out

    return type(cls.__name__, (cls,), {"__call__": __call__, "__module__": cls.__module__})


@contextlib.contextmanager
def recorded_tokenizer(processor: Any) -> Iterator[list]:
    """While active, every call of `processor.tokenizer` is recorded as (text, encoding with offsets)."""
    tok = processor.tokenizer
    cls = type(tok)
    tok.__class__ = _recording(cls)
    calls = tok.__dict__.setdefault("_keyspace_calls", [])
    calls.clear()
    try:
        yield calls
    finally:
        tok.__class__ = cls
        tok.__dict__.pop("_keyspace_calls", None)


def has_chat_template(processor: Any) -> bool:
    """Whether `processor.apply_chat_template` has a template to render: the processor's own. A template
    held by the tokenizer alone (Chameleon) is not used by the processor, so it does not count."""
    return bool(getattr(processor, "chat_template", None))


def prompt_format(processor: Any) -> str:
    """How prompts of this processor are built: CHAT_TEMPLATE or PROCESSOR_PREFIX."""
    return CHAT_TEMPLATE if has_chat_template(processor) else PROCESSOR_PREFIX


def _run(processor: Any, rows: list, images: list[list], *, templated: bool) -> tuple[dict, list[str], torch.Tensor]:
    """The processor's output for `rows` (conversations where `templated`, else plain prompts), the
    strings its tokenizer got and their offsets."""
    name = type(processor).__name__
    with recorded_tokenizer(processor) as calls:
        try:
            if templated:
                out = processor.apply_chat_template(
                    rows, add_generation_prompt=True, tokenize=True, return_dict=True,
                    return_tensors="pt", processor_kwargs={"padding": True},
                )
            else:
                out = processor(text=rows, images=images, return_tensors="pt", padding=True)
        except (ValueError, TypeError, IndexError) as exc:  # e.g. a processor that rejects a batch's nested image lists
            first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
            raise KeyspaceError(f"{name} rejected {len(rows)} prompt(s) with their images ({first}){_hint(processor, templated, len(rows))}") from None
        calls = list(calls)
    batch = {k: v for k, v in dict(out).items() if k != "offset_mapping"}
    texts = [c[0] for c in calls]
    if len(calls) != 1:
        raise KeyspaceError(
            f"{name} tokenized its {len(images)} prompt(s) in {len(calls)} tokenizer calls, not one call for the whole "
            "batch; the harness cannot tie its tokens to the benchmark text"
        )
    if not isinstance(texts[0], list) or len(texts[0]) != len(images):
        got = f"a list of {len(texts[0])} texts" if isinstance(texts[0], list) else f"a {type(texts[0]).__name__}"
        raise KeyspaceError(
            f"{name} tokenized {got} for a batch of {len(images)} prompt(s) (not one text per prompt); "
            "the harness cannot tie its tokens to the benchmark text"
        )
    encoding = calls[0][1]
    if encoding is None:
        raise KeyspaceError(
            f"{type(processor.tokenizer).__name__} gives no character offsets; the harness needs the checkpoint's "
            "fast (tokenizers) tokenizer to tie tokens to the benchmark text"
        )
    ids = torch.tensor(encoding["input_ids"])
    if ids.shape != batch["input_ids"].shape or not torch.equal(ids, batch["input_ids"].cpu()):
        raise KeyspaceError(
            f"{name} changes token ids after its tokenizer ran; the harness cannot tie its tokens to the benchmark text"
        )
    return batch, texts[0], torch.tensor(encoding["offset_mapping"])


def takes_chat_template(processor: Any) -> bool:
    """Whether the processor's class can hold a chat template: one saved beside a processor whose constructor
    takes none (Chameleon) is read back into its tokenizer alone."""
    parameters = inspect.signature(type(processor).__init__).parameters.values()
    return any(p.name == "chat_template" or p.kind is p.VAR_KEYWORD for p in parameters)


def no_template(processor: Any) -> str:
    """Why a processor's plain prompt format was used, and how to give it a template, or that none can be given
    (one clause)."""
    name = type(processor).__name__
    held = " (one held by its tokenizer alone is not used by processor.apply_chat_template)" if getattr(
        processor.tokenizer, "chat_template", None) else ""
    fix = ("save the checkpoint with processor.chat_template set" if takes_chat_template(processor) else
           f"{name} takes no chat template (a saved one is read back into its tokenizer alone), so this family is not measured")
    return f"{name} has no chat template of its own{held}, so its plain prompt format was used; {fix}"


def _hint(processor: Any, templated: bool, rows: int) -> str:
    """What may make a processor accept the prompts it rejected."""
    if not templated:
        return f"; {no_template(processor)}"
    return "; try --ks-batch-size 1" if rows > 1 else ""


def _render(processor: Any, conversation: list[dict]) -> str:
    return processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)


# Processors whose documented path never puts a user's text beside the image, by class: why (one clause).
OWN_PROMPT_ONLY = {
    "GotOcr2Processor": "places the image only in its own fixed OCR prompt, which it writes when given no text (given a "
                        "user's text it writes no image placeholder, and it rejects one image list per prompt)",
    "PPChart2TableProcessor": "places the image only in its own fixed prompt (a system turn, the image, then \"Chart to table\"), "
                              "which its chat template writes whatever the user's text, leaving that text out",
}


def build(processor: Any, texts: Sequence[str], images: Sequence[Sequence[Any]], conversation) -> Built:
    """Tokenize one batch on the documented path; `conversation(text, images)` makes one row's messages."""
    name = type(processor).__name__
    if name in OWN_PROMPT_ONLY:
        raise KeyspaceError(f"{name} {OWN_PROMPT_ONLY[name]}, so no prompt holds both the benchmark text and the image; "
                            "this family is not measured")
    image_token = getattr(processor, "image_token", None)
    image_token = str(image_token) if image_token is not None else None  # an AddedToken (InstructBLIP) as its text
    for text in texts:
        if SENTINEL in text or (image_token and image_token in text):
            raise KeyspaceError(f"benchmark text {text[:40]!r} contains {image_token!r}, which the processor would expand as an image")
    images = [list(i) for i in images]
    templated = has_chat_template(processor)
    if templated:
        real = [conversation(t, i) for t, i in zip(texts, images)]
        marked = [conversation(SENTINEL, i) for i in images]
        for text, r, m in zip(texts, real, marked):
            shown, with_sentinel = _render(processor, r), _render(processor, m)
            if with_sentinel.count(SENTINEL) != 1 or with_sentinel.replace(SENTINEL, text) != shown:
                raise KeyspaceError(
                    f"the chat template of {type(processor).__name__} rewrites the benchmark text; "
                    "the harness cannot tell which tokens came from it"
                )
    else:
        real, marked = list(texts), [SENTINEL] * len(texts)
    batch, tokenized, offsets = _run(processor, real, images, templated=templated)
    spans = []
    sentinel_run = None
    for row, (text, full) in enumerate(zip(texts, tokenized)):
        if full.count(text) == 1:
            start = full.index(text)
        else:
            if sentinel_run is None:
                sentinel_run = _run(processor, marked, images, templated=templated)[1]
            other = sentinel_run[row]
            if other.count(SENTINEL) != 1 or other.replace(SENTINEL, text) != full:
                raise KeyspaceError(
                    f"{type(processor).__name__} does not keep the benchmark text verbatim in its prompt; "
                    "the harness cannot tell which tokens came from it"
                )
            start = other.index(SENTINEL)
        spans.append((start, start + len(text)))
    return Built(batch, tokenized, offsets, spans)


def benchmark_text_tokens(tokenizer: Any, texts: Iterable[str]) -> int:
    """Tokens of the benchmark's texts tokenized alone (no template, no special tokens). Each distinct text is
    tokenized once per tokenizer: its count is kept on the tokenizer (with its vocabulary size, so that added
    tokens invalidate it), so the captures of one (model, benchmark) pair, whichever batches or subsets of its
    samples they take, tokenize the benchmark's text once."""
    memo = tokenizer.__dict__.setdefault("_keyspace_text_tokens", {})
    vocabulary = len(tokenizer)
    total = 0
    for text in texts:
        key = (vocabulary, text)
        if key not in memo:
            memo[key] = _text_tokens(tokenizer, text)
        total += memo[key]
    return total


def _text_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def label_source(processor: Any, samples: Iterable["Sample"]) -> dict[str, Any]:
    """What a bank records about how its labels were made: the prompt format (chat template or the
    processor's own format) and the benchmark text's own token count."""
    return {
        "prompt_format": prompt_format(processor),
        "benchmark_text_tokens": benchmark_text_tokens(processor.tokenizer, (s.prompt for s in samples)),
    }
