"""Put fitted interventions into a model's forward pass, through the same k_proj as capture taps.

The map acts on the output of the layer's key projection (pre-RoPE keys, [B, T, kv_heads · head_dim]),
so the rotation the attention module applies afterwards (RoPE, Qwen-VL's M-RoPE) still applies to
the changed keys. Which positions are changed comes from each prompt's modality labels, made by
the adapter's own labeller: `LabelBook` encodes every prompt once, alone, and looks its labels up
by the prompt's token ids when a (left-padded) batch of them passes through the model. So the
intervention works on whatever batches capture, mechanism or answer passes make, for every family.

A forward hook registered before a capture tap on the same k_proj runs first, so the tap reads the
changed keys.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from typing import Iterator, Mapping, Sequence

import torch

from harness.benchmarks.sample import Sample
from harness.capture.keys import LayerBank
from harness.errors import KeyspaceError
from harness.models.labels import PAD, SPECIAL
from harness.models.adapter import LoadedModel

from .fit import Intervention


class LabelBook:
    """Modality labels of known prompts, keyed by their unpadded token ids."""

    def __init__(self) -> None:
        self._rows: dict[bytes, torch.Tensor] = {}

    def add(self, loaded: LoadedModel, samples: Sequence[Sample]) -> "LabelBook":
        for s in samples:
            self.add_encoded(*loaded.adapter.encode(loaded, [s]), [s.id])
        return self

    def add_encoded(self, inputs: Mapping[str, torch.Tensor], labels: torch.Tensor, ids: Sequence[str]) -> "LabelBook":
        """The prompts of one encoded batch (`labels` [B, T], PAD where padded; `ids` name its rows),
        so that a study that encodes each prompt once need not encode it again for the book."""
        for b, name in enumerate(ids):
            real = labels[b] != PAD
            key = _key(inputs["input_ids"][b][real])
            known = self._rows.get(key)
            if known is not None and not torch.equal(known, labels[b][real]):
                raise KeyspaceError(f"prompt {name}: the same token ids were labelled two ways; labels must follow from the ids")
            self._rows[key] = labels[b][real]
        return self

    def labels(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """[B, T] int8 labels of a batch (PAD where the mask is 0); a one-line error for an unknown prompt.

        A row that is a known prompt followed by more tokens (an answer scored after it,
        harness.intervention.measure) has the prompt's labels and SPECIAL after them: no intervention
        moves the keys of an answer's tokens."""
        mask = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        out = torch.full(input_ids.shape, PAD, dtype=torch.int8)
        for b in range(input_ids.shape[0]):
            ids = input_ids[b][mask[b]]
            row = self._rows.get(_key(ids))
            if row is None:
                row = self._prefix(ids)
            if row is None:
                raise KeyspaceError("intervention: a prompt in the batch was not added to the label book; add every prompt before running it")
            out[b, mask[b].cpu()] = row
        return out

    def _prefix(self, ids: torch.Tensor) -> torch.Tensor | None:
        """Labels of the longest known prompt that `ids` starts with, SPECIAL for the rest; None: none."""
        for n in range(len(ids) - 1, 0, -1):
            row = self._rows.get(_key(ids[:n]))
            if row is not None:
                return torch.cat([row, torch.full((len(ids) - n,), SPECIAL, dtype=row.dtype)])
        return None


def _key(ids: torch.Tensor) -> bytes:
    return ids.detach().to("cpu", torch.int64).numpy().tobytes()


@contextmanager
def intervene(loaded: LoadedModel, book: LabelBook, interventions: Mapping[int, Intervention] | Sequence[Intervention]) -> Iterator[None]:
    """While active, every forward pass of `loaded.model` applies each intervention to the pre-RoPE keys
    of its modality's tokens at its layer. An empty collection changes nothing."""
    chosen = list(interventions.values()) if isinstance(interventions, Mapping) else list(interventions)
    if not chosen:
        yield
        return
    layers = [iv.layer for iv in chosen]
    if len(set(layers)) != len(layers):
        raise KeyspaceError(f"intervention: at most one intervention per layer, got layers {layers}")
    state: dict[str, torch.Tensor] = {}

    def remember(_module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:
            raise KeyspaceError("intervention: the model was called without input_ids; the label book needs them")
        cache = kwargs.get("past_key_values")
        if cache is not None and cache.get_seq_length() > 0:
            # tokens after a cached prompt: an answer scored after it (harness.intervention.continuation),
            # labelled special, as the book labels the tokens after a known prompt
            state["labels"] = torch.full(ids.shape, SPECIAL, dtype=torch.int8)
        else:
            state["labels"] = book.labels(ids, kwargs.get("attention_mask"))

    handles = [loaded.model.register_forward_pre_hook(remember, with_kwargs=True)]
    try:
        for iv in chosen:
            module = loaded.adapter.key_projection(loaded.layers[iv.layer])
            handles.append(module.register_forward_hook(_hook(iv, state)))
        yield
    finally:
        for h in handles:
            h.remove()


def _hook(iv: Intervention, state: dict):
    cache: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(_module, _inputs, output: torch.Tensor) -> torch.Tensor:
        where = (state["labels"] == iv.kind.modality).to(output.device)  # [B, T]
        if where.shape != output.shape[:2]:
            raise KeyspaceError(f"intervention at layer {iv.layer}: labels {tuple(where.shape)} do not match keys {tuple(output.shape[:2])}")
        if not bool(where.any()):
            return output
        output = output.clone()
        output[where] = map_keys(iv, output[where], cache)
        return output

    return hook


def map_keys(iv: Intervention, keys: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
    """[n, kv_heads · head_dim] keys of `iv`'s modality after its map, in their own dtype and device:
    what the hook writes into the layer's k_proj output (computed in float32). `cache` keeps the map's
    tensors per device between calls."""
    cache = {} if cache is None else cache
    if keys.device not in cache:
        a = torch.as_tensor(iv.map.matrix, dtype=torch.float32, device=keys.device)  # [H, d, d]
        b = torch.as_tensor(iv.map.offset, dtype=torch.float32, device=keys.device)  # [H, d]
        cache[keys.device] = a, b
    a, b = cache[keys.device]
    heads, d = a.shape[0], a.shape[1]
    if keys.shape[-1] != heads * d:
        raise KeyspaceError(f"intervention at layer {iv.layer}: keys have width {keys.shape[-1]}, the map expects {heads} × {d}")
    x = keys.float().view(-1, heads, d)  # [n, H, d]
    y = torch.einsum("hij,nhj->nhi", a, x) + b
    return y.reshape(len(x), -1).to(keys.dtype)


def mapped_bank(bank: LayerBank, iv: Intervention, dtype: torch.dtype) -> LayerBank:
    """`bank` (pre-RoPE keys of `iv`'s layer, captured without intervention from a model computing in
    `dtype`) as a capture under `iv` reads it: the keys of `iv`'s modality through its map, the others as
    they are. Equal because nothing upstream of the layer's k_proj output changes and the same tokens
    are kept (the token caps draw on labels and positions, not on values); keys of later layers do change."""
    rows = bank.modality == iv.kind.modality
    vectors = bank.vectors.clone()
    vectors[rows] = map_keys(iv, bank.vectors[rows].to(dtype)).float()  # the bank's float32 holds `dtype` exactly
    return replace(bank, vectors=vectors)
