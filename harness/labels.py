"""Modality labels for every token of a processed prompt: image, text, special, or padding.

`image`: the ids the processor expanded each image placeholder into.
`text`: tokens whose characters lie inside the benchmark's own text (question, options, instruction).
`special`: everything else the chat template added (BOS, role markers such as "USER:",
`<|im_start|>`, `<|vision_start|>` ...), and every special/added token id wherever it appears.
Padding is labelled PAD and never enters a key bank.
"""

from __future__ import annotations

from typing import Sequence

import torch

PAD, TEXT, IMAGE, SPECIAL = -1, 0, 1, 2
MODALITY_NAMES = {TEXT: "text", IMAGE: "image", SPECIAL: "special"}


def label_tokens(
    input_ids: torch.Tensor,  # [T] one sequence
    attention_mask: torch.Tensor,  # [T]
    offsets: torch.Tensor,  # [T, 2] character offsets into the processor's expanded text
    *,
    rendered: str,  # the chat-template output before the processor expanded image placeholders
    content: Sequence[str],  # the benchmark's text pieces, each appearing verbatim in `rendered`
    image_token_id: int,
    placeholder: str,  # the image placeholder string in `rendered` (e.g. "<image>", "<|image_pad|>")
    special_ids: frozenset[int],
) -> torch.Tensor:  # [T] int8 labels
    spans = []
    cursor = 0
    for piece in content:
        start = rendered.find(piece, cursor)
        if start < 0:
            raise ValueError(f"benchmark text {piece[:40]!r} does not appear in the rendered prompt")
        spans.append((start, start + len(piece)))
        cursor = start + len(piece)

    ids = input_ids.tolist()
    mask = attention_mask.tolist()
    offs = offsets.tolist()
    labels = [PAD] * len(ids)
    shift = 0  # characters the expansion of earlier image runs added
    run_start = None
    for i, (tok, keep, (a, b)) in enumerate(zip(ids, mask, offs)):
        if not keep:
            continue
        if tok == image_token_id:
            labels[i] = IMAGE
            run_start = a if run_start is None else run_start
            if i + 1 == len(ids) or ids[i + 1] != image_token_id:
                shift += (b - run_start) - len(placeholder)
                run_start = None
            continue
        if tok in special_ids:
            labels[i] = SPECIAL
            continue
        a, b = a - shift, b - shift
        inside = any(s <= a and b <= e for s, e in spans) and b > a
        labels[i] = TEXT if inside else SPECIAL
    return torch.tensor(labels, dtype=torch.int8)
