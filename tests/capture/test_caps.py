"""Token caps: per-sample subsets and per-modality reservoirs, seeded and batch-size independent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.capture.collector import _Reservoir
from harness.capture.keys import TokenCaps, capture_keys, parse_max_tokens
from harness.errors import KeyspaceError
from harness.models.labels import MODALITY_NAMES


def _rows(layer) -> set[tuple[int, int]]:
    return set(zip(layer.sample.tolist(), layer.position.tolist()))


def test_parse_max_tokens():
    assert parse_max_tokens("none") == TokenCaps()
    assert parse_max_tokens("100").per_modality == {"text": 100, "image": 100, "special": 100}
    caps = parse_max_tokens("sample=50,image=20")
    assert caps.per_sample == 50 and caps.per_modality == {"image": 20}
    for bad in ("abc", "image=0", "pixels=3", "image=x"):
        with pytest.raises(KeyspaceError, match="--ks-max-tokens"):
            parse_max_tokens(bad)


def test_modality_caps_keep_a_subset_and_count_the_rest(twin, samples):
    full = capture_keys(twin, samples, [1], benchmark="t")
    caps = TokenCaps(per_modality={"image": 30, "text": 25})
    capped = capture_keys(twin, samples, [1], benchmark="t", max_tokens=caps, seed=3)
    for code, name in MODALITY_NAMES.items():
        total = full.layers[1].count(code)
        kept = capped.layers[1].count(code)
        assert kept == min(total, caps.per_modality.get(name, total)) == capped.kept[name]
        assert capped.dropped[name] == total - kept
    # kept rows are real rows, with the vectors the uncapped capture has for them
    index = {row: i for i, row in enumerate(zip(full.layers[1].sample.tolist(), full.layers[1].position.tolist()))}
    picks = [index[row] for row in zip(capped.layers[1].sample.tolist(), capped.layers[1].position.tolist())]
    assert torch.equal(capped.layers[1].vectors, full.layers[1].vectors[picks])
    other = capture_keys(twin, samples, [1], benchmark="t", max_tokens=caps, seed=4)
    assert _rows(other.layers[1]) != _rows(capped.layers[1])  # the seed chooses


def test_caps_do_not_depend_on_batch_size(twin, samples):
    caps = TokenCaps(per_sample=60, per_modality={"image": 20, "special": 10})
    a = capture_keys(twin, samples, [0, 1], benchmark="t", max_tokens=caps, batch_size=1)
    b = capture_keys(twin, samples, [0, 1], benchmark="t", max_tokens=caps, batch_size=len(samples))
    for i in (0, 1):
        assert _rows(a.layers[i]) == _rows(b.layers[i])
        assert torch.allclose(a.layers[i].vectors, b.layers[i].vectors, atol=1e-5, rtol=0)
    per_sample = torch.bincount(a.layers[0].sample.long())
    assert int(per_sample.max()) <= 60


def test_reservoir_is_uniform():
    """Every one of n streamed items is kept with probability cap/n (binomial bounds, 6 sigma)."""
    n, cap, trials = 40, 10, 2000
    hits = np.zeros(n)
    rng = np.random.default_rng(0)
    for _ in range(trials):
        r = _Reservoir(cap, rng)
        for chunk in np.array_split(np.arange(n), 7):  # uneven batches
            ids = torch.from_numpy(chunk).to(torch.int32)
            r.offer(ids, ids, {0: ids.float().unsqueeze(1)})
        sample, _, vectors = r.contents()
        assert len(set(sample.tolist())) == cap and torch.equal(vectors[0][:, 0], sample.float())
        hits[sample.numpy()] += 1
    p = cap / n
    sigma = np.sqrt(trials * p * (1 - p))
    assert np.all(np.abs(hits - trials * p) < 6 * sigma)
    assert hits[-1] > 0 and hits[0] > 0  # neither end is starved (a broken draw keeps the first cap)


def test_assembly_frees_each_reservoir_layer_as_it_goes():
    """Collector.finish joins the bank one layer at a time; a reservoir hands its tensors over, so the slots
    of a layer are freed once that layer is joined (the peak is the bank plus about two layers, not two banks)."""
    import gc
    import weakref

    from harness.capture.collector import Collector
    from harness.models.labels import IMAGE, TEXT

    collector = Collector([0, 1, 2], TokenCaps(per_modality={"image": 8, "text": 8}), seed=0, prompts=1)
    labels = torch.tensor([[IMAGE] * 12 + [TEXT] * 12])
    read = {i: torch.randn(1, 24, 4) for i in (0, 1, 2)}
    collector.take(labels, torch.ones(1, 24, dtype=torch.long), read, start=0)
    slots = [weakref.ref(r.vectors[i]) for r in collector.reservoirs.values() for i in (0, 1, 2)]
    assembled = collector.finish()
    gc.collect()
    assert assembled.kept["image"] == assembled.kept["text"] == 8 and set(assembled.vectors) == {0, 1, 2}
    assert all(r.vectors == {} for r in collector.reservoirs.values())
    assert all(ref() is None for ref in slots), "a reservoir still holds its vectors after the bank was assembled"
