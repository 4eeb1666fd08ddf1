"""The organisms' tokenizer: a byte-level BPE trained offline on the world's training text.

Byte-level, so any text (the fixture's multiple-choice prompts, Chinese included) still encodes,
through byte tokens where the world never taught a merge.
"""

from __future__ import annotations

from typing import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

BOS, EOS, UNK, PAD, IMAGE = "<s>", "</s>", "<unk>", "<pad>", "<image>"
SPECIALS = (BOS, EOS, UNK, PAD, IMAGE)  # ids 0..4, in this order


def train_tokenizer(texts: Iterable[str], *, vocab_size: int, chat_template: str) -> PreTrainedTokenizerFast:
    """A Llama-style tokenizer (BOS prepended, left padding) whose merges come from `texts`."""
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIALS), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer)
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, core.token_to_id(BOS))]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, chat_template=chat_template, bos_token=BOS, eos_token=EOS, unk_token=UNK, pad_token=PAD,
        additional_special_tokens=[IMAGE],
    )
    tok.padding_side = "left"
    return tok
