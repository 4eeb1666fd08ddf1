"""Analytic FLOPs of one capture forward pass, for model FLOPs utilisation (MFU).

Convention (PaLM, Chowdhery et al. 2022, app. B, forward pass only): a matmul with a weight of
P elements costs 2·P FLOPs per token it is applied to; attention adds 4·Tq·Tk·(heads·head_dim)
per sequence and layer (QKᵀ and A·V, 2 FLOPs per multiply-add), counted over the full Tq × Tk
square (no causal halving), over windows where a block attends within windows. Norms,
activations, RoPE and softmax are left out (a few % at these sizes). Weight counts come from the
instantiated model's Linear and patch-embedding Conv weights (each applied once per patch, since
kernel = stride), so they follow the config exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one forward pass over a batch (all figures in FLOPs, not FLOP/s)."""

    vision: float  # vision tower: patch embedding, blocks' matmuls and attention, all images of the batch
    projector: float  # LLaVA's multi-modal projector / Qwen's patch merger, per image token
    decoder: float  # decoder layers that ran (matmuls + attention), padded batch × length
    lm_head: float  # output projection over every position (0 when the pass stopped before it)

    @property
    def total(self) -> float:
        return self.vision + self.projector + self.decoder + self.lm_head


def matmul_params(module: nn.Module) -> int:
    """Weight elements of every Linear and Conv in `module` (each costs 2 FLOPs per token it sees)."""
    kinds = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, kinds))


def attention_flops(queries: int, keys: int, width: int) -> float:
    """4 · Tq · Tk · width: QKᵀ and A·V of one attention call, width = heads · head_dim."""
    return 4.0 * queries * keys * width


def _decoder_flops(model: nn.Module, layers_run: int, batch: int, length: int) -> float:
    layers = model.model.language_model.layers
    text = model.config.get_text_config()
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    width = text.num_attention_heads * head_dim
    per_layer = 2.0 * matmul_params(layers[0]) * batch * length + batch * attention_flops(length, length, width)
    return per_layer * layers_run


def _llava_vision(model: nn.Module, images: int) -> tuple[float, float]:
    vc = model.config.vision_config
    patches = (vc.image_size // vc.patch_size) ** 2
    tokens = patches + 1  # + CLS
    tower = model.model.vision_tower
    # every CLIP layer runs even with vision_feature_layer = -2 (the hidden states are all kept)
    blocks = 2.0 * matmul_params(tower) * tokens + vc.num_hidden_layers * attention_flops(tokens, tokens, vc.hidden_size)
    projector = 2.0 * matmul_params(model.model.multi_modal_projector) * patches
    return images * blocks, images * projector


def _qwen_vision(model: nn.Module, images: int, image_px: int) -> tuple[float, float]:
    vc = model.config.vision_config
    side = image_px // vc.patch_size
    patches = side * side
    visual = model.model.visual
    merger = matmul_params(visual.merger)
    window = min(side, vc.window_size // vc.patch_size) ** 2  # patches per attention window
    full = set(vc.fullatt_block_indexes)
    attn = sum(attention_flops(patches, patches if i in full else window, vc.hidden_size) for i in range(vc.depth))
    blocks = 2.0 * (matmul_params(visual) - merger) * patches + attn
    projector = 2.0 * merger * patches / vc.spatial_merge_size**2
    return images * blocks, images * projector


def forward_flops(
    model: nn.Module, family: str, *, batch: int, length: int, image_px: int, layers_run: int, lm_head: bool
) -> FlopCount:
    """FLOPs of one forward pass: `batch` sequences of padded `length` tokens, one `image_px`
    square image each, `layers_run` decoder layers, and the lm_head when `lm_head`."""
    if family == "llava":
        vision, projector = _llava_vision(model, batch)
    elif family in ("qwen2.5-vl", "qwen2-vl"):
        vision, projector = _qwen_vision(model, batch, image_px)
    else:
        raise ValueError(f"no FLOPs model for family {family!r}; known: llava, qwen2.5-vl")
    head = 2.0 * model.lm_head.weight.numel() * batch * length if lm_head else 0.0
    return FlopCount(vision, projector, _decoder_flops(model, layers_run, batch, length), head)
