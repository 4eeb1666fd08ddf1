"""The adapter contract: load a vision-language model, build its inputs, expose its decoder layers.

The base class is generic over `AutoModelForImageTextToText` checkpoints; a family file only
overrides what its architecture does differently (mostly class attributes).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import torch
from torch import nn

from harness.benchmarks.sample import Sample
from harness.errors import KeyspaceError
from harness.models.hub import check_checkpoint, checkpoint_config, checkpoint_errors, hub_reads, unloaded_weights
from harness.models.labels import label_tokens
from harness.models.layers import kv_reuse_of, typed_self_attention
from harness.models.placement import language_model

from .prompts import PROCESSOR_PREFIX, no_template, prompt_format
from .prompts import build as build_prompts
from .registry import ModelSpec



def checkpoint_num_layers(spec: ModelSpec, *, trust_remote_code: bool = False) -> int:
    """Decoder layers of a checkpoint, read from its config alone (no weights)."""
    from transformers import AutoConfig

    with checkpoint_errors(spec, trust_remote_code), hub_reads(spec):
        config = AutoConfig.from_pretrained(spec.source, revision=spec.revision, trust_remote_code=trust_remote_code)
    return config.get_text_config().num_hidden_layers


@dataclass
class LoadedModel:
    """A model ready for capture: weights on their device, its processor, and where its keys live."""

    spec: ModelSpec
    adapter: "ModelAdapter"
    model: nn.Module
    processor: Any  # the family's real transformers processor
    layers: Sequence[nn.Module]  # the language model's decoder layers, in depth order
    image_token_id: int  # id the processor expands each image placeholder into
    # Marker ids whose input embeddings the vision side writes too (Ovis2's visual indicator tokens):
    # labelled image, by the one rule "written by the vision side = image" (harness.models.placement).
    marker_ids: frozenset[int]
    special_ids: frozenset[int]  # ids labelled `special` wherever they appear (BOS, role markers, vision start/end)
    device: torch.device  # where inputs go (the first layer's device under a device map)
    load_notes: tuple[str, ...] = ()  # what the run should say about how it loaded (an output head drawn at random)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def attention_layers(self) -> list[int] | None:
        """Indices of the decoder layers with self-attention keys; None when every layer has them
        (a hybrid decoder interleaves convolution, linear-attention or cross-attention layers)."""
        typed = typed_self_attention(self.model.config.get_text_config())
        found = [i for i, layer in enumerate(self.layers) if self.adapter.has_keys(layer) and (typed is None or i in typed)]
        return None if len(found) == len(self.layers) else found

    @property
    def kv_reuse(self) -> dict[int, int]:
        """{layer: the layer whose keys it reads} where the decoder shares keys across layers (``kv_reuse_of``)."""
        return kv_reuse_of(self.model.config.get_text_config())


# Self-attention without a k_proj of its own: words naming the modules it has instead, and what that means.
NO_K_PROJ = (
    (("query_key_value", "qkv", "c_attn"), "computes queries, keys and values in one fused projection"),
    (("kv_a_proj", "kv_b_proj"), "is multi-head latent attention: each head's keys are decompressed from a latent shared "
                                 "by all heads, and any rotary key part is shared by all heads too"),
)


def _no_layers(text_model: nn.Module) -> str:
    """Why a text model without a decoder-only `layers` list has no image keys the harness can read (one clause),
    from what its forward takes: vision states to cross-attend to (BLIP, vision-encoder-decoder) or the pixels
    themselves (GIT, whose self-attention keys the image features it prepends to the text embeddings)."""
    name = type(text_model).__name__
    takes = inspect.signature(text_model.forward).parameters
    if "encoder_hidden_states" in takes:
        return (f"its text model ({name}) reads the image by cross-attention to the vision states (encoder_hidden_states), "
                "so no token position holds an image feature and there are no image keys")
    if "pixel_values" in takes:
        return (f"its text model ({name}) takes the pixels and prepends the image features to the text embeddings "
                "itself: they are keyed by its self-attention, but at positions no input id stands for (its processor "
                "writes no image token to label them by), in layers that are not a decoder-only `layers` list with "
                "self_attn.k_proj")
    return ("it has no decoder-only language model with a `layers` list, and its text model takes neither vision states "
            "to cross-attend to (encoder_hidden_states) nor pixels")


class ModelAdapter:
    """Generic adapter; families subclass it and override class attributes or single methods."""

    family: ClassVar[str] = "generic"
    # Name of the transformers model class; resolved only when a checkpoint loads, so that planning a
    # run (and every pytest start-up) does not import modelling code. None: AutoModelForImageTextToText.
    model_class: ClassVar[str | None] = None

    # -- loading -----------------------------------------------------------------------------------
    def load(
        self,
        spec: ModelSpec,
        *,
        device: torch.device,
        dtype: torch.dtype,
        seed: int,
        device_map: str | None = None,  # "auto": accelerate spreads the weights over the visible devices
        trust_remote_code: bool = False,  # run a checkpoint's own modelling code (only when the user asked)
    ) -> LoadedModel:
        if spec.is_tiny:
            from .tiny import build_tiny  # deferred: the twins' builders only for a tiny spec

            model, processor = build_tiny(spec.source.removeprefix("tiny:"), seed=seed)
            device_map, notes = None, ()
        else:
            model, processor, notes = self.from_pretrained(spec, dtype=dtype, device_map=device_map, trust_remote_code=trust_remote_code)
        if device_map is None:
            model = model.to(device=device, dtype=dtype)
        else:
            device = model.get_input_embeddings().weight.device  # inputs go where the embeddings live
        model = model.eval()
        self.check_forward(model, processor)
        layers = self.decoder_layers(model)
        self.check_keys(model, layers)
        return LoadedModel(
            spec=spec,
            adapter=self,
            model=model,
            processor=processor,
            layers=layers,
            image_token_id=self.image_token_id(model, processor),
            marker_ids=self.vision_marker_ids(model),
            special_ids=self.special_ids(processor),
            device=device,
            load_notes=notes,
        )

    def from_pretrained(
        self, spec: ModelSpec, *, dtype: torch.dtype, device_map: str | None = None, trust_remote_code: bool = False
    ) -> tuple[nn.Module, Any, tuple[str, ...]]:
        """The checkpoint's model and processor, and notes on its loading (an output head drawn at random)."""
        from transformers import AutoModelForImageTextToText

        from .processors import load_processor  # deferred: processor classes only when a checkpoint loads

        import transformers

        # The config-level refusals of planning (harness.run.plan), before any weight or processor loads: a caller that
        # loads without planning (tests/families, perf workloads) gets the same one line, e.g. for an encoder-decoder.
        check_checkpoint(spec, checkpoint_config(spec, trust_remote_code=trust_remote_code), trust_remote_code=trust_remote_code)
        cls = getattr(transformers, self.model_class) if self.model_class else AutoModelForImageTextToText
        with checkpoint_errors(spec, trust_remote_code), hub_reads(spec):
            model, info = cls.from_pretrained(
                spec.source, revision=spec.revision, dtype=dtype, device_map=device_map, trust_remote_code=trust_remote_code,
                output_loading_info=True,
            )
            processor = load_processor(spec.source, revision=spec.revision, trust_remote_code=trust_remote_code)
        saved = (getattr(model.config, "architectures", None) or [None])[0]
        note = unloaded_weights(spec, type(model).__name__, info, saved)  # weights drawn at random: an error, or a note for a head
        return model, processor, (note,) if note else ()

    # -- architecture ------------------------------------------------------------------------------
    def decoder_layers(self, model: nn.Module) -> Sequence[nn.Module]:
        """The language model's decoder layers: `layers` of its decoder (`placement.language_model`: a block-diffusion
        model's encoder language model), or of the decoder's inner model where the decoder is itself a causal LM
        (Llama4: language_model.model.layers)."""
        decoder = language_model(model)
        inner = getattr(decoder, "model", None)
        # OPT-style decoders (BLIP-2 with OPT) keep them one level down: model.decoder.layers
        for holder in (decoder, inner, getattr(decoder, "decoder", None), getattr(inner, "decoder", None)):
            layers = getattr(holder, "layers", None)
            if isinstance(layers, nn.ModuleList):
                return layers
        raise KeyspaceError(f"cannot find the decoder layers of {type(model).__name__}: {_no_layers(decoder)}; "
                            "this family is not measured")

    def attention(self, layer: nn.Module) -> nn.Module:
        """The layer's self-attention module (holds q/k/v projections and calls the attention function)."""
        attn = getattr(layer, "self_attn", None)
        if attn is None:
            raise KeyspaceError(f"{type(layer).__name__} has no self-attention (self_attn); it is not a layer with keys")
        return attn

    def check_keys(self, model: nn.Module, layers: Sequence[nn.Module]) -> None:
        """A one-line error for a decoder none of whose layers has the key projection the harness reads
        (`self_attn.k_proj`) though it has self-attention, saying what it has instead (NO_K_PROJ: Fuyu's fused
        query_key_value, DeepSeek-V3-style latent attention), or where its attention blocks keep their k_proj
        (NemotronH: under `mixer`); not "no self-attention layer", which such a decoder has. Only the layers the
        config types as self-attention count: a linear-attention layer's k_proj (GLM-5.3-Flash's delta-rule layers
        beside its latent-attention ones) gives no keys."""
        typed = typed_self_attention(model.config.get_text_config())
        layers = [layer for i, layer in enumerate(layers) if typed is None or i in typed]
        if any(self.has_keys(layer) for layer in layers):
            return
        name = type(model).__name__
        for layer in layers:
            attn = getattr(layer, "self_attn", None)
            children = [child for child, _ in attn.named_children()] if attn is not None else []
            for words, what in NO_K_PROJ:
                found = next((c for c in children if any(w in c.lower() for w in words)), None)
                if found:
                    raise KeyspaceError(f"{name}'s self-attention {what} ({type(attn).__name__}.{found}), with no k_proj "
                                        "to read the keys from; this family is not measured")
            holder = next((child for child, module in layer.named_children()
                           if child != "self_attn" and getattr(module, "k_proj", None) is not None), None)
            if holder:
                raise KeyspaceError(f"{name}'s attention blocks keep their key projection under `{holder}` "
                                    f"({type(getattr(layer, holder)).__name__}.k_proj), where the harness reads "
                                    "self_attn.k_proj; this family is not measured")

    def has_keys(self, layer: nn.Module) -> bool:
        """Whether `layer` is a self-attention layer with a key projection (not a convolution, linear
        attention or cross-attention layer of a hybrid decoder)."""
        return getattr(getattr(layer, "self_attn", None), "k_proj", None) is not None

    def projection(self, layer: nn.Module, kind: str) -> nn.Module:
        """The module whose output is the layer's pre-RoPE `kind` ("q", "k" or "v")."""
        attn = self.attention(layer)
        module = getattr(attn, f"{kind}_proj", None)
        if module is None:
            raise KeyspaceError(
                f"{type(attn).__name__} has no {kind}_proj; a family adapter must name the layer's {kind} projection"
            )
        return module

    def key_projection(self, layer: nn.Module) -> nn.Module:
        """The module whose output is the layer's pre-RoPE keys."""
        return self.projection(layer, "k")

    def image_token_id(self, model: nn.Module, processor: Any) -> int:
        for holder in (model.config, processor):
            for attr in ("image_token_id", "image_token_index"):
                value = getattr(holder, attr, None)
                if isinstance(value, int):
                    return value
        forward = getattr(model, "forward", None)
        parameters = inspect.signature(forward).parameters if callable(forward) else {}
        mask = next((name for name in parameters if name.endswith("position_mask")), None)
        if mask:  # Kosmos-2: image features go where a mask says, over ids its processor rewrites after tokenizing
            raise KeyspaceError(
                f"{type(model).__name__} places image features where a mask ({mask}) says, over ids its processor writes, "
                "not at one image token id; the harness labels and proves image positions by that id, so this family is "
                "not measured"
            )
        video = next((attr for attr in ("video_token_id", "video_token_index") if isinstance(getattr(model.config, attr, None), int)), None)
        if video:  # InstructBLIP-Video: its processor turns every input into a clip of frames
            raise KeyspaceError(
                f"{type(model).__name__} takes video, not images: its config names a video token ({video}) and no image "
                "token, and the harness's prompts hold images; this family is not measured"
            )
        raise KeyspaceError(
            f"{type(model).__name__} has no known image token id (config.image_token_id or processor.image_token_id); "
            "a family adapter must name it"
        )

    def check_forward(self, model: nn.Module, processor: Any) -> None:
        """A one-line error for a model whose forward requires an input its processor does not make (PI0, a robot
        action policy: the robot's `state`), before its layers are looked for."""
        made = set(getattr(processor, "model_input_names", None) or ())
        required = [name for name, p in inspect.signature(model.forward).parameters.items()
                    if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                    and name not in made]
        if required:
            raise KeyspaceError(
                f"{type(model).__name__}'s forward requires {', '.join(f'`{n}`' for n in required)}, which its processor "
                "does not make from a prompt of text and images; this family is not measured"
            )

    def vision_marker_ids(self, model: nn.Module) -> frozenset[int]:
        """Ids besides the image token whose input embeddings the vision side writes (so they are image):
        the config's `visual_indicator_token_ids` (Ovis2), and the ids of a vision embedder's own vocabulary
        (Gemma 3n: `vision_config.vocab_size` ids from `vision_config.vocab_offset`, embedded by its
        `embed_vision` table, not the text one: its `<end_of_image>` beside the image token). A family whose
        vision side writes other markers is stopped by the image-position proof until its adapter names them here."""
        ids = set(getattr(model.config, "visual_indicator_token_ids", None) or ())
        vision = getattr(model.config, "vision_config", None)
        offset, size = getattr(vision, "vocab_offset", None), getattr(vision, "vocab_size", None)
        if isinstance(offset, int) and isinstance(size, int):
            ids.update(range(offset, offset + size))
        return frozenset(ids)

    def special_ids(self, processor: Any) -> frozenset[int]:
        tok = processor.tokenizer
        return frozenset(tok.all_special_ids) | frozenset(tok.added_tokens_decoder)

    # -- inputs ------------------------------------------------------------------------------------
    def messages(self, text: str, images: Sequence[Any] = ()) -> list[dict]:
        """One user turn: the images in prompt order, then the benchmark's text."""
        content = [{"type": "image", "image": image} for image in images]
        content.append({"type": "text", "text": text})
        return [{"role": "user", "content": content}]

    def render(self, processor: Any, sample: Sample) -> str:
        """The chat template's output for `sample` (before the processor expands image placeholders)."""
        return processor.apply_chat_template(self.messages(sample.prompt, sample.images), add_generation_prompt=True, tokenize=False)

    def encode(self, loaded: LoadedModel, samples: Sequence[Sample]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Processor output for a batch (left-padded) exactly as a checkpoint's user builds it
        (harness.models.prompts), and the modality label of every token ([B, T] int8, see harness.models.labels)."""
        for s in samples:
            if not s.images:
                raise KeyspaceError(f"sample {s.id} has no image; the harness compares image and text keys, so each sample needs one")
            placed = sum(c.get("type") == "image" for m in self.messages(s.prompt, s.images) for c in m["content"])
            if placed != len(s.images):
                raise KeyspaceError(
                    f"sample {s.id} has {len(s.images)} image(s) but its prompt has {placed} image placeholder(s); "
                    "give one placeholder per image"
                )
        built = build_prompts(
            loaded.processor, [s.prompt for s in samples], [s.images for s in samples], self.messages
        )
        batch = built.batch
        model_dtype = loaded.model.dtype
        for key, value in batch.items():
            # A processor that normalises in half precision (Llama4: bfloat16 pixels) feeds a float32
            # model on the CPU: its pixels are cast up, as the model would cast them down on a GPU.
            # (Values that are not tensors, such as Unlimited-OCR's patch counts as lists, pass as they are.)
            if (isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != model_dtype
                    and model_dtype == torch.float32):
                batch[key] = value.to(model_dtype)
        if self.needs_position_ids(loaded.model):
            # Positions counted from each sequence's first real token, as generate() does, so that a
            # left-padded prompt is rotated exactly as the same prompt alone.
            batch["position_ids"] = (batch["attention_mask"].cumsum(dim=1) - 1).clamp(min=0)
        n_image = (batch["input_ids"] == loaded.image_token_id).sum(dim=1)
        if (n_image == 0).any():
            bad = [s.id for s, k in zip(samples, n_image.tolist()) if k == 0]
            why = "each sample needs at least one image"
            if prompt_format(loaded.processor) == PROCESSOR_PREFIX:
                why = f"the processor placed no image token: {no_template(loaded.processor)}"
            raise KeyspaceError(f"prompt(s) {', '.join(bad)} have no image tokens after processing; {why}")
        labels = torch.stack(
            [
                label_tokens(
                    batch["input_ids"][i], batch["attention_mask"][i], built.offsets[i],
                    tokenized=built.tokenized[i], span=built.spans[i],
                    image_token_id=loaded.image_token_id, special_ids=loaded.special_ids, marker_ids=loaded.marker_ids,
                )
                for i in range(len(samples))
            ]
        )
        return batch, labels

    def needs_position_ids(self, model: nn.Module) -> bool:
        """False for models that derive positions from the attention mask themselves (Qwen-VL's M-RoPE index)."""
        inner = getattr(model, "model", model)
        return not (hasattr(model, "get_rope_index") or hasattr(inner, "get_rope_index"))
