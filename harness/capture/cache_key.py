"""The key of a cached KeyBank: everything that decides which vectors a capture produces.

Two captures with equal keys produce the same bank, so the second may be read from disk. Any
field that differs (model, revision, dtype, what was captured, samples, token caps, seed of tiny
weights, harness or transformers version, the bank's layout) gives another key, hence a fresh
capture. Layers are kept apart from the digest: an entry holding a superset of the asked layers
serves the request (see harness.capture.cache).

A local checkpoint (`hf:/dir`, the organisms) has no revision, so its key carries what is in the
directory, not where it lies (so a second checkout of the project is served the organisms the first
one captured) (`checkpoint_identity`): the sha256 of every file up to 16 MiB (config, processor and tokenizer
files, chat template, tiny weights), and the name, size and modification time (ns) of larger files
(real weight shards). Hashing 15 GB of shards would cost more than many captures; a checkpoint
retrained or rewritten in place gets new modification times, so it is recaptured all the same (a
copy that preserves times over different bytes of the same size would not be, a risk accepted).
Every checkpoint that is not a tiny twin also names its image processor backend (torchvision or
PIL): the two backends resize differently, so they give other pixels and other keys.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    from harness.capture.options import CaptureOptions
    from harness.models import ModelSpec


def capture_settings(options: "CaptureOptions") -> dict[str, Any]:
    """The capture options that bound or change the kept tokens, beside the key's own fields:
    the token caps (by what they keep, however they were written) and the mechanism pass."""
    caps = options.caps
    return {
        "caps": {"per_sample": caps.per_sample, "per_modality": dict(sorted(caps.per_modality.items())),
                 "balanced": caps.balanced},
        "mechanism": options.mechanism,
    }


def ids_digest(sample_ids: Iterable[str]) -> str:
    """sha256 of the exact sample ids, in capture order."""
    return hashlib.sha256(json.dumps(list(sample_ids), ensure_ascii=False).encode()).hexdigest()


LOCAL = "local checkpoint"  # the source of every local directory: its files, not its path, tell them apart
HASHED_UP_TO = 16 * 2**20  # bytes; larger files enter the key by size and modification time


def directory_digest(directory: Path) -> str:
    """sha256 over the files of a checkpoint directory: contents of small files, size + mtime of large ones."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(directory).as_posix()}\0{stat.st_size}\0".encode())
        if stat.st_size <= HASHED_UP_TO:
            digest.update(path.read_bytes())
        else:
            digest.update(str(stat.st_mtime_ns).encode())
    return digest.hexdigest()


def image_backend() -> str:
    """The image processor backend transformers picks here: torchvision (with its version) or PIL."""
    from transformers.utils import is_torchvision_available

    if is_torchvision_available():
        import torchvision

        return f"torchvision {torchvision.__version__}"
    return "pil"


def image_processor_type(directory: Path) -> str | None:
    """The image processor class a save_pretrained directory names, if any."""
    for name in ("preprocessor_config.json", "processor_config.json"):
        path = directory / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            found = data.get("image_processor_type") or (data.get("image_processor") or {}).get("image_processor_type")
            if found:
                return found
    return None


def checkpoint_identity(spec: "ModelSpec") -> dict[str, Any]:
    """What a checkpoint's key needs beyond its name and revision (empty for tiny twins, built in code)."""
    if spec.is_tiny:
        return {}
    identity: dict[str, Any] = {"image_backend": image_backend()}
    if spec.is_local:
        directory = Path(spec.source)
        identity.update(files=directory_digest(directory), image_processor=image_processor_type(directory))
    return identity


def layout_of(*classes: type) -> tuple[str, ...]:
    """The field names of the bank dataclasses, so a bank written with another layout is another key."""
    return tuple(f"{cls.__name__}.{f.name}" for cls in classes for f in fields(cls))


@dataclass(frozen=True)
class CacheKey:
    """What one captured bank depends on. `digest` covers every field except `layers`."""

    model: str  # registry name, as recorded in the bank
    source: str  # ModelSpec.source: hub id or tiny:<family>; LOCAL for a local directory (wherever it lies)
    revision: str | None  # ModelSpec.revision (None for tiny twins and local directories)
    dtype: str  # dtype the model ran in, e.g. "float32"
    kind: str  # what was captured, e.g. "keys" (k_proj outputs, pre-RoPE)
    benchmark: str  # with subsets, e.g. "mmmu:Art"
    samples: str  # ids_digest of the exact sample ids
    settings: Mapping[str, Any]  # capture_settings: token caps and the mechanism pass
    seed: int | None  # seed of the weights (tiny twins) or of the token caps' draws, else None
    harness_version: str
    software: Mapping[str, str]  # versions of the code that computes the vectors (transformers; torch for tiny weights)
    layout: tuple[str, ...]  # layout_of(KeyBank, LayerBank)
    checkpoint: Mapping[str, Any] = field(default_factory=dict)  # checkpoint_identity: local files, image processor
    layers: tuple[int, ...] = field(default=())  # the layers asked for; not part of the digest

    def identity(self) -> dict[str, Any]:
        """Every field but `layers`, as JSON-ready values (what the manifest stores and compares)."""
        data = asdict(self)
        data.pop("layers")
        return json.loads(json.dumps(data, sort_keys=True, default=str))

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()


def key_for(
    spec: "ModelSpec", options: "CaptureOptions", benchmark: str, sample_ids: Sequence[str], layers: Iterable[int]
) -> CacheKey:
    """The key of capturing `options.kind` of `layers` of `spec` on these samples."""
    import torch
    import transformers

    import harness
    from harness.capture.keys import KeyBank, LayerBank

    software = {"transformers": transformers.__version__}
    if spec.is_tiny:  # tiny weights are drawn by torch's generator: another torch may draw others
        software["torch"] = torch.__version__
    return CacheKey(
        model=spec.name,
        source=LOCAL if spec.is_local else spec.source,  # a local checkpoint by its content (`checkpoint`), not its path
        revision=spec.revision,
        dtype=options.dtype,
        kind=options.kind,
        benchmark=benchmark,
        samples=ids_digest(sample_ids),
        settings=capture_settings(options),
        seed=options.seed if spec.is_tiny or options.caps.any else None,  # token caps draw by seed
        harness_version=harness.__version__,
        software=software,
        layout=layout_of(KeyBank, LayerBank),
        checkpoint=checkpoint_identity(spec),
        layers=tuple(sorted(set(layers))),
    )
