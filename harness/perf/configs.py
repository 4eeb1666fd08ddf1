"""The real architectures of the reference checkpoints, built with random weights and no download.

`harness/models/configs/<name>.json` holds each checkpoint's config.json as published on the hub
(architecture numbers only matter here). `build_model` instantiates the real transformers class
from it directly on the target device (``torch.device`` context), so a 7 B model in bfloat16
goes straight to the GPU without a CPU copy; `meta` gives shapes only (parameter counts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from harness.errors import KeyspaceError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "models" / "configs"


@dataclass(frozen=True)
class FullSizeSpec:
    """One reference checkpoint: its config file, model class, family and the image it is fed."""

    name: str  # registry name of the checkpoint this config belongs to
    family: str  # harness adapter family
    model_class: str  # transformers class name
    image_px: int  # square image side in pixels fed to the processor (the checkpoint's native input)
    image_tokens: int  # decoder tokens one such image becomes


FULL_SIZE = {
    # CLIP ViT-L/14 at 336 px: 24 × 24 = 576 patches, the CLS token dropped ("default" select).
    "llava-1.5-7b": FullSizeSpec("llava-1.5-7b", "llava", "LlavaForConditionalGeneration", 336, 576),
    # 448 px = 32 × 32 patches of 14 px, merged 2 × 2 → 256 tokens.
    "qwen2.5-vl-7b": FullSizeSpec("qwen2.5-vl-7b", "qwen2.5-vl", "Qwen2_5_VLForConditionalGeneration", 448, 256),
}


def full_size_spec(name: str) -> FullSizeSpec:
    if name not in FULL_SIZE:
        raise KeyspaceError(f"no full-size config {name!r}; known: {', '.join(FULL_SIZE)}")
    return FULL_SIZE[name]


def load_config(name: str, *, layers: int | None = None, vision_layers: int | None = None):
    """The checkpoint's config object (the real transformers config class), optionally cut to
    `layers` decoder layers and `vision_layers` vision blocks (reduced-scale runs; None: as published)."""
    from transformers import CONFIG_MAPPING

    full_size_spec(name)
    raw = json.loads((CONFIG_DIR / f"{name}.json").read_text())
    config = CONFIG_MAPPING[raw["model_type"]].from_dict(raw)
    text = config.get_text_config()
    if layers is not None:
        if not 1 <= layers <= text.num_hidden_layers:
            raise KeyspaceError(f"--layers {layers}: {name} has 1..{text.num_hidden_layers} decoder layers")
        text.num_hidden_layers = layers
        if getattr(text, "layer_types", None):
            text.layer_types = text.layer_types[:layers]
        if hasattr(text, "max_window_layers"):
            text.max_window_layers = min(text.max_window_layers, layers)
    if vision_layers is not None:
        _cut_vision(name, config.vision_config, vision_layers)
    return config


def _cut_vision(name: str, vision, blocks: int) -> None:
    depth_attr = "depth" if hasattr(vision, "depth") else "num_hidden_layers"
    depth = getattr(vision, depth_attr)
    if not 1 <= blocks <= depth:
        raise KeyspaceError(f"--vision-layers {blocks}: {name} has 1..{depth} vision blocks")
    setattr(vision, depth_attr, blocks)
    if hasattr(vision, "fullatt_block_indexes"):
        # keep the windowed/full pattern's last block full-attention, as in every published config
        kept = [i for i in vision.fullatt_block_indexes if i < blocks]
        vision.fullatt_block_indexes = sorted(set(kept) | {blocks - 1})


def model_class(spec: FullSizeSpec) -> type:
    import transformers

    return getattr(transformers, spec.model_class)


def build_model(name: str, config, *, device: torch.device | str, dtype: torch.dtype, seed: int = 0) -> nn.Module:
    """The real model class from `config`, weights created on `device` in `dtype` (random, seeded).

    On `meta` nothing is allocated (shapes only)."""
    torch.manual_seed(seed)
    cls = model_class(full_size_spec(name))
    with torch.device(device):
        model = cls._from_config(config, dtype=dtype)
    return model.eval()


def parameter_count(module: nn.Module) -> int:
    """Parameters (elements, not bytes) of `module`, tied weights counted once."""
    return sum(p.numel() for p in module.parameters())
