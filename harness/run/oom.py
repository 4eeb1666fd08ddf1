"""Out-of-memory backoff: halve the batch and retry, down to one sample, then a one-line error."""

from __future__ import annotations

from typing import Callable, TypeVar

import torch

from harness.errors import KeyspaceError

T = TypeVar("T")


def with_oom_backoff(run: Callable[[int], T], batch_size: int, *, describe: Callable[[], str]) -> tuple[T, list[str]]:
    """`run(batch_size)`, halving the batch on out-of-memory; returns the result and what happened.

    `describe()` names the model, layers and token count for the error at batch size 1; it is only
    called then, since working it out may cost a pass over the processor.
    """
    notes: list[str] = []
    size = batch_size
    while True:
        try:
            return run(size), notes
        except torch.OutOfMemoryError:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if size == 1:
                raise KeyspaceError(
                    f"out of memory at batch size 1 ({describe()}); try fewer layers, --ks-max-tokens, "
                    "--ks-dtype bfloat16 or --ks-device-map auto"
                ) from None
            notes.append(f"out of memory at batch size {size}; retried at {size // 2}")
            size //= 2
