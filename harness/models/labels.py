"""Modality labels for every token of a processed prompt: image, text, special, or padding.

`image`: the positions the model fills with vision features (`input_ids == image_token_id` after the
processor expanded the placeholders, and the markers whose embeddings the vision side writes, named
by the family's adapter); harness.models.placement proves them on every capture.
`text`: exactly the tokens of the benchmark's own text (question, options, instruction).
`special`: everything else the chat template and the processor added (BOS, role markers, image
wrappers, row/tile/line-break markers, vision start/end), and every special/added token id.
Padding is labelled PAD and never enters a key bank.

Labels come from how tokens were made: `tokenized` is the string the processor's own tokenizer
received (after the processor's expansion), `span` is where the benchmark text lies in it (found by
harness.models.prompts), and each token's character offsets say where it came from. No arithmetic
on what an expansion adds. A token is `text` when its non-space characters lie inside the span: a
tokenizer that glues the template's separating space to the first word ("USER: What" → " What")
gives that word to the text, and a token that mixes template and text characters stays `special`.
"""

from __future__ import annotations

import torch

PAD, TEXT, IMAGE, SPECIAL = -1, 0, 1, 2
MODALITY_NAMES = {TEXT: "text", IMAGE: "image", SPECIAL: "special"}


def label_tokens(
    input_ids: torch.Tensor,  # [T] one sequence
    attention_mask: torch.Tensor,  # [T]
    offsets: torch.Tensor,  # [T, 2] character offsets into `tokenized`
    *,
    tokenized: str,  # the exact string the processor's tokenizer received for this sequence
    span: tuple[int, int],  # [start, end) of the benchmark's text in `tokenized`
    image_token_id: int,
    special_ids: frozenset[int],
    marker_ids: frozenset[int] = frozenset(),  # markers the vision side embeds: image too
) -> torch.Tensor:  # [T] int8 labels
    start, end = span
    labels = []
    for tok, keep, (a, b) in zip(input_ids.tolist(), attention_mask.tolist(), offsets.tolist()):
        if not keep:
            labels.append(PAD)
        elif tok == image_token_id or tok in marker_ids:
            labels.append(IMAGE)
        elif tok in special_ids or b <= a:
            labels.append(SPECIAL)
        else:
            piece = tokenized[a:b]
            lo, hi = a + len(piece) - len(piece.lstrip()), b - (len(piece) - len(piece.rstrip()))
            if hi <= lo:  # whitespace only: text when wholly inside
                lo, hi = a, b
            labels.append(TEXT if start <= lo and hi <= end else SPECIAL)
    return torch.tensor(labels, dtype=torch.int8)
