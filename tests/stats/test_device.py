"""Keys on an accelerator are analysed there: the MMD statistics run on the keys' device (or on
AnalysisSettings.device) and agree with the CPU path; no key- or kernel-sized tensor comes back to
the host in them. Every test runs on the CPU; the CUDA cases run where a GPU is present."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from harness.analysis.triple import AnalysisSettings, analyze_layer
from harness.run.controls import synthetic_bank, synthetic_strata
from harness.stats.gap import Side, cross_modal_gap
from harness.stats.simulate import simulate_keys

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"))]
SETTINGS = AnalysisSettings(threshold=1.0, alpha=0.01, permutations=200, n_boot=100, tsne_cap=0)


def _figures(gap) -> dict:
    i = gap.interval
    return {"mmd2": gap.mmd2, "p_value": gap.p_value, "sigma": gap.sigma, "ratio": i.ratio, "low": i.low, "high": i.high,
            **{f"intra {k}": v for k, v in gap.intra.items()}}


def _keys(dtype=torch.float64):
    k = simulate_keys(prompts=12, d=16, shift=0.8, seed=4, cap_image=300, cap_text=200)
    image, text = k.sides()
    return Side(torch.from_numpy(k.image).to(dtype), image.units, image.strata), Side(torch.from_numpy(k.text).to(dtype), text.units, text.strata)


def _to(side: Side, device) -> Side:
    return Side(side.x.to(device), side.units, side.strata, side.position)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-9), (torch.float32, 1e-4)])
def test_cross_modal_gap_on_a_device_agrees_with_the_cpu(device, dtype, rtol):
    image, text = _keys(dtype)
    on_cpu = _figures(cross_modal_gap(image, text, permutations=300, n_boot=60, seed=1))
    there = _figures(cross_modal_gap(_to(image, device), _to(text, device), permutations=300, n_boot=60, seed=1))
    assert on_cpu.keys() == there.keys()
    for name in on_cpu:
        assert _rel(on_cpu[name], there[name]) <= rtol, (name, on_cpu[name], there[name])
    if device == "cpu":
        assert on_cpu == there  # the same path, to the bit


class _HostCopies:
    """Records the shapes of tensors sent to the host (.cpu(), .numpy(), .tolist(), .to(cpu))."""

    def __init__(self, monkeypatch):
        self.shapes: list[tuple[int, ...]] = []
        for name in ("cpu", "numpy", "tolist"):
            inner = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._wrap(inner, lambda *a, **k: True))
        monkeypatch.setattr(torch.Tensor, "to", self._wrap(torch.Tensor.to, self._to_cpu))

    @staticmethod
    def _to_cpu(*args, **kwargs) -> bool:
        target = kwargs.get("device", args[0] if args else None)
        return isinstance(target, (str, torch.device)) and torch.device(target).type == "cpu"

    def _wrap(self, inner, counts):
        def wrapped(t, *args, **kwargs):
            if counts(*args, **kwargs):
                self.shapes.append(tuple(t.shape))
            return inner(t, *args, **kwargs)

        return wrapped


def test_the_mmd_statistics_send_no_key_or_kernel_sized_tensor_to_the_host(monkeypatch):
    image, text = _keys(torch.float32)
    copies = _HostCopies(monkeypatch)
    gap = cross_modal_gap(image, text, permutations=100, n_boot=30, seed=0)
    ni, nt = len(image.x), len(text.x)
    n = ni + nt
    assert copies.shapes, "the [C, C] cell sums come back to the host: the recorder must see them"
    too_big = [s for s in copies.shapes if (s and s[0] in (ni, nt, n)) or np.prod(s) >= n * n]
    assert not too_big, f"host copies of key- or kernel-sized tensors: {too_big}"
    assert gap.units == 12


@pytest.mark.parametrize("device", DEVICES)
def test_analyze_layer_runs_the_statistics_where_asked_and_agrees(device):
    bank = synthetic_bank(seed=0, shift=0.5, dim=8)
    strata = synthetic_strata(bank)  # a real split of no effect, so the verdict has an interval to compare
    on_cpu = analyze_layer(bank, 0, SETTINGS, strata=strata)
    moved = analyze_layer(bank, 0, replace(SETTINGS, device=device), strata=strata)  # CPU keys, statistics on `device`
    layer = bank.layers[0]
    resident = replace(bank, layers={0: replace(layer, vectors=layer.vectors.to(device))})  # keys that live there
    there = analyze_layer(resident, 0, SETTINGS, strata=strata)
    for other in (moved, there):
        for name in ("mmd2", "p_value", "ratio", "bandwidth"):
            assert _rel(getattr(on_cpu, name), getattr(other, name)) <= 1e-4, name
        for end in ("low", "high"):
            assert _rel(on_cpu.extra["ratio_interval"][end], other.extra["ratio_interval"][end]) <= 1e-4, end
        assert on_cpu.passed == other.passed
        if device == "cpu":
            assert (on_cpu.mmd2, on_cpu.p_value, on_cpu.ratio, on_cpu.extra["js"]) == (other.mmd2, other.p_value, other.ratio, other.extra["js"])


class _OnDevice(torch.Tensor):
    """A CPU tensor that numpy cannot read until it is brought to the host (`.cpu()`, `.to("cpu")`), as a CUDA tensor:
    lets a machine without a GPU find the analysis' reads of device tensors by numpy."""

    def __array__(self, *args, **kwargs):
        raise TypeError("can't convert a device tensor to numpy; use .cpu() first")

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert a device tensor to numpy; use .cpu() first")

    def cpu(self, *args, **kwargs):
        return self.as_subclass(torch.Tensor)

    def to(self, *args, **kwargs):
        out = super().to(*args, **kwargs)
        host = kwargs.get("device", args[0] if args else None) == "cpu"  # the analysis names the host "cpu"
        return out.as_subclass(torch.Tensor) if host else out

    def __float__(self):
        return float(self.as_subclass(torch.Tensor))

    def __int__(self):
        return int(self.as_subclass(torch.Tensor))

    def __bool__(self):
        return bool(self.as_subclass(torch.Tensor))


def test_the_analysis_reads_device_keys_only_through_the_host():
    """Keys that live on a device reach every figure (gap, tiers, held-out maps, JS) by a copy to the host, never by
    numpy reading the device tensor (the held-out tiers did, which ended every --ks-device cuda triple in a TypeError);
    the figures equal those of the same keys on the host."""
    bank = synthetic_bank(seed=0, shift=0.5, dim=8)
    strata = synthetic_strata(bank)
    layer = bank.layers[0]
    resident = replace(bank, layers={0: replace(layer, vectors=layer.vectors.as_subclass(_OnDevice))})
    there, here = analyze_layer(resident, 0, SETTINGS, strata=strata), analyze_layer(bank, 0, SETTINGS, strata=strata)
    assert (there.mmd2, there.p_value, there.ratio, there.extra["js"]) == (here.mmd2, here.p_value, here.ratio, here.extra["js"])
    assert there.extra["tiers"]["separability"] == here.extra["tiers"]["separability"]
    with pytest.raises(TypeError, match="device tensor"):
        np.asarray(resident.layers[0].vectors)
