"""The one token selection (harness.analysis.selection) that the triple check and the interventions share."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.analysis.selection import AnalysisError, select
from harness.capture.keys import LayerBank
from harness.models.labels import IMAGE, SPECIAL, TEXT


def _layer(n_prompts: int = 6, per: int = 40, seed: int = 0) -> LayerBank:
    g = torch.Generator().manual_seed(seed)
    modality = torch.tensor(([IMAGE] * (per // 2) + [TEXT] * (per // 2 - 2) + [SPECIAL] * 2) * n_prompts, dtype=torch.int8)
    sample = torch.arange(n_prompts, dtype=torch.int32).repeat_interleave(per)
    position = torch.arange(per, dtype=torch.int32).repeat(n_prompts)
    return LayerBank(torch.randn(n_prompts * per, 8, generator=g), modality, sample, position)


IDS = [f"s{i}" for i in range(6)]
STRATA = {f"s{i}": {"unit": f"s{i - i % 2}", "language": "en" if i % 2 else "zh", "category": str(i // 2)} for i in range(6)}


def test_a_cap_keeps_a_seeded_sorted_subsample_of_each_modality_and_their_labels():
    layer = _layer()
    a = select(layer, IDS, STRATA, max_points=50, seed=3)
    b = select(layer, IDS, STRATA, max_points=50, seed=3)
    assert len(a.image.x) == len(a.text.x) == 50
    assert torch.equal(a.image_rows, b.image_rows) and torch.equal(a.text_rows, b.text_rows)
    assert torch.all(a.image_rows[1:] > a.image_rows[:-1])
    assert torch.all(layer.modality[a.image_rows] == IMAGE) and torch.all(layer.modality[a.text_rows] == TEXT)
    assert torch.equal(a.image.x, layer.vectors[a.image_rows])
    samples = layer.sample[a.text_rows].numpy()
    assert list(a.text.units) == [STRATA[IDS[i]]["unit"] for i in samples]
    assert list(a.text.strata["language"]) == [STRATA[IDS[i]]["language"] for i in samples]
    assert np.array_equal(a.text.position, layer.position[a.text_rows].numpy())
    assert not torch.equal(select(layer, IDS, STRATA, max_points=50, seed=4).image_rows, a.image_rows)


def test_special_tokens_count_as_text_only_when_asked():
    layer = _layer()
    plain = select(layer, IDS, None, max_points=10_000, seed=0)
    more = select(layer, IDS, None, max_points=10_000, seed=0, special_as_text=True)
    assert len(more.text.x) - len(plain.text.x) == 12
    assert list(plain.image.units[:1]) == ["s0"] and plain.image.strata == {}  # no strata: every prompt its own unit


def test_a_sample_without_strata_is_an_error():
    with pytest.raises(AnalysisError, match="no strata for 2 sample"):
        select(_layer(), IDS, {k: v for k, v in STRATA.items() if k not in ("s4", "s5")}, max_points=100, seed=0)


def test_the_interventions_read_the_tokens_the_triple_check_reads():
    """intervention.run measures the gap on the same selection as analysis.triple (one function, one generator order)."""
    from harness.intervention.run import _sides

    class Cond:
        keys = _layer()

    class Settings:
        max_points, seed = 50, 3

    held = [type("S", (), {"id": i})() for i in IDS]
    sel, samples = _sides(Cond, held, STRATA, Settings)
    ref = select(Cond.keys, IDS, STRATA, max_points=50, seed=3)
    assert torch.equal(sel.image.x, ref.image.x) and torch.equal(sel.text.x, ref.text.x)
    assert np.array_equal(samples["image"], Cond.keys.sample[ref.image_rows].numpy())
