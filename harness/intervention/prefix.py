"""Passes with an intervention at layer L resume at L from the hidden states the pass without one recorded.

An intervention at layer L changes the output of L's k_proj and nothing before it, so the hidden states
entering layer L are those of the pass without intervention, to the bit, on the same batch. The pass
without one records them (`Prefixes.record`); a pass with one (`Prefixes.resume`) runs the model as
usual except that the decoder layers before L hand their input on untouched and layer L gets the
recorded states: the processor, the vision tower and the embeddings still run, the first L decoder
layers do not. Every layer from L on, the logits and the taps see what a full pass computes.

A pass that keeps its KV cache (answers in words are scored after it) gets the cache entries of the
layers before L from the pass without intervention too (`keep`, then `fill` after the resumed pass):
they are the same for the same reason. All within a memory budget (`budget` bytes of recorded states,
on the model's device): a batch left unrecorded is passed in full. So is every pass of a decoder in which
a layer from L on reads the keys of a layer before L (KV sharing, `LoadedModel.kv_reuse`: Gemma 3n, Gemma 4
E2B/E4B): those keys are handed on within the pass, so skipping their layer would leave them out.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from harness.models.adapter import LoadedModel

BUDGET = 2 * 2**30  # bytes of recorded hidden states a study keeps per layer


class Prefixes:
    """Hidden states entering `layer`, per batch (keyed by the caller's object for the batch)."""

    def __init__(self, layer: int, budget: int = BUDGET):
        self.layer, self.budget = layer, budget
        self.states: dict[int, torch.Tensor] = {}
        self.caches: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}  # per batch: (keys, values) of layers < L
        self.used = 0
        self.plain = True  # whether the layers hand each other bare tensors (a layer returning a tuple: no resuming)
        self.shares_across = False  # whether a layer from `layer` on reads keys a layer before it computed (no resuming)

    @contextmanager
    def record(self, loaded: LoadedModel, batch: object) -> Iterator[None]:
        """Inside the block, the model's pass records the states entering the layer for `batch`."""
        def grab(_module, args, kwargs):
            hidden = args[0] if args else kwargs["hidden_states"]
            size = hidden.numel() * hidden.element_size()
            if self.used + size <= self.budget:
                self.states[id(batch)] = hidden.detach()
                self.used += size

        def check(_module, _args, output):
            self.plain = self.plain and isinstance(output, torch.Tensor)

        self.shares_across = self.shares_across or any(j >= self.layer > k for j, k in loaded.kv_reuse.items())
        handles = [loaded.layers[self.layer].register_forward_pre_hook(grab, with_kwargs=True)]
        handles += [loaded.layers[self.layer - 1].register_forward_hook(check)] if self.layer > 0 else []
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def keep(self, batch: object, cache) -> None:
        """After the recording pass of `batch` kept its KV `cache`: keep the entries of the layers before the layer."""
        layers = getattr(cache, "layers", None)
        if id(batch) not in self.states or layers is None or len(layers) < self.layer or not kv_layers(layers[: self.layer]):
            return  # a hybrid decoder's linear-attention states are not kept: its cached passes run in full
        entries = [(c.keys, c.values) for c in layers[: self.layer]]
        size = sum(t.numel() * t.element_size() for pair in entries for t in pair)
        if self.used + size <= self.budget:
            self.caches[id(batch)] = entries
            self.used += size

    def resumable(self, batch: object, *, cached: bool) -> bool:
        """Whether a pass over `batch` can start at the layer (`cached`: one that keeps its KV cache)."""
        return (self.layer > 0 and self.plain and not self.shares_across and id(batch) in self.states
                and (not cached or id(batch) in self.caches))

    def resume(self, loaded: LoadedModel, batch: object):
        """A context in which the model's pass over `batch` skips the layers before the layer (module doc)."""
        return _resumed(loaded, self.layer, self.states[id(batch)])

    def fill(self, batch: object, cache) -> None:
        """After a resumed pass of `batch` kept its KV `cache`: the kept entries of the layers it skipped."""
        for layer, (keys, values) in zip(cache.layers, self.caches[id(batch)]):
            layer.update(keys, values)


def kv_layers(layers) -> bool:
    """Whether every cache layer is a plain KV layer: transformers' own dynamic layer, full or sliding window (exactly
    those classes), whose whole state is its keys and values, replaced when reordered and rebuilt by `update`. A
    linear-attention layer of a hybrid decoder holds lists of states it reorders in place; a family's own layer
    may keep more (Unlimited-OCR's reference sliding window keeps its prefill apart, and `update` on kept keys
    raised IndexError), so neither is continued or refilled: their passes run in full."""
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer  # deferred: transformers at first use

    return all(type(c) in (DynamicLayer, DynamicSlidingWindowLayer) and isinstance(getattr(c, "keys", None), torch.Tensor)
               and isinstance(getattr(c, "values", None), torch.Tensor) for c in layers)


@contextmanager
def _resumed(loaded: LoadedModel, layer: int, hidden: torch.Tensor) -> Iterator[None]:
    def passed_on(*args, **kwargs):
        return args[0] if args else kwargs["hidden_states"]

    def swap(_module, args, kwargs):  # a copy: the recorded states serve every condition's pass
        if args:
            return (hidden.clone(), *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": hidden.clone()}

    skipped = loaded.layers[:layer]
    for module in skipped:
        module.forward = passed_on  # an instance attribute over the class's forward, removed on the way out
    handle = loaded.layers[layer].register_forward_pre_hook(swap, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()
        for module in skipped:
            del module.forward
