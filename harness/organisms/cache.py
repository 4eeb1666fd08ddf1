"""A cache of text-pretrained models: the model of one seed after text pretraining, reused by every recipe that
changes only what comes after it (stage 1, stage 2, the cue mix; amendment 2's ladder, docs/organisms.md).

An entry is keyed by every `Plan` field but those of the later stages (`LATER_STAGES`), the organism seed and the
facts that decide floating-point results here (`environment.numerics()`: torch and transformers versions, the CPU,
the kernels torch dispatches to, the thread count, pinning variables; another CPU gave seed 0 another text-pretrained
model under the same packages: docs/organisms.md, "Text pretraining across machines"), and holds the whole model's
state (vision tower, initial projector, text-trained decoder), the text stage's record and the digest of the model it
started from. An entry whose start differs from the caller's
(a stale or mis-keyed entry) is not used. Loading restores the weights bit for bit.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import torch

from .environment import numerics

# Plan fields that act only after text pretraining (or not on training at all): not part of an entry's key.
LATER_STAGES = ("seeds", "histories", "n_eval", "caption_steps", "caption_qa_share", "qa_steps", "qa_lr",
                "projector_qa_lr", "cue_share", "cue_right", "text_share", "mmd_weight", "text_gate")


def default_dir() -> Path:
    from harness.capture.cache import default_cache_dir

    return default_cache_dir() / "organisms"


def entry_key(plan: Any, k: int, device: str = "cpu") -> str:
    """The hex key of seed `k`'s text-pretrained model under `plan` in this process's numerics (trained on `device`)."""
    fields = {n: v for n, v in asdict(plan).items() if n not in LATER_STAGES}
    text = json.dumps({"plan": fields, "seed": k, "numerics": numerics(device)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def text_pretrained_cached(folder: Path | None, key: str, base: Any, base_digest: str,
                           compute: Callable[[], tuple[Any, dict]]) -> tuple[Any, dict]:
    """`compute()`'s (model, record), from `folder`/text-KEY.pt when an entry of the same start (`base_digest`,
    the digest of `base`) is there; otherwise computed and stored (no cache when `folder` is None)."""
    if folder is None:
        return compute()
    path = Path(folder) / f"text-{key}.pt"
    if path.is_file():
        entry = torch.load(path, map_location="cpu", weights_only=True)
        if entry["base_sha256"] == base_digest:
            model = copy.deepcopy(base)
            model.load_state_dict(entry["state"])
            return model, {**json.loads(entry["record"]), "cached": path.name}
    model, record = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"state": model.state_dict(), "record": json.dumps(record), "base_sha256": base_digest}, tmp)
    tmp.replace(path)  # atomic: a reader never sees half an entry
    return model, record
