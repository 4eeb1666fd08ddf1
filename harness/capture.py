"""Key capture: forward hooks on the decoder's key projections fill a KeyBank.

All requested layers come from one forward pass per batch, and the pass stops right after the
deepest requested layer's key projection (nothing deeper can change what was captured).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from harness.benchmarks.sample import Sample
from harness.labels import MODALITY_NAMES, PAD
from harness.models.adapter import LoadedModel


@dataclass
class LayerBank:
    """Every kept vector of one layer, with its labels (row i of each tensor is one token)."""

    vectors: torch.Tensor  # [N, D] float32 on the CPU, D = num_key_value_heads * head_dim
    modality: torch.Tensor  # [N] int8: 0 text, 1 image, 2 special (harness.labels)
    sample: torch.Tensor  # [N] int32 index into KeyBank.sample_ids
    position: torch.Tensor  # [N] int32 position of the token in its unpadded sequence

    def select(self, modality: int) -> "LayerBank":
        keep = self.modality == modality
        return LayerBank(self.vectors[keep], self.modality[keep], self.sample[keep], self.position[keep])

    def count(self, modality: int) -> int:
        return int((self.modality == modality).sum())


@dataclass
class KeyBank:
    """Captured vectors of one (model, benchmark) pair, per layer."""

    model: str
    benchmark: str
    kind: str  # what was captured: "keys" = k_proj outputs (pre-RoPE)
    sample_ids: tuple[str, ...]  # the samples in capture order
    layers: dict[int, LayerBank]  # layer index → its vectors
    num_key_value_heads: int
    head_dim: int

    def counts(self, layer: int) -> dict[str, int]:
        bank = self.layers[layer]
        return {name: bank.count(code) for code, name in MODALITY_NAMES.items()}


class _StopForward(Exception):
    """Raised by the deepest hook to end the forward pass early."""


def capture_keys(
    loaded: LoadedModel,
    samples: Sequence[Sample],
    layers: Sequence[int],
    *,
    benchmark: str,
    batch_size: int = 8,
) -> KeyBank:
    """Run `samples` through the model in batches and keep the k_proj output of every non-pad token."""
    layers = sorted(set(layers))
    deepest = layers[-1]
    adapter = loaded.adapter
    store: dict[int, list[torch.Tensor]] = {i: [] for i in layers}
    meta: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (modality, sample, position) per batch

    def hook_for(index: int):
        def hook(_module, _inputs, output):
            store[index].append(output.detach())
            if index == deepest:
                raise _StopForward

        return hook

    handles = [adapter.key_projection(loaded.layers[i]).register_forward_hook(hook_for(i)) for i in layers]
    try:
        with torch.inference_mode():
            for start in range(0, len(samples), batch_size):
                chunk = samples[start : start + batch_size]
                inputs, labels = adapter.encode(loaded, chunk)
                inputs = {k: v.to(loaded.device) for k, v in inputs.items()}
                try:
                    loaded.model(**inputs, use_cache=False)
                except _StopForward:
                    pass
                keep = labels != PAD  # [B, T]
                positions = (inputs["attention_mask"].cumsum(dim=1) - 1).cpu()
                sample_index = torch.arange(start, start + len(chunk)).unsqueeze(1).expand_as(labels)
                meta.append((labels[keep], sample_index[keep].to(torch.int32), positions[keep].to(torch.int32)))
                for i in layers:
                    out = store[i].pop()  # [B, T, D]
                    store[i].append(out[keep.to(out.device)].float().cpu())
    finally:
        for h in handles:
            h.remove()

    modality = torch.cat([m[0] for m in meta])
    sample = torch.cat([m[1] for m in meta])
    position = torch.cat([m[2] for m in meta])
    attn = loaded.layers[0].self_attn
    config = loaded.model.config.get_text_config()
    return KeyBank(
        model=loaded.spec.name,
        benchmark=benchmark,
        kind="keys",
        sample_ids=tuple(s.id for s in samples),
        layers={i: LayerBank(torch.cat(store[i]), modality, sample, position) for i in layers},
        num_key_value_heads=config.num_key_value_heads,
        head_dim=getattr(attn, "head_dim", config.hidden_size // config.num_attention_heads),
    )
