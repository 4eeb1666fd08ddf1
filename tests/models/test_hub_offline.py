"""A hub model or dataset missing from the cache of a machine without network fails in its one line at once: no
retries of the hub client (1 + 2 + 4 + 8 + 8 s, each logged) before it (seen failing on the code before: every
request was retried five times). Where the hub answers, reads go to it as before.

No test here reaches the network: name resolution is made to fail, as on a machine without one, and the
hub client's sleeps between retries are recorded instead of slept."""

from __future__ import annotations

import socket
import time

import pytest

from harness.errors import KeyspaceError


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """No name resolves, no offline switch is set, empty caches; returns the retry sleeps the hub client asked for."""
    import huggingface_hub.constants as hub
    import huggingface_hub.utils._http as http

    def unresolvable(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub"))
    try:
        import datasets

        monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    except ImportError:
        pass
    monkeypatch.delenv("KS_DATA_DIR", raising=False)
    try:  # each process asks the network once; this test's answer is its own
        from harness import hub_access

        hub_access._probe.cache_clear()
        monkeypatch.setattr(hub_access, "_probe", hub_access._probe.__wrapped__)
    except ImportError:
        pass
    sleeps: list[float] = []
    monkeypatch.setattr(http.time, "sleep", sleeps.append)
    return sleeps


def test_a_hub_model_not_cached_fails_in_one_line_without_retries(no_network, caplog):
    from harness.models.hub import checkpoint_config
    from harness.models.registry import get_model_spec

    start = time.perf_counter()
    with pytest.raises(KeyspaceError) as err:
        checkpoint_config(get_model_spec("hf:nonexistent/model"))
    assert no_network == [] and "Retrying" not in caplog.text, (no_network, caplog.text[-500:])
    assert time.perf_counter() - start < 10
    assert "nonexistent/model is not in the local Hugging Face cache" in str(err.value) and "\n" not in str(err.value)


def test_a_hub_dataset_not_cached_fails_in_one_line_without_retries(no_network, caplog):
    from harness.benchmarks.loading import LoadOptions, load_rows

    with pytest.raises(KeyspaceError) as err:
        load_rows("MMMU/MMMU", "Art", "validation", LoadOptions())
    assert no_network == [] and "Retrying" not in caplog.text, (no_network, caplog.text[-500:])
    assert str(err.value).startswith("cannot load the hub dataset MMMU/MMMU (Art, validation) offline (no answer from ")
    assert "pre-download it with `hf download MMMU/MMMU --repo-type dataset`" in str(err.value)


def test_where_the_hub_answers_reads_go_to_it(monkeypatch):
    """A GPU machine with network still downloads: offline mode only where the probe got no answer."""
    import huggingface_hub.constants as hub

    from harness import hub_access

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub_access, "_probe", lambda: None)
    with hub_access.hub_or_cache():
        assert hub.HF_HUB_OFFLINE is False
    monkeypatch.setattr(hub_access, "_probe", lambda: "no answer from https://huggingface.co: refused")
    with hub_access.hub_or_cache():
        assert hub.HF_HUB_OFFLINE is True
    assert hub.HF_HUB_OFFLINE is False  # restored
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_access.hub_unreachable() == "HF_HUB_OFFLINE is set"
