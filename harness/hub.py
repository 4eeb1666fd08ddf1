"""Whether a hub checkpoint can be used without the network."""

from __future__ import annotations

from pathlib import Path


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
