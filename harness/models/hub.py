"""Hub checkpoints without surprises: whether one is usable offline, and one-line errors when not.

GPU machines often have no network: checkpoints are fetched elsewhere (`hf download REPO --revision
REV`) and the cache copied over. A registered model pins a commit, so the cache must hold that commit.
"""

from __future__ import annotations

import json
import struct
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from harness.errors import KeyspaceError
from harness.hub_access import hub_or_cache
from harness.models.processors import missing_package

if TYPE_CHECKING:
    from harness.models.registry import ModelSpec


def checkpoint_available(source: str, revision: str | None = None) -> bool:
    """True for a local directory with a config, or a hub id whose config is in the local cache."""
    if Path(source).is_dir():
        return (Path(source) / "config.json").is_file()
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(source, "config.json", revision=revision)
    return isinstance(found, str)


def hub_reads(spec: "ModelSpec"):
    """Around a read of `spec`'s files: the hub where it answers, else the local cache alone (harness.hub_access), so
    that a checkpoint missing from the cache of a machine without network fails in one line at once, not after the
    hub client's 23 s of retries. A local directory reads no hub."""
    return nullcontext() if spec.is_local or spec.is_tiny else hub_or_cache()


def download_command(source: str, revision: str | None) -> str:
    return f"hf download {source}" + (f" --revision {revision}" if revision else "")


def load_failure(spec: "ModelSpec", exc: BaseException) -> str:
    """One line saying why `spec`'s checkpoint did not load and what would make it load."""
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else type(exc).__name__
    if spec.is_local:
        return f"{spec.name}: cannot load {spec.source} ({first}); give a directory written by save_pretrained with the model and its processor"
    where = spec.source + (f" at revision {spec.revision}" if spec.revision else "")
    if not checkpoint_available(spec.source, spec.revision):
        from huggingface_hub.constants import HF_HUB_CACHE

        return (
            f"{spec.name}: {where} is not in the local Hugging Face cache ({HF_HUB_CACHE}) and was not fetched ({first}); "
            f"run `{download_command(spec.source, spec.revision)}` where the hub is reachable and bring that cache here "
            "(or set HF_HUB_CACHE to it), or name a local copy as hf:/path/to/dir"
        )
    return f"{spec.name}: cannot load {where}: {first}"


@contextmanager
def checkpoint_errors(spec: "ModelSpec", trust_remote_code: bool) -> Iterator[None]:
    """Turn transformers' long errors about a checkpoint into one line naming the fix.

    Covers a checkpoint that needs its own modelling code without --ks-trust-remote-code, and one
    that is neither cached nor reachable (offline machines, a revision never downloaded)."""
    try:
        yield
    except ValueError as exc:
        if "trust_remote_code" in str(exc) and not trust_remote_code:
            raise KeyspaceError(
                f"{spec.name} needs its own modelling code from the checkpoint; pass --ks-trust-remote-code to run it"
            ) from None
        if str(exc).startswith("Unrecognized configuration class"):  # listed for the task, yet no such model class (Evolla)
            first = str(exc).strip().splitlines()[0]
            raise KeyspaceError(
                f"{spec.name}: AutoModelForImageTextToText cannot build it ({first.split(' Model type should be')[0]}); "
                "give a checkpoint whose model class AutoModelForImageTextToText loads"
            ) from None
        raise
    except ImportError as exc:  # transformers' "requires the timm library" errors start with an empty line
        raise KeyspaceError(f"{spec.name}: {missing_package(exc)}") from None
    except OSError as exc:
        raise KeyspaceError(load_failure(spec, exc)) from None  # the cause's first line is in the message
    except Exception as exc:
        if type(exc).__name__ != "SafetensorError":  # safetensors' own error type, not importable by a stable name
            raise
        raise KeyspaceError(load_failure(spec, exc)) from None


OUTPUT_HEADS = ("lm_head",)  # weights that make answers, not keys: one drawn at random is a note, not a stop


def unloaded_weights(spec: "ModelSpec", model_name: str, info: dict, saved: str | None = None) -> str | None:
    """What `from_pretrained(..., output_loading_info=True)`'s `info` says was drawn at random instead of read from
    the checkpoint: a one-line error where any weight upstream of the keys is (embeddings, vision side, projector,
    decoder layers: the keys would be of random weights); the line of a note where only an output head is (the keys
    are the checkpoint's, answers are not); None where every weight was read. `saved`: the class the checkpoint was
    saved from (its config's `architectures`), named where it is not the class that loaded it (ShieldGemma 2: saved
    as an image classifier, built as Gemma3ForConditionalGeneration, whose language model then reads none of it)."""
    drawn = sorted({*info.get("missing_keys", ()), *(k if isinstance(k, str) else k[0] for k in info.get("mismatched_keys", ()))})
    if not drawn:
        return None
    upstream = [k for k in drawn if not any(head in k for head in OUTPUT_HEADS)]
    if upstream:
        other = f" (it was saved from {saved}, whose weights {model_name} does not read)" if saved and saved != model_name else ""
        raise KeyspaceError(
            f"{spec.name}: {len(upstream)} weight(s) of {model_name} are not in the checkpoint (or have another shape) and "
            f"were drawn at random when it loaded{other} (e.g. {upstream[0]}), so its keys would come from random weights; "
            "give a checkpoint whose weights match the model class AutoModelForImageTextToText builds for it"
        )
    return (f"{spec.name}: its output head ({', '.join(drawn)}) is not in the checkpoint and was drawn at random "
            "when it loaded: its keys are the checkpoint's, but answers read from its logits (the intervention study's "
            "accuracy and hint-following) are not")


WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def checkpoint_config(spec: "ModelSpec", *, trust_remote_code: bool = False):
    """The model's config, without its weights: a tiny twin's own, else the checkpoint's config.json."""
    if spec.is_tiny:
        from harness.models.tiny import build_tiny  # deferred: checkpoint checks run at planning without torch

        return build_tiny(spec.source.removeprefix("tiny:"), seed=0)[0].config  # tiny: built in milliseconds
    if spec.is_local and not (Path(spec.source) / "config.json").is_file():
        raise KeyspaceError(
            f"--ks-models: {spec.name}: {spec.source} has no config.json; give a directory written by "
            "save_pretrained (model and processor)"
        )
    from transformers import AutoConfig

    try:
        with checkpoint_errors(spec, trust_remote_code), hub_reads(spec):
            return AutoConfig.from_pretrained(spec.source, revision=spec.revision, trust_remote_code=trust_remote_code)
    except ValueError as exc:  # e.g. a config.json without model_type
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise KeyspaceError(
            f"--ks-models: {spec.name}: its config cannot be read ({first}); give a checkpoint of a vision-language "
            "model written by save_pretrained"
        ) from None


def check_checkpoint(spec: "ModelSpec", config, *, trust_remote_code: bool = False) -> None:
    """One-line error for a checkpoint that cannot be a vision-language model of this harness, found
    from its config and file list alone: a text-only architecture, a local directory without weights."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES as KNOWN

    kind = getattr(config, "model_type", "?")
    remote = trust_remote_code and "AutoModelForImageTextToText" in (getattr(config, "auto_map", None) or {})
    if not spec.is_tiny and kind not in KNOWN and not remote:
        raise KeyspaceError(
            f"--ks-models: {spec.name} is a {kind!r} checkpoint, not an image-text-to-text model; give a vision-language "
            f"checkpoint that AutoModelForImageTextToText loads (e.g. llava, llava_next, qwen2_vl, qwen2_5_vl)"
        )
    if _text_only(config):
        raise KeyspaceError(
            f"--ks-models: {spec.name} is a {kind!r} checkpoint whose model is text-only (its config has no vision side), "
            "though transformers lists the type for image-text-to-text; it has no image tokens to measure; this family "
            "is not measured"
        )
    if config.is_encoder_decoder or getattr(config.get_text_config(), "is_encoder_decoder", False):
        raise KeyspaceError(
            f"--ks-models: {spec.name} is an encoder-decoder ({kind!r}): its decoder sees the image only through "
            "cross-attention to the encoder's states, never at decoder token positions, so it has no image keys to "
            "measure; this family is not measured"
        )
    if spec.is_local and not any((Path(spec.source) / name).is_file() for name in WEIGHT_FILES):
        raise KeyspaceError(
            f"--ks-models: {spec.name}: {spec.source} has a config but no weights ({' or '.join(WEIGHT_FILES[::2])}); "
            "give a directory written by save_pretrained with the model's weights"
        )


def _text_only(config) -> bool:
    """A config with nothing of a vision side: no sub-config (its text config is itself) and no field naming a
    vision tower, image tokens, patches or an image tokenizer (Mistral 4's, listed for image-text-to-text)."""
    if config.get_text_config() is not config:
        return False
    fields = config.to_dict()
    return not any(name.endswith("_config") or any(w in name for w in ("vision", "visual", "image", "patch", "vq"))
                   for name in fields)


def safetensors_problem(path: Path) -> str | None:
    """What is wrong with a `.safetensors` file, read from its header alone (no tensor is loaded), or None.

    The format is an 8-byte little-endian header length, a JSON header giving each tensor's byte range,
    then the data; a file cut short (an interrupted copy or download) has less data than its header
    promises."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                return f"{size} bytes, shorter than the 8-byte header length"
            (length,) = struct.unpack("<Q", head)
            if 8 + length > size:
                return f"truncated: its header alone claims {length} bytes, the file has {size}"
            header = json.loads(fh.read(length))
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    except (ValueError, UnicodeDecodeError):
        return "its header is not the JSON of a safetensors file"
    if not isinstance(header, dict):
        return "its header is not the JSON of a safetensors file"
    ends = [v.get("data_offsets", [0, 0])[1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    expected = 8 + length + max(ends, default=0)
    if size < expected:
        return f"truncated: {size} bytes of the {expected} its header describes"
    return None


def weight_files(directory: Path) -> list[Path]:
    """The `.safetensors` files a checkpoint directory's weights live in (its index's shards, or the single file)."""
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text()).get("weight_map", {}).values()))
        except (OSError, ValueError, AttributeError):
            return [index]  # reported by check_weights as unreadable
        return [directory / name for name in shards]
    single = directory / "model.safetensors"
    return [single] if single.is_file() else []


def check_weights(spec: "ModelSpec", directory: Path) -> None:
    """One-line error for a checkpoint whose safetensors weights are missing, truncated or unreadable,
    checked from the files' headers and sizes only (cheap at planning, before any model loads)."""
    for path in weight_files(directory):
        if path.name.endswith(".index.json"):
            problem = "unreadable index (not the JSON of a sharded checkpoint)"
        elif not path.is_file():
            problem = "missing (named by model.safetensors.index.json)"
        else:
            problem = safetensors_problem(path)
        if problem:
            raise KeyspaceError(f"--ks-models: {spec.name}: weight file {path}: {problem}; copy or download the checkpoint again")


def check_cached_weights(spec: "ModelSpec") -> None:
    """check_weights on the folder `spec`'s weights are read from, when it is on this machine (a local
    directory, or a hub cache holding its revision); a hub model not cached fails at its capture instead."""
    directory = cached_directory(spec)
    if directory is not None:
        check_weights(spec, directory)


def cached_directory(spec: "ModelSpec") -> Path | None:
    """The local folder a checkpoint's files are read from: the directory itself, or its snapshot in
    the hub cache (None when not cached)."""
    if spec.is_local:
        return Path(spec.source)
    if spec.is_tiny:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(spec.source, "config.json", revision=spec.revision)
    return Path(found).parent if isinstance(found, str) else None


def head_count(config, kind: str) -> int:
    """Heads in one captured vector of `kind`: query heads for queries, KV heads for keys and values."""
    from harness.models.taps import heads_of  # deferred: checkpoint checks run at planning without torch

    return heads_of(kind, config.get_text_config())
