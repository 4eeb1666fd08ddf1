"""Work of a piece of code counted, not timed: forward calls, decoder work and processor calls.

`count_passes(loaded)` hooks the model while its block runs and adds up:
- `calls`: forward calls of the whole model (a pass stopped early by a tap counts as one);
- `layer_tokens`: tokens through the decoder layers' attention modules, summed over layers and calls
  ([B, T] of each call: padding counts, as it costs); a pass stopped at layer L counts L + 1 layers, a
  pass that starts at layer L (harness.intervention.prefix) the layers from L on;
- `encodes`: calls of the adapter's `encode` (the processor and the labeller), and `encoded`, the
  prompts they encoded.

`plain_passes(counted, plain)` is the decoder work in units of a plain pass over the same prompts
(`plain`: the counts of one plain forward pass over them), so a figure does not depend on the
machine's load. A timer would; the perf scripts give both.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch

from harness.models.adapter import LoadedModel


@dataclass
class PassCount:
    calls: int = 0  # forward calls of the model
    layer_tokens: int = 0  # Σ over the decoder layers' attention calls of batch × sequence length
    encodes: int = 0  # calls of the adapter's encode
    encoded: int = 0  # prompts those calls encoded

    def plain_passes(self, plain: "PassCount") -> float:
        """Decoder work in plain passes (`plain`: one plain pass over the same prompts)."""
        return self.layer_tokens / plain.layer_tokens


@contextmanager
def count_passes(loaded: LoadedModel) -> Iterator[PassCount]:
    """Counts of every forward call, decoder attention call and encode inside the block."""
    count = PassCount()

    def on_call(_module, _args, _kwargs):
        count.calls += 1

    def on_layer(_module, args, kwargs):
        hidden = args[0] if args else kwargs.get("hidden_states")
        if isinstance(hidden, torch.Tensor):
            count.layer_tokens += int(hidden.shape[0] * hidden.shape[1])

    adapter = loaded.adapter
    encode = adapter.encode

    def counted_encode(loaded_, samples):
        count.encodes += 1
        count.encoded += len(samples)
        return encode(loaded_, samples)

    handles = [loaded.model.register_forward_pre_hook(on_call, with_kwargs=True)]
    keyed = loaded.attention_layers  # None: every layer has keys
    handles += [adapter.attention(loaded.layers[i]).register_forward_pre_hook(on_layer, with_kwargs=True)
                for i in (range(loaded.num_layers) if keyed is None else keyed)]
    adapter.encode = counted_encode  # an instance attribute over the method, removed on the way out
    try:
        yield count
    finally:
        del adapter.encode
        for h in handles:
            h.remove()
