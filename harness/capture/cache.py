"""The on-disk form of KeyBanks: one safetensors shard per layer and a JSON manifest per entry.

Layout of a cache directory:

    <root>/keyspace-cache.json                  newest harness version that wrote here
    <root>/<model>-<benchmark>-<digest16>/      one entry per CacheKey digest (layers excluded)
        layer-<L>-<sha8>.safetensors            every tensor field of LayerBank for layer L
        manifest.json                           key, bank metadata, per-shard sha256 (written last)
    <root>/text-bias-<digest16>.json            an organism's text-bias probe (harness.organisms.probe), its key inside

Nothing is trusted blindly: an entry is used only when its manifest parses, names the same key,
holds every asked layer, and every shard it needs matches the sha256 the manifest records. The
cache never reads, writes or deletes outside its own directory, so it is safe to share (docs/sweeps.md):
an entry directory, manifest or shard that is a symbolic link is not followed, and a manifest may
name only shard files of the entry's own form (`layer-NNN-<sha8>.safetensors`, no `/` or `..`).
Anything else is a miss (with a one-line note when something was there but unusable), so the
caller recaptures. Every file is written to a temporary file in the same directory, fsynced and
renamed into place, and the manifest goes last, so a write killed half-way leaves no entry that
looks valid. No pickle anywhere: tensors go through safetensors, everything else through JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import time
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

import harness
from harness.atomic import TMP_PREFIX, write_atomic
from harness.capture.cache_key import CacheKey
from harness.capture.keys import KeyBank, LayerBank
from harness.errors import KeyspaceError

FORMAT = 1  # layout of manifest.json; bump when it changes incompatibly
MARKER = "keyspace-cache.json"
MANIFEST = "manifest.json"
_STALE_TMP_SECONDS = 3600  # temporary files older than this belong to a killed write
SHARD_NAME = re.compile(r"layer-\d{3,}-[0-9a-f]{8}\.safetensors")  # the only files a manifest may name


def read_plain(path: Path) -> bytes:
    """The bytes of `path`, a regular file that is not a symbolic link (OSError otherwise)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return fh.read()


def writable(root: Path) -> bool:
    """Whether this process can write in the cache directory `root` (tried for real, nothing left
    behind); a missing directory counts as writable when its nearest existing parent is."""
    existing = Path(root)
    while not existing.exists():
        existing = existing.parent
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".ks-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/keyspace, or ~/.cache/keyspace."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "keyspace"


def version_tuple(text: str):
    """A comparable form of a version string (packaging's where installed, else its numbers)."""
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:  # packaging is not a declared dependency
        return tuple(int(n) for n in re.findall(r"\d+", text))
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


@dataclass(frozen=True)
class Lookup:
    """The answer of KeyCache.load: a bank (a hit) or None (a miss), and why, in one line."""

    bank: KeyBank | None
    note: str | None = None  # set when something was there but could not be used


class _Unusable(Exception):
    """An entry that exists but cannot be trusted; its message becomes the one-line note."""


class KeyCache:
    """KeyBanks on disk under `root`, addressed by CacheKey."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def entry_dir(self, key: CacheKey) -> Path:
        name = f"{key.model}-{key.benchmark}"
        return self.root / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)[:80]}-{key.digest[:16]}"

    # -- version guard ----------------------------------------------------------------------------
    def check_version(self) -> None:
        """Refuse a cache directory that a newer harness wrote (its layout may be unknown to us)."""
        marker = self.root / MARKER
        try:
            written_by = str(json.loads(read_plain(marker))["harness_version"])
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError):
            return  # an unreadable marker is rewritten by the next store
        _refuse_newer(written_by, self.root)

    # -- reading ----------------------------------------------------------------------------------
    def load(self, key: CacheKey) -> Lookup:
        """The bank of `key` restricted to key.layers, when a trustworthy entry holds them."""
        self.check_version()
        entry = self.entry_dir(key)
        try:
            if entry.is_symlink():
                raise _Unusable("is a symbolic link, which the cache does not follow")
            manifest = self._manifest(entry)
            if manifest is None:
                return Lookup(None)
            try:
                return Lookup(self._bank(entry, manifest, key))
            except (KeyError, TypeError, ValueError, AttributeError):
                raise _Unusable("has a manifest that does not fit this harness's KeyBank") from None
        except _Unusable as exc:
            return Lookup(None, f"key cache entry {entry} {exc}; recapturing")

    def _manifest(self, entry: Path) -> dict | None:
        try:
            text = read_plain(entry / MANIFEST).decode()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise _Unusable(f"has an unreadable manifest ({getattr(exc, 'strerror', None) or exc})") from None
        try:
            manifest = json.loads(text)
            _refuse_newer(str(manifest["harness_version"]), entry)
            if manifest["format"] != FORMAT:
                raise _Unusable(f"has manifest format {manifest['format']}, this harness reads {FORMAT}")
            return manifest
        except (ValueError, KeyError, TypeError):
            raise _Unusable("has a manifest that does not parse") from None

    def _bank(self, entry: Path, manifest: dict, key: CacheKey) -> KeyBank | None:
        if manifest.get("key") != key.identity():
            raise _Unusable("was written for another key")
        shards = manifest["layers"]
        if not set(map(str, key.layers)) <= set(shards):
            return None  # holds fewer layers than asked: a plain miss, the new capture replaces it
        layers = {layer: self._layer(entry, shards[str(layer)]) for layer in key.layers}
        return KeyBank(layers=layers, **_restore(KeyBank, manifest["bank"]))

    def _layer(self, entry: Path, shard: dict) -> LayerBank:
        if not SHARD_NAME.fullmatch(str(shard["file"])):
            raise _Unusable(f"names a shard {shard['file']!r} that is not a file of its own (not followed)")
        try:
            data = read_plain(entry / shard["file"])
        except OSError:
            raise _Unusable(f"lacks shard {shard['file']} (or it is not a plain file)") from None
        if len(data) != shard["bytes"]:
            raise _Unusable(f"has shard {shard['file']} of {len(data)} bytes where {shard['bytes']} were written (truncated)")
        if hashlib.sha256(data).hexdigest() != shard["sha256"]:
            raise _Unusable(f"has shard {shard['file']} failing its sha256 (corrupt)")
        try:
            tensors = load_tensors(data)
        except Exception as exc:  # safetensors raises its own error types; any of them means unusable
            raise _Unusable(f"has shard {shard['file']} that safetensors cannot read ({exc})") from None
        if len({t.shape[0] for t in tensors.values()}) > 1:
            raise _Unusable(f"has shard {shard['file']} whose tensors disagree in length")
        return LayerBank(**tensors, **_restore(LayerBank, shard["meta"]))

    # -- writing ----------------------------------------------------------------------------------
    def store(self, key: CacheKey, bank: KeyBank) -> Path:
        """Write `bank` as the entry of `key` (shards first, manifest last) and return its directory."""
        self.check_version()
        self.root.mkdir(parents=True, exist_ok=True)
        self._mark_version()
        entry = self.entry_dir(key)
        if entry.is_symlink() or (entry.exists() and not entry.is_dir()):
            raise OSError(f"{entry} is not a directory of the cache's own (a symbolic link is not followed)")
        entry.mkdir(exist_ok=True)
        bank_meta = _split(bank, skip=("layers",))[1]
        shards = self._kept_shards(entry, key, bank_meta, new_layers=bank.layers.keys())
        for layer, layer_bank in sorted(bank.layers.items()):
            tensors, meta = _split(layer_bank)
            data = save_tensors(tensors)
            digest = hashlib.sha256(data).hexdigest()
            name = f"layer-{layer:03d}-{digest[:8]}.safetensors"
            write_atomic(entry / name, data)
            shards[str(layer)] = {"file": name, "sha256": digest, "bytes": len(data), "meta": meta}
        manifest = {
            "format": FORMAT,
            "harness_version": harness.__version__,
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "key": key.identity(),
            "bank": bank_meta,
            "layers": dict(sorted(shards.items(), key=lambda kv: int(kv[0]))),
        }
        write_atomic(entry / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        _sweep(entry, keep={s["file"] for s in shards.values()})
        return entry

    def _kept_shards(self, entry: Path, key: CacheKey, bank_meta: dict, new_layers) -> dict[str, dict]:
        """Shards of layers the new bank lacks, kept from the entry's earlier capture of the same key
        and samples, so alternating layer choices accumulate (read back only after their sha256 check)."""
        new = {str(layer) for layer in new_layers}
        try:
            old = self._manifest(entry)
            if not old or old.get("key") != key.identity() or old.get("bank") != bank_meta:
                return {}
            return {str(int(layer)): dict(shard) for layer, shard in old["layers"].items()
                    if layer not in new and SHARD_NAME.fullmatch(str(shard["file"]))}
        except (_Unusable, KeyError, TypeError, ValueError, AttributeError):
            return {}  # nothing worth keeping in a manifest this harness cannot read

    def _mark_version(self) -> None:
        marker = self.root / MARKER
        try:
            written_by = str(json.loads(read_plain(marker))["harness_version"])
            if version_tuple(written_by) >= version_tuple(harness.__version__):
                return
        except (OSError, ValueError, KeyError, TypeError):
            pass
        write_atomic(marker, json.dumps({"harness_version": harness.__version__}).encode())


def fetch(root: Path | None, key: CacheKey, capture: Callable[[], KeyBank], *, label: str,
          store: bool = True) -> tuple[KeyBank, list[str]]:
    """The bank of `key`: from the cache under `root` when it holds a trustworthy entry, else from
    `capture()` (then stored, unless `store` is False: a read-only cache). Also returns one-line notes
    for the user, each starting with `label`. `root` None (--ks-no-cache) neither reads nor writes."""
    if root is None:
        return capture(), []
    cache = KeyCache(root)
    found = cache.load(key)
    notes = [f"{label}: {found.note}"] if found.note else []
    if found.bank is not None:
        return found.bank, notes + [f"{label}: from cache {cache.entry_dir(key)}"]
    bank = capture()
    if not store:
        return bank, notes
    try:
        notes.append(f"{label}: captured, stored in cache {cache.store(key, bank)}")
    except OSError as exc:  # a full or read-only disk costs the cache, not the run
        notes.append(f"{label}: captured; could not store it in cache {root} ({exc})")
    return bank, notes


def _refuse_newer(written_by: str, where: Path) -> None:
    if version_tuple(written_by) > version_tuple(harness.__version__):
        raise KeyspaceError(
            f"key cache {where} was written by harness {written_by}, newer than this harness "
            f"{harness.__version__}; use --ks-cache with another directory (or --ks-no-cache), or upgrade the harness"
        )


def _sweep(entry: Path, keep: set[str]) -> None:
    """Remove shards the manifest no longer names, and temporary files left by killed writes.

    Two runs storing the same entry at once may sweep each other's fresh shards; the loser's
    manifest then names a missing shard, which the next load reports and recaptures."""
    now = time.time()
    for path in entry.iterdir():
        if path.is_symlink() or not path.is_file():
            continue  # only the entry's own files, never what a link points at
        stale_tmp = path.name.startswith(TMP_PREFIX) and now - path.stat().st_mtime > _STALE_TMP_SECONDS
        old_shard = path.name.startswith("layer-") and path.name.endswith(".safetensors") and path.name not in keep
        if stale_tmp or old_shard:
            path.unlink(missing_ok=True)


# -- dataclass ⇄ (tensors, JSON) -------------------------------------------------------------------
def _split(obj: Any, skip: tuple[str, ...] = ()) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every init field of a dataclass: tensors (contiguous, for safetensors) and the rest as JSON values."""
    tensors, meta = {}, {}
    for f in fields(obj):
        if not f.init or f.name in skip:
            continue
        value = getattr(obj, f.name)
        if isinstance(value, torch.Tensor):
            tensors[f.name] = value.detach().cpu().contiguous()
        else:
            meta[f.name] = json.loads(json.dumps(value))  # fails loudly on what JSON cannot hold
    return tensors, meta


def _restore(cls: type, meta: dict[str, Any]) -> dict[str, Any]:
    """JSON values back to the field types of `cls` (tuples, int dict keys), for its constructor."""
    hints = typing.get_type_hints(cls)
    return {name: _typed(value, hints.get(name)) for name, value in meta.items()}


def _typed(value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):  # X | None
        inner = [a for a in args if a is not type(None)]
        return value if value is None or len(inner) != 1 else _typed(value, inner[0])
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(v, args[0]) for v in value)
        return tuple(_typed(v, a) for v, a in zip(value, args)) if args else tuple(value)
    if origin is list and isinstance(value, list):
        return [_typed(v, args[0] if args else None) for v in value]
    if origin is dict and isinstance(value, dict):
        key_type, value_type = args if args else (None, None)
        return {(_typed(int(k), key_type) if key_type is int else k): _typed(v, value_type) for k, v in value.items()}
    return value
