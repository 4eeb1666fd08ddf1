"""A full-size reference model ready for `capture_keys`: real config, random weights, offline processor.

The processor is the family's real processor class with the checkpoint's image settings (LLaVA:
CLIP at 336 px, patch 14; Qwen2.5-VL: 14-px patches merged 2 × 2) and the tiny byte-level
tokenizer of the tiny twins, since no checkpoint tokenizer may be downloaded. Text therefore
splits into more (byte) tokens than the real tokenizer would make; the image-token counts, which
dominate the sequence, are exactly the checkpoint's. The config's special ids (image token,
Qwen's vision start/end) are set to that tokenizer's ids: only ids change, no shape.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from harness.benchmarks import get_benchmark
from harness.benchmarks.sample import Sample
from harness.models import adapter_for, get_model_spec
from harness.models.adapter import LoadedModel
from harness.models.tiny_tokenizer import TEMPLATES
from harness.models.processors import image_only, torchvision_available
from harness.models.tiny import LLAVA_TOKENS, QWEN_TOKENS
from harness.models.tiny_tokenizer import build_tokenizer

from .configs import FullSizeSpec, build_model, full_size_spec, load_config


def _llava_processor(config, spec: FullSizeSpec) -> Any:
    from transformers import CLIPImageProcessorPil, LlavaProcessor

    template = (TEMPLATES / "llava-1.5.jinja").read_text()
    tokenizer = build_tokenizer(LLAVA_TOKENS, template)
    config.image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    side = config.vision_config.image_size
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    return LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=config.vision_config.patch_size,
        vision_feature_select_strategy=config.vision_feature_select_strategy, num_additional_image_tokens=1,
        chat_template=template,
    )


def _qwen_processor(config, spec: FullSizeSpec) -> Any:
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessorPil

    template = (TEMPLATES / "qwen2-vl.jinja").read_text()
    tokenizer = build_tokenizer(QWEN_TOKENS, template)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_TOKENS.specials}
    config.image_token_id, config.video_token_id = ids["<|image_pad|>"], ids["<|video_pad|>"]
    config.vision_start_token_id, config.vision_end_token_id = ids["<|vision_start|>"], ids["<|vision_end|>"]
    pixels = spec.image_px * spec.image_px  # the fed image passes through unresized
    image_processor = Qwen2VLImageProcessorPil(min_pixels=pixels, max_pixels=pixels)
    processor_class, video = Qwen2_5_VLProcessor, None
    if torchvision_available():
        from transformers import Qwen2VLVideoProcessor

        video = Qwen2VLVideoProcessor(min_pixels=pixels, max_pixels=pixels)
    else:
        processor_class = image_only(processor_class)
    return processor_class(image_processor=image_processor, tokenizer=tokenizer, video_processor=video, chat_template=template)


_PROCESSORS = {"llava": _llava_processor, "qwen2.5-vl": _qwen_processor}


def full_size_loaded(
    name: str, *, device: torch.device, dtype: torch.dtype, layers: int | None = None,
    vision_layers: int | None = None, seed: int = 0,
) -> LoadedModel:
    """`name`'s real architecture (cut to `layers` / `vision_layers` when given) on `device`."""
    spec = full_size_spec(name)
    config = load_config(name, layers=layers, vision_layers=vision_layers)
    processor = _PROCESSORS[spec.family](config, spec)
    model = build_model(name, config, device=device, dtype=dtype, seed=seed)
    adapter = adapter_for(spec.family)
    return LoadedModel(
        spec=get_model_spec(name), adapter=adapter, model=model, processor=processor,
        layers=adapter.decoder_layers(model), image_token_id=adapter.image_token_id(model, processor),
        marker_ids=adapter.vision_marker_ids(model), special_ids=adapter.special_ids(processor), device=torch.device(device),
    )


def realistic_samples(name: str, count: int) -> tuple[Sample, ...]:
    """`count` fixture questions, each with one image resized to the checkpoint's native square input."""
    side = full_size_spec(name).image_px
    rows = get_benchmark("fixture")((), seed=0)
    if count > len(rows):
        rows = [rows[i % len(rows)] for i in range(count)]
    return tuple(
        replace(s, id=f"{s.id}#{i}", images=(s.images[0].convert("RGB").resize((side, side)),))
        for i, s in enumerate(rows[:count])
    )
