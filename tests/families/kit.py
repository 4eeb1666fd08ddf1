"""What every tiny family checkpoint is built with: the registry of builders and the shared small configs,
templates and tokenizer (one byte is one token). tests/families/zoo.py and each zoo_*.py register their
builders here; the tests read BUILDERS through zoo."""

from __future__ import annotations

from typing import Any, Callable

from harness.models.tiny_tokenizer import TokenizerSpec, build_tokenizer

BUILDERS: dict[str, Callable[[], tuple[Any, Any]]] = {}
NEEDS_TORCHVISION: set[str] = set()  # families whose image processor has no PIL implementation
VOCAB = 320  # 256 bytes + the family's specials
# the Qwen tokenizers' specials (Qwen2-VL onwards; several other families build on them)
QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")


def family(name: str, *, torchvision: bool = False):
    def wrap(fn):
        BUILDERS[name] = fn
        if torchvision:
            NEEDS_TORCHVISION.add(name)
        return fn

    return wrap


def template(start: str, turn: str, image: str, end: str, generation: str) -> str:
    """A one-turn chat template: `start`, then per message `turn` (with {role}), its images and text, `end`."""
    turn = turn.replace("{role}", "' + message['role'] + '")
    return (
        f"{start}{{% for message in messages %}}{{{{ '{turn}' }}}}"
        "{% for c in message['content'] %}{% if c['type'] == 'image' %}"
        f"{{{{ '{image}' }}}}{{% else %}}{{{{ c['text'] }}}}{{% endif %}}{{% endfor %}}"
        f"{{{{ '{end}' }}}}{{% endfor %}}{{% if add_generation_prompt %}}{{{{ '{generation}' }}}}{{% endif %}}"
    )


def tokenizer(specials, bos, eos, pad, chat_template, **extra):
    return build_tokenizer(TokenizerSpec(tuple(specials), bos, eos, pad, extra=tuple(extra.items())), chat_template)


def small_text(**kw) -> dict:
    base = dict(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, vocab_size=VOCAB, max_position_embeddings=4096,
    )
    return {**base, **kw}


def siglip(image_size: int = 32, patch_size: int = 8) -> dict:
    return dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=image_size, patch_size=patch_size)


def image_only_if_needed(processor_class: type) -> type:
    from harness.models.processors import image_only, torchvision_available

    return processor_class if torchvision_available() else image_only(processor_class)


def video_processor(name: str, **kw):
    from harness.models.processors import torchvision_available

    if not torchvision_available():
        return None
    import transformers

    return getattr(transformers, name)(**kw)


def loaded_checkpoint(model: Any, processor: Any, directory) -> Any:
    """`model` and `processor` saved to `directory` and loaded back through `hf:DIR`, as a user runs a checkpoint
    (float32, on the CPU)."""
    import torch

    from harness.models import adapter_for, get_model_spec

    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    spec = get_model_spec(f"hf:{directory}")
    return adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)


QWEN_TEMPLATE = template(
    "", "<|im_start|>{role}\\n", "<|vision_start|><|image_pad|><|vision_end|>", "<|im_end|>\\n", "<|im_start|>assistant\\n"
)


def qwen3_processor(tok):
    """The Qwen3-VL processor (16-px patches merged 2 × 2) that Qwen3-VL and Qwen3.5 checkpoints share."""
    from transformers import Qwen2VLImageProcessorPil, Qwen3VLProcessor

    image_processor = Qwen2VLImageProcessorPil(patch_size=16, merge_size=2, min_pixels=16 * 32 * 32, max_pixels=32 * 32 * 32)
    return image_only_if_needed(Qwen3VLProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=QWEN_TEMPLATE,
        video_processor=video_processor("Qwen3VLVideoProcessor", patch_size=16, merge_size=2),
    )


# Qwen3.5's vision side at tiny size (one block, 16-px patches merged 2 × 2), shared by its descendants' builders
QWEN3_5_VISION = dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=16,
                      spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=16)


def qwen_vision_ids(tok) -> dict:
    """A Qwen-VL-style config's image, video and vision-span token ids in `tok`'s vocabulary."""
    ids = tok.convert_tokens_to_ids
    return dict(image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
                vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))


def qwen3_5_text(attention: str = "full_attention", **kw) -> dict:
    """Qwen3.5's hybrid decoder at tiny size: gated delta-rule linear-attention layers and `attention` layers in turn
    (4 layers, the first linear), M-RoPE interleaved over a quarter of each head."""
    return small_text(
        num_hidden_layers=4, layer_types=["linear_attention", attention] * 2,
        linear_key_head_dim=16, linear_value_head_dim=16, linear_num_key_heads=2, linear_num_value_heads=4,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 1, 1], "mrope_interleaved": True,
                         "partial_rotary_factor": 0.5},
        **kw,
    )
