"""A Hugging Face hub cache holding a tiny twin in the shape of a published checkpoint.

What a GPU machine without network has after `hf download REPO --revision SHA` was run elsewhere and
the cache copied over: `models--ORG--NAME/{blobs,snapshots/SHA,refs/main}`, files as symlinks into
content-addressed blobs. The files follow the published repositories, which predate transformers 5:
- config.json: the published config (harness/models/configs/) with its sizes and ids replaced by
  the twin's, so legacy keys stay legacy (`image_token_index`, Qwen's flat text fields and
  `rope_scaling`);
- processor files split the old way: preprocessor_config.json (image processor), processor_config.json
  (LLaVA's processor fields), chat_template.json;
- weights in shards under the legacy parameter names (`language_model.model.*`, `visual.*`, ...)
  with a model.safetensors.index.json.
Only the tokenizer is the twin's own (tokenizer.json; the real LLaVA repo also has a sentencepiece
tokenizer.model, which a byte-level twin cannot have).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from harness.perf.configs import CONFIG_DIR

# Parameter-name prefixes of the published checkpoints, mapped from the names transformers 5 uses.
LEGACY_PREFIXES = {
    "llava": (
        ("model.language_model.", "language_model.model."),
        ("lm_head.", "language_model.lm_head."),
        ("model.vision_tower.", "vision_tower."),
        ("model.multi_modal_projector.", "multi_modal_projector."),
    ),
    "qwen2.5-vl": (("model.language_model.", "model."), ("model.visual.", "visual.")),
}
KEEP = {"architectures", "model_type", "torch_dtype", "transformers_version", "_name_or_path", "hidden_act"}
RENAMED = {"image_token_index": "image_token_id", "in_chans": "in_channels"}
SHARDS = 3


def write_snapshot(cache: Path, repo: str, revision: str, files: dict[str, bytes]) -> Path:
    """Lay `files` out as the hub cache does; returns the snapshot directory."""
    root = cache / ("models--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / revision
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    for name, data in files.items():
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / name)
    return snapshot


def published_shape_files(family: str, published: str, model: Any, processor: Any, workdir: Path) -> dict[str, bytes]:
    """The twin `model`/`processor` as the files of the published checkpoint `published` (a configs/ name)."""
    return {
        "config.json": _json(_shrink(json.loads((CONFIG_DIR / f"{published}.json").read_text()), model.config)),
        "generation_config.json": _json({"_from_model_config": True}),
        "chat_template.json": _json({"chat_template": processor.chat_template}),
        **_processor_files(processor, workdir),
        **_weight_files(family, model, workdir),
    }


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2) + "\n").encode()


def _twin_value(twin: Any, key: str) -> Any:
    """The twin's value for a published key: at top level, then in its text config (Qwen's flat layout)."""
    name = RENAMED.get(key, key)
    if key == "rope_theta":
        return twin.get_text_config().rope_parameters["rope_theta"]
    for holder in (twin, twin.get_text_config() if hasattr(twin, "get_text_config") else None):
        value = getattr(holder, name, None) if holder is not None else None
        if value is not None:
            return value
    return None


def _shrink(published: dict, twin: Any) -> dict:
    out = {}
    for key, value in published.items():
        sub = getattr(twin, key, None)
        if isinstance(value, dict) and key.endswith("_config") and sub is not None:
            out[key] = _shrink(value, sub)
        elif key == "rope_scaling":
            out[key] = {**value, "mrope_section": twin.get_text_config().rope_parameters["mrope_section"]}
        elif key in KEEP:
            out[key] = value
        else:
            mine = _twin_value(twin, key)
            out[key] = value if mine is None else mine
    return out


def _processor_files(processor: Any, workdir: Path) -> dict[str, bytes]:
    """Processor and tokenizer files, with the image processor in its own preprocessor_config.json."""
    saved = workdir / "processor"
    processor.save_pretrained(saved)
    fields = json.loads((saved / "processor_config.json").read_text())
    image = fields.pop("image_processor") | {"processor_class": fields["processor_class"]}
    if "Qwen" in fields["processor_class"]:  # the published Qwen files give pixel bounds, not a size dict
        size = image.pop("size")
        image |= {"min_pixels": size["shortest_edge"], "max_pixels": size["longest_edge"]}
    files = {"preprocessor_config.json": _json(image)}
    if set(fields) - {"processor_class"}:
        files["processor_config.json"] = _json(fields)
    tokenizer = processor.tokenizer
    files["tokenizer.json"] = (saved / "tokenizer.json").read_bytes()
    files["tokenizer_config.json"] = (saved / "tokenizer_config.json").read_bytes()
    files["special_tokens_map.json"] = _json({k: str(v) for k, v in tokenizer.special_tokens_map.items() if isinstance(v, str)})
    return files


def _weight_files(family: str, model: Any, workdir: Path) -> dict[str, bytes]:
    state = {}
    for name, tensor in model.state_dict().items():
        for new, old in LEGACY_PREFIXES[family]:
            if name.startswith(new):
                name = old + name[len(new):]
                break
        state[name] = tensor.detach().clone().contiguous()
    names = sorted(state)
    files, weight_map = {}, {}
    for i in range(SHARDS):
        shard = f"model-{i + 1:05d}-of-{SHARDS:05d}.safetensors"
        part = {n: state[n] for n in names[i::SHARDS]}
        save_file(part, workdir / shard, metadata={"format": "pt"})
        files[shard] = (workdir / shard).read_bytes()
        weight_map |= dict.fromkeys(part, shard)
    total = sum(t.numel() * t.element_size() for t in state.values())
    files["model.safetensors.index.json"] = _json({"metadata": {"total_size": total}, "weight_map": weight_map})
    return files
