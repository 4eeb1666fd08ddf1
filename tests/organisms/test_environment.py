"""What a training record says about where it was trained (docs/organisms.md, "Text pretraining across machines"):
package versions, the CPU and its kernels, string hashing; the data's digests; the cache keyed by the numerics."""

import os
import platform
import subprocess
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import pytest
import torch

from harness.organisms import cache, data, environment
from harness.organisms.build import QUICK, Plan, prepare
from harness.organisms.card import model_card
from harness.organisms.train import Stage, run_stage

REPO = Path(__file__).resolve().parents[2]
MICRO = replace(QUICK, n_images=24, n_text=24, n_eval=0, n_probe=6, n_log=3, vision_steps=3, text_steps=3)


def test_every_training_record_carries_its_environment_and_data_digests(one_thread):
    record = prepare(MICRO, 0).record
    env = record["environment"]
    assert env["python"] == platform.python_version()
    for package in ("torch", "transformers", "tokenizers", "numpy"):
        assert env["packages"][package] == metadata.version(package)
    assert env["torch"] == torch.__version__ and env["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert env["cpu"] and env["torch_threads"] == 1
    assert env["hash_seed"] == os.environ.get("PYTHONHASHSEED", "random")
    assert env["hash_randomization"] == bool(sys.flags.hash_randomization)
    assert set(record["data_sha256"]) == {"tokenizer", "text", "stage1", "stage2"}
    assert all(len(v) == 64 for v in record["data_sha256"].values())


def test_the_card_names_the_environment(one_thread):
    record = prepare(MICRO, 0).record
    fig = {"n": 2, "chance": 0.167, "accuracy": 0.5, "conflict_accuracy": 0.5, "follows_cue": 0.5, "text_reading": 1.0,
           "masked_accuracy": 0.0, "image_reliance": 0.1}
    card = model_card({**record, "organism": "joint", "history": [], "conflict_probe": fig,
                       "heldout": {"all": {"n": 2, "accuracy": 0.5, "chance": 0.25}}})
    env = record["environment"]
    assert "## Environment" in card
    assert all(v in card for v in (env["python"], env["packages"]["torch"], env["packages"]["transformers"],
                                   env["packages"]["tokenizers"], env["packages"]["numpy"], env["cpu"], env["cpu_capability"]))


def test_the_cache_key_follows_the_cpu_and_the_kernel_pins(monkeypatch):
    """A text-pretrained model computed on another CPU, or with kernels pinned otherwise, is not this one's."""
    plan = Plan()
    here = cache.entry_key(plan, 0)
    monkeypatch.setenv("MKL_CBWR", "AVX2")
    assert cache.entry_key(plan, 0) != here
    monkeypatch.delenv("MKL_CBWR")
    assert cache.entry_key(plan, 0) == here
    monkeypatch.setattr(environment, "cpu_model", lambda: "another CPU")
    assert cache.entry_key(plan, 0) != here


def test_a_stage_records_its_loss_by_tenths(tiny):
    w, model, processor = tiny
    enc = data.Encoder(processor.tokenizer)
    record = run_stage(model, Stage("text", 20, 1e-3, ("decoder",)), data.text_corpus(w, enc), features=torch.empty(0),
                       batch=2, pad_id=processor.tokenizer.pad_token_id, seed=1)
    assert len(record["loss_tenths"]) == 10
    assert record["loss_tenths"][0] == record["loss_first"] and record["loss_tenths"][-1] == record["loss_last"]


DIGESTS = """
import hashlib
from harness.organisms import checkpoint, data
from harness.organisms.tokenizer import train_tokenizer
w = data.make_world(7, n_images=12, n_text=30, n_eval=4, n_probe=6)
tok = train_tokenizer(data.corpus_texts(w), vocab_size=320, chat_template=checkpoint.chat_template())
enc = data.Encoder(tok)
text = data.text_corpus(w, enc)
mix, weights = data.stage2_mix(w, enc, seed=3, cue_share=0.5, cue_right=0.8, text_share=0.1, text=text)
print(hashlib.sha256(tok.backend_tokenizer.to_str().encode()).hexdigest(), data.digest(text), data.digest(mix),
      data.digest(data.captions(w, enc)), hashlib.sha256(weights.numpy().tobytes()).hexdigest())
"""


@pytest.mark.slow
def test_the_data_and_tokenizer_do_not_depend_on_string_hashing():
    """Two processes with different PYTHONHASHSEED build the same tokenizer and the same pools (no set or hash order
    reaches the data)."""
    out = []
    for seed in ("0", "1"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        run = subprocess.run([sys.executable, "-c", DIGESTS], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        out.append(run.stdout.split())
    assert out[0] == out[1] and len(out[0]) == 5
