"""Layer selection: indices, negative indices, and the words first, mid, last, all.

Keys exist only at self-attention layers. A hybrid decoder (LFM2-VL: short convolutions; Qwen3.5:
linear attention; Mllama: cross-attention layers) has other layers between them, so the words
resolve over its self-attention layers, and an index that points at another layer is refused with
the list of self-attention layers. Which layers attend is read from the config (`layer_types`,
`cross_attention_layers`) when a run is planned, and from the modules when a model is loaded.

A decoder whose last layers read an earlier layer's keys instead of computing their own (Gemma 3n and
the Gemma 4 E2B/E4B checkpoints: `num_kv_shared_layers`) has no keys of its own there: the words
resolve over the layers that compute keys, and an index of a sharing layer is refused naming the layer
whose keys it reads (measuring that layer measures them).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from harness.errors import KeyspaceError

WORDS = ("first", "mid", "last", "all")
# Words of config.layer_types that name a layer without self-attention keys: an "...attention" type
# with one of the first two (linear_attention, cross_attention), any other type with any of them
# (conv, mamba, mlp, moe, ...). A type the list does not know counts as attention here; the loaded
# model's modules have the last word (LoadedModel.attention_layers).
NOT_SELF_ATTENTION = ("linear", "cross", "conv", "mamba", "recurrent", "ssm", "rwkv", "delta", "mlp", "moe")


def _self_attention(layer_type: str) -> bool:
    t = str(layer_type).lower()
    words = NOT_SELF_ATTENTION[:2] if "attention" in t else NOT_SELF_ATTENTION
    return not any(word in t for word in words)


def kv_reuse_of(text_config) -> dict[int, int]:
    """{layer: the layer whose keys and values it reads} for the last `num_kv_shared_layers` layers of a
    decoder that shares them (Gemma 3n, Gemma 4): each reads the last layer before them of its own type
    (sliding or full attention), as transformers' `kv_sharing_modes` pairs them. {} for other decoders."""
    n = text_config.num_hidden_layers
    shared = int(getattr(text_config, "num_kv_shared_layers", 0) or 0)
    types = list(getattr(text_config, "layer_types", None) or ())
    if shared <= 0 or len(types) < n:
        return {}
    first = n - shared
    last_of = {t: j for j, t in enumerate(types[:first])}  # the last producer of each type
    return {i: last_of[types[i]] for i in range(first, n) if types[i] in last_of}


def typed_self_attention(text_config) -> set[int] | None:
    """Indices of the layers whose `layer_types` entry names self-attention; None when the config has no
    `layer_types` (a layer past its end counts as self-attention). A layer whose type names linear attention
    (GLM-5.3-Flash's and Kimi-Linear's delta-rule layers) has no keys even where its module has a k_proj."""
    types = getattr(text_config, "layer_types", None)
    if not types:
        return None
    return {i for i in range(text_config.num_hidden_layers) if i >= len(types) or _self_attention(types[i])}


def attention_layers_of(text_config) -> list[int] | None:
    """Indices of the layers a text config describes that compute self-attention keys; None when every
    layer does (not: linear, convolution, cross-attention layers, nor layers reading another's keys)."""
    n = text_config.num_hidden_layers
    typed = typed_self_attention(text_config)
    skip = set(getattr(text_config, "cross_attention_layers", None) or ()) | set(kv_reuse_of(text_config))
    keep = [i for i in range(n) if i not in skip and (typed is None or i in typed)]
    return None if len(keep) == n else keep


def _attention_phrase(attention: Sequence[int]) -> str:
    return f"its self-attention layers are {', '.join(map(str, attention))}" if attention else "it has no self-attention layer"


SMALL_DECODER = 4  # a decoder with at most this many self-attention layers is measured at every one by default


def default_words(words: Sequence[str], num_layers: int, attention: Sequence[int] | None = None) -> tuple[str, ...]:
    """The layer words a model is measured at without --ks-layers: its spec's `words`, or "all" where the
    decoder has at most SMALL_DECODER self-attention layers (first, mid and last would leave one out)."""
    over = num_layers if attention is None else len(attention)
    return ("all",) if over <= SMALL_DECODER else tuple(words)


def resolve_layers(
    tokens: Sequence[str], num_layers: int, *, model: str, attention: Sequence[int] | None = None, option: str = "--ks-layers",
    reuse: Mapping[int, int] | None = None,
) -> list[int]:
    """Sorted unique layer indices for `tokens`, or a one-line error naming `option` and the valid range.

    `attention`: the self-attention layers where not every layer is one (None: all are); the words
    resolve over them (first = the first self-attention layer, mid = the middle one of them, ...).
    `reuse` (``kv_reuse_of``) names, in the error, the layer whose keys a sharing layer reads."""
    over = list(range(num_layers)) if attention is None else sorted(attention)
    if not over:
        raise KeyspaceError(f"{option}: {model} has no self-attention layer, so no keys to capture")
    chosen: set[int] = set()
    for raw in tokens:
        token = raw.strip().lower()
        if token == "all":
            chosen.update(over)
        elif token == "first":
            chosen.add(over[0])
        elif token == "mid":
            chosen.add(over[len(over) // 2])
        elif token == "last":
            chosen.add(over[-1])
        else:
            try:
                index = int(token)
            except ValueError:
                raise KeyspaceError(
                    f"{option}: {raw!r} is not a layer; use integers (negative counts from the end) or {', '.join(WORDS)}"
                ) from None
            if not -num_layers <= index < num_layers:
                raise KeyspaceError(
                    f"{option}: layer {index} is outside {model}'s range 0..{num_layers - 1} (or -{num_layers}..-1)"
                )
            chosen.add(index % num_layers)
    if not chosen:
        raise KeyspaceError(f"{option}: no layer given; use e.g. '0,mid,-1' or 'all'")
    check_attention(chosen, attention, model=model, what=option, reuse=reuse)
    return sorted(chosen)


def check_attention(layers, attention: Sequence[int] | None, *, model: str, what: str,
                    reuse: Mapping[int, int] | None = None) -> None:
    """A one-line error when one of `layers` is not a self-attention layer (`attention`; None: all are);
    for a layer that reads another's keys (`reuse`), the error names that layer."""
    if attention is None:
        return
    bad = sorted(set(layers) - set(attention))
    if bad and reuse and bad[0] in reuse:
        raise KeyspaceError(
            f"{what}: layer {bad[0]} of {model} computes no keys of its own, it reads layer {reuse[bad[0]]}'s (KV sharing: "
            f"num_kv_shared_layers); measure layer {reuse[bad[0]]}, whose keys they are"
        )
    if bad:
        raise KeyspaceError(
            f"{what}: layer {bad[0]} of {model} is not a self-attention layer, so it has no keys; {_attention_phrase(attention)}"
        )


def checked_indices(
    layers: Sequence[int], num_layers: int, *, model: str, what: str, attention: Sequence[int] | None = None,
    reuse: Mapping[int, int] | None = None,
) -> list[int]:
    """Sorted unique `layers`, or a one-line error when none is given, one is out of range, or one is
    not a self-attention layer."""
    chosen = sorted(set(layers))
    if not chosen:
        raise KeyspaceError(f"{what}: no layer given")
    bad = [i for i in chosen if not 0 <= i < num_layers]
    if bad:
        raise KeyspaceError(f"{what}: layer {bad[0]} is outside {model}'s range 0..{num_layers - 1}")
    check_attention(chosen, attention, model=model, what=what, reuse=reuse)
    return chosen
