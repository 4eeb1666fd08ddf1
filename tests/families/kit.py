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
