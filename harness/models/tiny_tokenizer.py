"""A tiny byte-level tokenizer built offline, for the tiny twins of real model families.

Real checkpoints ship a tokenizer of 32k-150k entries; the tiny twins need one that turns any
text (English and Chinese alike) into ids without a download. A byte-level BPE with no merges
does that with 256 entries plus the family's special tokens, and it goes through the same
`PreTrainedTokenizerFast` and processor code paths as a real tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import bytes_to_unicode

TEMPLATES = Path(__file__).parent / "templates"  # the bundled chat templates of the offline-built models


@dataclass(frozen=True)
class TokenizerSpec:
    """The special tokens of one family, in id order after the 256 byte tokens."""

    specials: tuple[str, ...]  # every added special token, first ids after the bytes
    bos: str | None  # prepended to every sequence when set (Llama), None for Qwen
    eos: str
    pad: str
    unk: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # (attribute, token), e.g. ("image_token", "<image>")


def build_tokenizer(spec: TokenizerSpec, chat_template: str) -> PreTrainedTokenizerFast:
    byte_vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}  # 256 entries
    core = Tokenizer(models.BPE(vocab=byte_vocab, merges=[], unk_token=None))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, chat_template=chat_template)
    tok.add_special_tokens({"additional_special_tokens": list(spec.specials)})
    tok.eos_token, tok.pad_token = spec.eos, spec.pad
    if spec.unk:
        tok.unk_token = spec.unk
    if spec.bos:
        tok.bos_token = spec.bos
        bos_id = tok.convert_tokens_to_ids(spec.bos)
        tok._tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{spec.bos} $A", pair=f"{spec.bos} $A $B", special_tokens=[(spec.bos, bos_id)]
        )
    if spec.extra:  # family attributes such as tokenizer.image_token, saved with the tokenizer
        tok._set_model_specific_special_tokens(dict(spec.extra))
    tok.padding_side = "left"
    return tok
