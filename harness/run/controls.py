"""Controls: inputs where the answer is known, to show the triple check fails (and passes) where it should.

- `shuffled-labels` (negative): the image/text labels of one layer's keys are shuffled over the same
  pool of vectors, so both "modalities" come from one distribution; the check must fail.
- `text-as-image` (negative): the image positions of every prompt are filled with the embeddings of
  text tokens drawn from the same prompt instead of projected image features; keys at those positions
  are text keys, so the gap must collapse. What they are compared with depends on the capture kind:
  - pre-RoPE kinds (keys, queries, values): the prompt's own text tokens. At layer 0 such a vector is
    a function of its token alone, so the two sides differ in nothing but which positions they sit at,
    and position does not enter the vector.
  - post-RoPE kinds (rotated-keys, rotated-queries): the rotation depends on the position (Qwen-VL's
    multimodal RoPE gives image tokens 2-D grid positions), so text tokens at text positions differ
    from text tokens at image positions by position alone, and the control passed on position
    (ratio 43.8 on tiny-qwen2.5-vl). Here the other side is a second, independent draw of text
    embeddings placed at the SAME image positions: the two sides then share content law and
    positions, row for row, and differ in nothing (matched positions).
- `synthetic-shift` (positive): Gaussian "keys" whose image half is shifted by a known amount; the
  check must pass.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Callable

import torch

from harness.capture.keys import KeyBank, LayerBank
from harness.models.labels import IMAGE, TEXT
from harness.models.placement import language_model
from harness.models.adapter import LoadedModel
from harness.models.taps import ROTATED_KINDS


@dataclass(frozen=True)
class Control:
    name: str
    expect_pass: bool  # the verdict the triple check must give on this control
    description: str
    description_rotated: str = ""  # how it is built for post-RoPE kinds, when that differs

    def describe(self, kind: str) -> str:
        """What this control compares for capture `kind` (one line, shown in the report and on failure)."""
        return self.description_rotated if kind in ROTATED_KINDS and self.description_rotated else self.description


CONTROLS = {
    c.name: c
    for c in (
        Control("shuffled-labels", False, "image/text labels shuffled over the same pool of keys"),
        Control(
            "text-as-image", False,
            "image positions filled with text-token embeddings instead of image features, against the prompt's text keys",
            "image positions filled with text-token embeddings, against a second draw of text embeddings at the same "
            "positions (post-RoPE vectors depend on position, so content is compared at matched positions)",
        ),
        Control("synthetic-shift", True, "Gaussian keys, image half shifted by 1 standard deviation along every axis; "
                "prompts in two categories of no effect, the real split the shift must exceed"),
    )
}


def shuffled_labels(bank: KeyBank, layer: int, *, seed: int) -> KeyBank:
    """`bank` with the image/text labels of `layer` permuted among image and text tokens."""
    lb = bank.layers[layer]
    pool = torch.nonzero((lb.modality == IMAGE) | (lb.modality == TEXT)).squeeze(1)
    gen = torch.Generator().manual_seed(seed)
    modality = lb.modality.clone()
    modality[pool] = lb.modality[pool][torch.randperm(len(pool), generator=gen)]
    return replace(bank, layers={layer: replace(lb, modality=modality)})


def synthetic_bank(*, seed: int, samples: int = 24, per_sample: int = 64, dim: int = 32, shift: float = 1.0) -> KeyBank:
    """Keys of `samples` fake prompts, half image tokens N(shift·1, I) and half text tokens N(0, I)."""
    gen = torch.Generator().manual_seed(seed)
    n = samples * per_sample
    modality = torch.tensor([IMAGE, TEXT], dtype=torch.int8).repeat(n // 2)
    vectors = torch.randn(n, dim, generator=gen) + shift * (modality == IMAGE).unsqueeze(1).float()
    layer = LayerBank(
        vectors=vectors,
        modality=modality,
        sample=torch.arange(samples, dtype=torch.int32).repeat_interleave(per_sample),
        position=torch.arange(per_sample, dtype=torch.int32).repeat(samples),
    )
    return KeyBank(
        model="synthetic", benchmark="synthetic", kind="keys",
        sample_ids=tuple(f"synthetic-{i}" for i in range(samples)), layers={0: layer},
        num_key_value_heads=1, head_dim=dim,
    )


def synthetic_strata(bank: KeyBank) -> dict[str, dict[str, str]]:
    """Sample strata of ``synthetic_bank``: each prompt its own unit, prompts alternately in category
    "a" and "b", drawn alike (a real split of no effect: the verdict needs one to compare with)."""
    return {sid: {"unit": sid, "category": "ab"[i % 2]} for i, sid in enumerate(bank.sample_ids)}


# the decoder's arguments through which a family adds image features inside it, at chosen layers
DEEPSTACK = ("deepstack_visual_embeds", "deepstack_features")


@contextlib.contextmanager
def text_as_image(loaded: LoadedModel, *, seed: int):
    """While active, the decoder sees text-token embeddings at every image position.

    The replacement happens on the decoder's `inputs_embeds`, after the family's own code merged
    the image features in, so it works for every family whose decoder takes `inputs_embeds`. The
    embeddings are drawn from the prompt's tokens labelled text (the adapter's own labels), so that on
    trained weights, where template tokens have keys of their own, the control stays a null. Image
    features a family adds inside the decoder (DEEPSTACK: Qwen3-VL's and Qwen3-Omni's after its first
    layers, Granite 4 Vision's before them, Granite Docling's and Cohere Compass's after their first) are
    withheld too: else the image positions would carry the image again from that layer on.
    """
    decoder = language_model(loaded.model)  # the module the keys' layers sit in (a block-diffusion model's encoder)
    embed = loaded.model.get_input_embeddings()
    gen = torch.Generator().manual_seed(seed)
    current: dict[str, torch.Tensor] = {}
    encode = loaded.adapter.encode

    def encode_remembering_labels(loaded_, samples):
        inputs, labels = encode(loaded_, samples)
        current["labels"] = labels
        return inputs, labels

    def remember_ids(_module, args, kwargs):
        current["input_ids"] = kwargs.get("input_ids", args[0] if args else None)
        current["attention_mask"] = kwargs.get("attention_mask")

    def swap_embeddings(_module, args, kwargs):
        embeds = kwargs.get("inputs_embeds")
        ids = current.get("input_ids")
        if embeds is None or ids is None:
            raise RuntimeError("text-as-image control: the decoder was not called with inputs_embeds")
        embeds = embeds.clone()
        mask = current["attention_mask"].bool() if current.get("attention_mask") is not None else torch.ones_like(ids, dtype=torch.bool)
        for row in range(ids.shape[0]):
            image_pos = torch.nonzero(mask[row] & (current["labels"][row] == IMAGE).to(ids.device)).squeeze(1)
            text_ids = ids[row][mask[row] & (current["labels"][row] == TEXT).to(ids.device)]
            if len(image_pos) == 0 or len(text_ids) == 0:
                continue
            draw = text_ids[torch.randint(len(text_ids), (len(image_pos),), generator=gen).to(ids.device)]
            embeds[row, image_pos] = embed(draw).to(embeds.dtype)
        kwargs["inputs_embeds"] = embeds
        current["swapped"] = True
        for name in DEEPSTACK:
            kwargs.pop(name, None)  # each decoder defaults it to None: nothing added inside it
        return args, kwargs

    loaded.adapter.encode = encode_remembering_labels  # this instance only, restored below
    handles = [
        loaded.model.register_forward_pre_hook(remember_ids, with_kwargs=True),
        decoder.register_forward_pre_hook(swap_embeddings, with_kwargs=True),
    ]
    try:
        yield
        if not current.get("swapped"):  # else the control would judge the real images' keys and could pass
            raise RuntimeError("text-as-image control: the language model holding the captured layers was never called, "
                               "so no image position was swapped")
    finally:
        del loaded.adapter.encode
        for h in handles:
            h.remove()


def text_as_image_bank(loaded: LoadedModel, capture: Callable[[], KeyBank], layer: int, *, kind: str, seed: int) -> KeyBank:
    """The bank the text-as-image control judges at `layer`, for capture `kind` (module doc).

    capture: runs the control's prompts through `loaded` and returns the bank (called inside the
    embedding swap, once for pre-RoPE kinds, twice with different draws for post-RoPE kinds)."""
    with text_as_image(loaded, seed=seed):
        bank = capture()
    if kind not in ROTATED_KINDS:
        return bank
    with text_as_image(loaded, seed=seed + 1):
        second = capture()
    return matched_positions(bank, second, layer)


def matched_positions(first: KeyBank, second: KeyBank, layer: int) -> KeyBank:
    """`first`'s image-position rows labelled image against `second`'s image-position rows labelled
    text: two captures of the same prompts whose image positions hold different draws of text
    embeddings. Rows must match one to one in sample and position (same prompts, same caps)."""
    a, b = first.layers[layer].select(IMAGE), second.layers[layer].select(IMAGE)
    if not (torch.equal(a.sample, b.sample) and torch.equal(a.position, b.position)):
        raise RuntimeError("text-as-image control: the two captures kept different image positions; they must match row for row")
    layer_bank = LayerBank(
        vectors=torch.cat([a.vectors, b.vectors]),
        modality=torch.cat([a.modality, torch.full_like(b.modality, TEXT)]),
        sample=torch.cat([a.sample, b.sample]),
        position=torch.cat([a.position, b.position]),
    )
    return replace(first, layers={layer: layer_bank}, mechanism={})
