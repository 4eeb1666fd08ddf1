"""Out of memory during capture: the batch is halved down to 1, then a one-line error."""

import pytest
import torch

from harness.errors import KeyspaceError
from harness.run.oom import with_oom_backoff


def test_halves_until_it_fits():
    tried = []

    def run(batch):
        tried.append(batch)
        if batch > 2:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return batch

    result, notes = with_oom_backoff(run, 8, describe=lambda: "unused")
    assert result == 2 and tried == [8, 4, 2]
    assert notes == ["out of memory at batch size 8; retried at 4", "out of memory at batch size 4; retried at 2"]


def test_out_of_memory_at_batch_one_names_model_layers_tokens():
    def run(batch):
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(KeyspaceError) as info:
        with_oom_backoff(run, 4, describe=lambda: "model m, layers [3], longest prompt 700 tokens")
    msg = str(info.value)
    assert "out of memory at batch size 1 (model m, layers [3], longest prompt 700 tokens)" in msg and "\n" not in msg


def test_session_capture_backs_off(monkeypatch, tmp_path):
    """Through the session: a capture that only fits one sample at a time still finishes, and says so."""
    from harness.run import session as session_module
    from harness.run.options import OPTIONS, parse_config

    values = {o.name: o.default for o in OPTIONS} | {"models": "tiny-llava", "samples": "4", "batch-size": "4", "no-cache": "true"}
    run = session_module.KeyspaceRun(parse_config(lambda n: values[n], tmp_path))
    real = session_module.capture_keys

    def fake(loaded, samples, layers, *, batch_size, **kw):
        if batch_size > 1:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real(loaded, samples, layers, batch_size=batch_size, **kw)

    monkeypatch.setattr(session_module, "capture_keys", fake)
    pair = run.pairs()[0]
    bank = run.capture(pair)
    assert len(bank.sample_ids) == 4
    assert any("retried at 1" in n for n in run.notes)
