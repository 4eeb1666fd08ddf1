"""Where each capture kind is read from a decoder layer, and the taps that read it.

- `keys`, `queries`, `values`: outputs of the layer's k_proj / q_proj / v_proj (pre-RoPE), read by
  forward hooks; [B, T, heads * head_dim].
- `rotated-keys`, `rotated-queries`: the key / query states exactly as the attention function
  receives them (after RoPE, or Qwen-VL's multimodal RoPE; keys not yet repeated for GQA), read by a
  wrapper put in transformers' AttentionInterface under the model's own implementation name
  ("eager", "sdpa", ...), so the mask the model builds for that name is unchanged.

A tap raises StopForward once the deepest requested layer has been read, which ends the forward
pass early: nothing a deeper layer computes can change what was read.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from harness.errors import KeyspaceError

PROJECTION_KINDS = {"keys": "k", "queries": "q", "values": "v"}
ROTATED_KINDS = {"rotated-keys": "key", "rotated-queries": "query"}
KINDS = (*PROJECTION_KINDS, *ROTATED_KINDS)

Sink = Callable[[int, torch.Tensor], None]  # (layer index, [B, T, heads * head_dim]) → None


class StopForward(Exception):
    """Raised by the deepest tap to end the forward pass early."""


def run_tapped(loaded, inputs: dict, reads: Sequence[dict], layers: Sequence[int], *, what: str) -> dict:
    """One forward pass of `inputs` (moved to the model's device) inside the caller's taps, ended early
    by StopForward; a one-line error if a requested layer never reached every dict of `reads`.
    Returns the inputs as they went in."""
    inputs = {k: v.to(loaded.device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
    try:
        loaded.model(**inputs, use_cache=False)
    except StopForward:
        pass
    missing = [i for i in layers if any(i not in read for read in reads)]
    if missing:
        raise KeyspaceError(f"{what}: layer {missing[0]} of {loaded.spec.name} was never reached by the forward pass")
    return inputs


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise KeyspaceError(f"--ks-capture: unknown capture kind {kind!r}; use one of {', '.join(KINDS)}")
    return kind


def heads_of(kind: str, config) -> int:
    """Heads in one captured vector: query heads for queries, KV heads (GQA: fewer) for keys and values. Where
    the decoder's layers differ in KV heads (a per-layer config: Gemma 4's global layers), the fewest: the
    heads every layer has."""
    if kind in ("queries", "rotated-queries"):
        per_layer = _per_layer_values(config, "num_attention_heads")
        return min(per_layer) if per_layer else config.num_attention_heads
    per_layer = _per_layer_values(config, "num_key_value_heads")
    if per_layer:
        return min(per_layer)
    return getattr(config, "num_key_value_heads", None) or config.num_attention_heads


def _per_layer_values(config, name: str) -> list:
    """`name` of each layer of a config whose layers differ (transformers' per-layer configs, where reading
    the attribute on the whole config is an error); [] for a config whose layers are alike."""
    layers = getattr(config, "per_layer_config", None)
    if not layers:
        return []
    values = [getattr(layer, name, None) for layer in (layers.values() if isinstance(layers, dict) else layers)]
    return [v for v in values if v is not None]


def query_heads(attn: nn.Module, config) -> int:
    """Query heads of the layer whose attention module is `attn`: its own where a per-layer config gives each
    layer its count (Step 3.7's sliding layers have more than its full ones; reading the count on the whole
    config is an error there), else the config's."""
    layers = getattr(config, "per_layer_config", None)
    index = getattr(attn, "layer_idx", None)
    own = getattr(layers[index], "num_attention_heads", None) if layers and index is not None else None
    return config.num_attention_heads if own is None else own


def layer_layout(adapter, layer: nn.Module, kind: str, config) -> tuple[int, int]:
    """(heads in one captured `kind` vector, head size) at `layer`, read from its attention module: its head
    size, and for keys and values the width of its key projection over it (KV heads); queries: the layer's
    query heads (``query_heads``). A decoder whose layers differ (Gemma 4: global layers with wider heads and
    other KV heads; Step 3.7: other query heads) has no one count or head size in its config; elsewhere the
    module agrees with the config. A query projection that writes more than heads × head size (a gated
    attention's query and gate, Qwen3.5) cannot be cut into heads: `queries` there is an error naming
    `rotated-queries`."""
    attn = adapter.attention(layer)
    head_dim = getattr(attn, "head_dim", None) or config.hidden_size // query_heads(attn, config)
    if kind in ("queries", "rotated-queries"):
        heads = query_heads(attn, config)
        width = getattr(getattr(attn, "q_proj", None), "out_features", heads * head_dim)
        if kind == "queries" and width != heads * head_dim:
            raise KeyspaceError(
                f"--ks-capture queries: {type(attn).__name__}'s q_proj writes {width} numbers per token, not {heads} heads × "
                f"{head_dim} (a gated attention's query and gate); capture rotated-queries, the queries the attention uses"
            )
        return heads, head_dim
    try:
        width = adapter.projection(layer, "k").out_features
    except (KeyspaceError, AttributeError):  # no such projection module (a family adapter's own layout)
        return heads_of(kind, config), head_dim
    return width // head_dim, head_dim


@contextmanager
def tap(adapter, layers: Sequence[nn.Module], indices: Sequence[int], kind: str, sink: Sink, *, stop: bool) -> Iterator[None]:
    """Feed `sink` the `kind` vectors of layers `indices` during forward passes inside the block."""
    check_kind(kind)
    deepest = max(indices)
    if kind in PROJECTION_KINDS:
        with _projection_hooks(adapter, layers, indices, PROJECTION_KINDS[kind], sink, deepest if stop else None):
            yield
    else:
        with _attention_wrapper(adapter, layers, indices, ROTATED_KINDS[kind], sink, deepest if stop else None):
            yield


@contextmanager
def _projection_hooks(adapter, layers, indices, proj: str, sink: Sink, stop_at: int | None):
    def hook_for(index: int):
        def hook(_module, _inputs, output):
            sink(index, output.detach())
            if index == stop_at:
                raise StopForward

        return hook

    handles = [adapter.projection(layers[i], proj).register_forward_hook(hook_for(i)) for i in indices]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@contextmanager
def _attention_wrapper(adapter, layers, indices, which: str, sink: Sink, stop_at: int | None):
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    modules = {id(adapter.attention(layers[i])): i for i in indices}
    name = adapter.attention(layers[indices[0]]).config._attn_implementation or "eager"
    registered = ALL_ATTENTION_FUNCTIONS._local_mapping.get(name)
    original = ALL_ATTENTION_FUNCTIONS.get(name)

    def wrapped(module, query, key, value, attention_mask, **kwargs):
        index = modules.get(id(module))
        if index is not None:
            states = query if which == "query" else key  # [B, heads, T, head_dim]
            sink(index, states.detach().transpose(1, 2).flatten(2))  # [B, T, heads * head_dim], head-major like *_proj
            if index == stop_at:
                raise StopForward  # the deepest layer's states were read as its attention function got them
        fn = original if original is not None else _eager_of(module)
        return fn(module, query, key, value, attention_mask, **kwargs)

    ALL_ATTENTION_FUNCTIONS[name] = wrapped
    try:
        yield
    finally:
        if registered is None:
            del ALL_ATTENTION_FUNCTIONS[name]
        else:
            ALL_ATTENTION_FUNCTIONS[name] = registered


def _eager_of(module: nn.Module):
    """The eager attention function of the module's own modelling file (the default a model falls back to)."""
    fn = getattr(sys.modules[type(module).__module__], "eager_attention_forward", None)
    if fn is None:
        raise KeyspaceError(f"{type(module).__name__} has no eager_attention_forward; rotated states need an attention function registered in transformers' AttentionInterface")
    return fn
