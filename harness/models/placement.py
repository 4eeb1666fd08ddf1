"""Proof of image positions: the tokens labelled image are the ones whose input embeddings the model wrote.

Labels come from how tokens were made (harness.models.labels); this module checks them against what
the model does, on the first batch of every capture. A forward pre-hook on the language model (the
module whose decoder layers are captured) reads the `inputs_embeds` it receives; a position is
*written* (by the vision side) where that embedding differs from the embedding of the position's own
token id (`get_input_embeddings()(input_ids)`). The rule, for every family: image = written.

- Labels and written positions must agree exactly; otherwise the capture stops with one line
  naming the counts (labelled image, written, both).
- A model that writes no position (its decoder gets `input_ids`, or embeddings equal to the tokens'
  own) gives vision to its decoder another way: by cross-attention (Mllama, IDEFICS v1) or as a
  prefix without token positions. Its keys hold no image token: refused in one line saying which.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

from harness.errors import KeyspaceError


def block_diffusion(config) -> bool:
    """Whether `config` is a block-diffusion model's (it has `canvas_length`: DiffusionGemma): its decoder refines a
    canvas of drawn tokens, so its answer is not a next-token prediction at the prompt's end."""
    return getattr(config, "canvas_length", None) is not None


def language_model(model: nn.Module) -> nn.Module:
    """The module that holds the layers computing the prompt's keys and receives the merged input embeddings: the
    decoder (`get_decoder()`). A block-diffusion model (its config has `canvas_length`: DiffusionGemma) computes the
    prompt's keys in its encoder's language model, which fills the cache its decoder reads while it refines a canvas
    of drawn tokens: there the encoder's language model (the decoder's layers key canvas tokens, not the prompt)."""
    if block_diffusion(model.config) and hasattr(model, "get_encoder"):
        encoder = model.get_encoder()
        return getattr(encoder, "language_model", encoder)
    return model.get_decoder() if hasattr(model, "get_decoder") else model


@contextlib.contextmanager
def watch_inputs(model: nn.Module) -> Iterator[dict]:
    """While active, the first call of the language model leaves its `input_ids` and `inputs_embeds`
    (either may be None) in the yielded dict."""
    seen: dict = {}

    def pre(_module, args, kwargs):
        if "called" not in seen:
            seen.update(called=True, input_ids=kwargs.get("input_ids", args[0] if args else None),
                        inputs_embeds=kwargs.get("inputs_embeds"))

    handle = language_model(model).register_forward_pre_hook(pre, with_kwargs=True)
    try:
        yield seen
    finally:
        handle.remove()


def written_positions(model: nn.Module, input_ids: torch.Tensor, seen: dict) -> torch.Tensor:
    """[B, T] bool: where the embeddings the language model got differ from its tokens' own embeddings.
    All False when it got token ids instead of embeddings."""
    embeds = seen.get("inputs_embeds")
    if embeds is None:
        return torch.zeros(input_ids.shape, dtype=torch.bool)
    table = model.get_input_embeddings()
    ids = input_ids.to(table.weight.device).clamp(0, table.weight.shape[0] - 1)
    with torch.inference_mode():
        own = table(ids).to(embeds.device, embeds.dtype)
    return (embeds != own).any(dim=-1).cpu()


def _vision_route(model: nn.Module) -> str:
    """How a model that writes no position gives vision to its decoder, in words."""
    names = {type(m).__name__.lower() for m in language_model(model).modules()}
    if any("crossattention" in n for n in names):  # MllamaTextCrossAttention, IdeficsGatedCrossAttentionLayer
        return "by cross-attention (no token position holds an image feature)"
    return "without writing any token position (by cross-attention or as a prefix outside the token sequence)"


def check_image_positions(loaded, batch: dict, labels: torch.Tensor, seen: dict, *, image: int) -> None:
    """One line and stop where the positions labelled `image` are not exactly the written ones."""
    name, model = loaded.spec.name, loaded.model
    if not seen.get("called"):
        raise KeyspaceError(f"{name}: the forward pass never reached the language model of {type(model).__name__}")
    keep = batch["attention_mask"].bool().cpu()
    written = written_positions(model, batch["input_ids"], seen) & keep
    labelled = (labels == image) & keep
    n_written, n_labelled, n_both = int(written.sum()), int(labelled.sum()), int((written & labelled).sum())
    if n_written == 0:
        raise KeyspaceError(
            f"{name}: {type(model).__name__} gives vision to its decoder {_vision_route(model)}: the model wrote 0 of the "
            f"{n_labelled} positions labelled image, so there are no image keys to measure; this family is not measured"
        )
    if n_written != n_labelled or n_both != n_labelled:
        raise KeyspaceError(
            f"{name}: the labels say {n_labelled} image tokens in the first batch, the model wrote vision features at "
            f"{n_written} positions ({n_both} in both); the labels do not match what the model fills, so its keys are not measured"
        )
