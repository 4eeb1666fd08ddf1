"""Training stages: the vision tower on the world's attributes, then decoder and projector stages.

The vision tower is frozen after its own stage, so its features are computed once per image and the
decoder stages run the LLaVA forward from them (`forward`): the projector's output replaces the image
tokens' embeddings exactly where LlavaModel puts them (checked against the real forward in the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from . import world
from .checkpoint import FEATURE_LAYER
from .data import Example

ATTRIBUTES = {
    "kind": list(world.KINDS), "shape": list(world.SHAPES), "colour": list(world.COLOURS), "size": list(world.SIZES),
    "position": list(world.POSITIONS), "count": list(world.COUNTS), "direction": list(world.DIRECTIONS),
    "pattern": list(world.PATTERNS),
}


@dataclass(frozen=True)
class Stage:
    """One optimisation stage: which parts learn, for how many steps, at what rate."""

    name: str
    steps: int
    lr: float
    trains: tuple[str, ...]  # "projector", "decoder"
    mmd_weight: float = 0.0  # weight of the key-space alignment term (0: none)
    projector_lr: float | None = None  # the projector's own rate where it differs from `lr` (amendment 2, rung B); None: `lr`


def attribute_targets(scenes: Sequence[dict]) -> dict[str, torch.Tensor]:
    """Class index of every attribute per scene, -100 where the scene has no such attribute."""
    out = {}
    for name, values in ATTRIBUTES.items():
        out[name] = torch.tensor([values.index(s[name]) if s.get(name) is not None else -100 for s in scenes])
    return out


def patch_features(model: Any, pixel_values: torch.Tensor) -> torch.Tensor:
    """[N, patches, vision_hidden]: what LlavaModel feeds its projector (the feature layer, CLS dropped)."""
    out = model.model.vision_tower(pixel_values, output_hidden_states=True)
    return out.hidden_states[FEATURE_LAYER][:, 1:]


def train_vision(model: Any, pixel_values: torch.Tensor, scenes: Sequence[dict], *, steps: int, batch: int, lr: float,
                 seed: int, device: str = "cpu") -> list[float]:
    """Train the vision tower to tell every attribute of the scene from its patch features (linear heads,
    discarded afterwards), then freeze it. On `device` (the tower is back on the CPU afterwards); the draws of
    images come from a CPU generator, so they are the same on any device."""
    torch.manual_seed(seed)
    tower = model.model.vision_tower.to(device)
    pixel_values = pixel_values.to(device)
    n_patch, width = patch_features(model, pixel_values[:1]).shape[1:]
    heads = nn.ModuleDict({k: nn.Sequential(nn.Flatten(), nn.LayerNorm(n_patch * width), nn.Linear(n_patch * width, len(v)))
                           for k, v in ATTRIBUTES.items()}).to(device)
    targets = {k: v.to(device) for k, v in attribute_targets(scenes).items()}
    params = list(tower.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = _schedule(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    tower.train()
    for _ in range(steps):
        idx = torch.randint(len(scenes), (batch,), generator=gen)
        feats = patch_features(model, pixel_values[idx])
        loss = sum(nn.functional.cross_entropy(heads[k](feats), targets[k][idx], ignore_index=-100) for k in ATTRIBUTES)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item() / len(ATTRIBUTES))
    tower.eval().to("cpu")
    for p in tower.parameters():
        p.requires_grad_(False)
    return losses


def _schedule(opt: torch.optim.Optimizer, steps: int) -> Any:
    warm = max(1, steps // 20)
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    )


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ids, attention mask, labels, image index and the harness's `text` label of a batch."""
    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id)
    labels = torch.full((len(examples), width), -100)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    text = torch.zeros((len(examples), width), dtype=torch.bool)
    for i, e in enumerate(examples):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        labels[i, : len(e.ids)] = torch.tensor(e.labels)
        mask[i, : len(e.ids)] = 1
        if e.text is not None:
            text[i, : len(e.ids)] = torch.tensor(e.text)
    return {"ids": ids, "labels": labels, "mask": mask, "image": torch.tensor([e.image for e in examples]), "text": text}


def forward(model: Any, batch: dict[str, torch.Tensor], features: torch.Tensor | None) -> torch.Tensor:
    """Logits of the LLaVA forward from cached vision features [N_images, patches, width]."""
    embeds = model.get_input_embeddings()(batch["ids"])
    rows = batch["image"] >= 0
    if rows.any():
        projected = model.model.multi_modal_projector(features[batch["image"][rows]]).to(embeds.dtype)
        spots = (batch["ids"] == model.config.image_token_id).unsqueeze(-1)
        embeds = embeds.masked_scatter(spots.expand_as(embeds), projected)
    hidden = model.model.language_model(inputs_embeds=embeds, attention_mask=batch["mask"]).last_hidden_state
    return model.lm_head(hidden)


def lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100)


def trainable(model: Any, parts: Sequence[str]) -> list[nn.Parameter]:
    """Freeze everything but `parts` ("projector": the multimodal projector; "decoder": language model and head)."""
    modules = {"projector": [model.model.multi_modal_projector],
               "decoder": [model.model.language_model, model.lm_head]}
    for p in model.parameters():
        p.requires_grad_(False)
    params = [p for part in parts for m in modules[part] for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def param_groups(model: Any, stage: Stage) -> list[dict]:
    """The optimizer's groups for `stage`: one at `stage.lr`, or the projector at `stage.projector_lr` and the rest at
    `stage.lr` (both follow the one warm-up and cosine schedule, which scales every group's rate alike)."""
    params = trainable(model, stage.trains)
    if stage.projector_lr is None or "projector" not in stage.trains:
        return [{"params": params, "lr": stage.lr}]
    own = {id(p) for p in model.model.multi_modal_projector.parameters()}
    return [{"params": [p for p in params if id(p) in own], "lr": stage.projector_lr},
            *([{"params": rest, "lr": stage.lr}] if (rest := [p for p in params if id(p) not in own]) else [])]


def run_stage(model: Any, stage: Stage, pool: Sequence[Example], *, features: torch.Tensor, batch: int, pad_id: int,
              seed: int, alignment: Callable | None = None, weights: torch.Tensor | None = None, device: str = "cpu") -> dict:
    """Train `stage.trains` on batches drawn (seeded, with replacement; by `weights` when given) from `pool`;
    the record of the stage. On `device` (the model is back on the CPU afterwards, where it is evaluated and saved);
    the draws come from a CPU generator, so the batches are the same on any device."""
    model.to(device)
    features = features.to(device)
    opt = torch.optim.AdamW(param_groups(model, stage), lr=stage.lr, weight_decay=0.0)
    sched = _schedule(opt, stage.steps)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    losses, mmds = [], []
    for _ in range(stage.steps):
        if weights is None:
            idx = torch.randint(len(pool), (batch,), generator=gen).tolist()
        else:
            idx = torch.multinomial(weights, batch, replacement=True, generator=gen).tolist()
        b = {k: v.to(device) for k, v in collate([pool[i] for i in idx], pad_id).items()}
        if alignment is not None and stage.mmd_weight:
            with alignment(model, b, gen) as term:
                logits = forward(model, b, features)
            mmd = term.value()  # None when the batch has no image (or no text) token
        else:
            logits, mmd = forward(model, b, features), None
        loss = lm_loss(logits, b["labels"])
        total = loss + stage.mmd_weight * mmd if mmd is not None else loss
        opt.zero_grad()
        total.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if mmd is not None:
            mmds.append(mmd.item())
    model.eval().to("cpu")
    return {"stage": stage.name, "steps": stage.steps, "lr": stage.lr, "trains": list(stage.trains),
            **({"projector_lr": stage.projector_lr} if stage.projector_lr is not None else {}),
            "mmd_weight": stage.mmd_weight, "loss_first": _mean(losses[:max(1, len(losses) // 10)]),
            "loss_last": _mean(losses[-max(1, len(losses) // 10):]), "loss_tenths": _tenths(losses),
            **({"mmd_first": _mean(mmds[:max(1, len(mmds) // 10)]), "mmd_last": _mean(mmds[-max(1, len(mmds) // 10):])} if mmds else {})}


def _tenths(xs: Sequence[float]) -> list[float]:
    """Mean loss over each tenth of the steps (fewer parts when there are fewer steps): where two runs part."""
    n = min(10, len(xs))
    return [_mean(xs[i * len(xs) // n:(i + 1) * len(xs) // n]) for i in range(n)]


def _mean(xs: Sequence[float]) -> float:
    return round(float(sum(xs) / len(xs)), 4) if xs else float("nan")
