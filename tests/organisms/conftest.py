"""Shared by the organisms' tests: a tiny untrained organism on a tiny world, and torch on one thread."""

import pytest
import torch

from harness.organisms import checkpoint, data
from harness.organisms.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def tiny():
    """(world, model, processor): 12 training scenes, 4 held-out, 6 probe scenes; a 2-layer decoder of width 32."""
    w = data.make_world(7, n_images=12, n_text=12, n_eval=4, n_probe=6)
    tok = train_tokenizer(data.corpus_texts(w), vocab_size=320, chat_template=checkpoint.chat_template())
    model = checkpoint.build_model(checkpoint.Sizes(hidden=32, layers=2, vocab=320), tok, seed=3)
    return w, model, checkpoint.build_processor(tok)


@pytest.fixture
def one_thread():
    """torch on one thread for the test (bit-for-bit comparisons), restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
