"""An attention-bias knob on image keys: every query's attention logit onto an image-token key gets `bias` added,
at chosen decoder layers (docs/organisms.md, "Attention bias on image keys").

It tests "under-attention to the image causes text bias" directly, apart from where the keys lie: under that
account, raising image attention (bias > 0) lowers conflict-following and lowering it (bias < 0) raises it. A bias
of −∞ is masking the image out of attention (the masked-image control); 0 is the plain model (both tested).

How: a pre-hook on each chosen layer's attention module replaces its `attention_mask` by an additive float mask
(the causal and padding mask the model would use, in float, plus `bias` on the image-key columns), which the
eager and SDPA attention paths both add to the logits. The image-key columns are known from the prompt's
`input_ids`; a call that continues a KV cache (the prompt's candidates, `evaluate.scores`) appends non-image
columns, and a cache reordered across rows (`reorder_cache`) carries the columns with it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import torch


def _base(mask: torch.Tensor | None, q_len: int, k_len: int, batch: int, dtype: torch.dtype) -> torch.Tensor:
    """The layer's mask as an additive float [B, 1, Q, K] (None: causal over a cache of k_len − q_len)."""
    low = torch.finfo(dtype).min
    if mask is None:
        allowed = torch.ones(q_len, k_len, dtype=torch.bool).tril(k_len - q_len)
        return torch.zeros(batch, 1, q_len, k_len, dtype=dtype).masked_fill(~allowed, low)
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype).masked_fill(~mask, low)
    return mask.to(dtype)


@contextmanager
def biased(model: Any, bias: float, layers: Sequence[int] | None = None) -> Iterator[None]:
    """Within the block, attention onto image-token keys gets `bias` added to its logits at `layers` (default all)."""
    image_id = model.config.image_token_id
    decoder = model.model.language_model.layers
    chosen = range(len(decoder)) if layers is None else layers
    state: dict[str, torch.Tensor] = {}

    def before_model(_m: Any, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        cache = kwargs.get("past_key_values")
        image = ids == image_id
        continuing = cache is not None and cache.get_seq_length() > 0 and "columns" in state
        state["columns"] = torch.cat([state["columns"], image], 1) if continuing else image

    def after_model(_m: Any, _args: tuple, _kwargs: dict, out: Any) -> None:
        cache = getattr(out, "past_key_values", None)
        if cache is not None and not getattr(cache, "_keyspace_follows", False):
            reorder = cache.reorder_cache

            def follow(rows: torch.Tensor) -> Any:  # the image columns go where the cache's rows go
                state["columns"] = state["columns"][rows.to(state["columns"].device)]
                return reorder(rows)

            cache.reorder_cache, cache._keyspace_follows = follow, True

    def before_attention(_m: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        hidden = kwargs.get("hidden_states", args[0] if args else None)
        columns = state["columns"]
        q_len, k_len = hidden.shape[1], columns.shape[1]
        base = _base(kwargs.get("attention_mask"), q_len, k_len, hidden.shape[0], hidden.dtype)[..., :k_len]
        kwargs["attention_mask"] = base + bias * columns[:, None, None, :].to(hidden.dtype)
        return args, kwargs

    handles = [model.register_forward_pre_hook(before_model, with_kwargs=True),
               model.register_forward_hook(after_model, with_kwargs=True)]
    handles += [decoder[i].self_attn.register_forward_pre_hook(before_attention, with_kwargs=True) for i in chosen]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
