"""Whether the Hugging Face hub can be reached, asked once per process, and the hub libraries' offline mode where not.

A file missing from the local cache makes huggingface_hub retry its request five times with backoff (1 + 2 + 4 + 8
+ 8 = 23 s, two logged lines a try) before transformers or datasets give up; on a machine without network that is
only a delay before the harness's own one-line error. So a hub read first asks `hub_unreachable()`: where
HF_HUB_OFFLINE is set, or one HEAD request to the hub's endpoint gets no answer within PROBE_TIMEOUT_S (through the
hub client's own session: its proxies and certificates, no retry), the read runs in the libraries' own offline mode
(`offline_hub`): cached files are read as usual, a missing one fails at once. Where the hub answers, nothing changes:
a hub model or dataset is downloaded as before.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from functools import cache
from typing import Iterator

PROBE_TIMEOUT_S = 5.0  # one HEAD request to the endpoint; the hub client's own per-try timeout is 10 s
TRUE = ("1", "true", "yes", "on")


def offline_by_setting() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE / HF_DATASETS_OFFLINE) asks for offline mode."""
    return any(os.environ.get(name, "").strip().lower() in TRUE
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"))


def hub_unreachable() -> str | None:
    """Why the hub cannot be reached ("HF_HUB_OFFLINE is set", "no answer from https://huggingface.co: ..."), or
    None where its endpoint answered (any HTTP status: the hub is there). The network is asked once per process."""
    return "HF_HUB_OFFLINE is set" if offline_by_setting() else _probe()


@cache
def _probe() -> str | None:
    try:
        from huggingface_hub import constants
        from huggingface_hub.utils import get_session
    except ImportError:
        return "huggingface_hub is not installed"
    try:
        get_session().head(constants.ENDPOINT, timeout=PROBE_TIMEOUT_S)
    except Exception as exc:  # name resolution, refused or timed-out connection, proxy errors: all mean "not reachable"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"no answer from {constants.ENDPOINT}: {first[:120]}"
    return None


@contextmanager
def offline_hub() -> Iterator[None]:
    """Inside, huggingface_hub (and so transformers) and datasets run offline, as under HF_HUB_OFFLINE=1: both read
    the switch at each request, so setting it here for the duration is their documented offline mode."""
    from huggingface_hub import constants

    try:
        import datasets.config as datasets_config
    except ImportError:
        datasets_config = None
    saved = constants.HF_HUB_OFFLINE, getattr(datasets_config, "HF_HUB_OFFLINE", None)
    constants.HF_HUB_OFFLINE = True
    if datasets_config is not None:
        datasets_config.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved[0]
        if datasets_config is not None:
            datasets_config.HF_HUB_OFFLINE = saved[1]


@contextmanager
def hub_or_cache() -> Iterator[None]:
    """The hub where it answers; else the local cache alone (`offline_hub`), so a missing file fails at once."""
    if hub_unreachable() is None:
        yield
    else:
        with offline_hub():
            yield
