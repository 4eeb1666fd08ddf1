"""Interventions on an organism's image keys, measured on the conflict probe (docs/organisms.md, "Pre-registration").

Maps act on the output of k_proj (pre-RoPE keys, [B, T, kv_heads · head_dim]) at the image-token positions, at
every decoder layer at once (the primary arm) or in a band of layers. They are fitted per layer on the keys of
plain image questions about the world's held-out scenes (not the probe's scenes): image-token keys against the
keys of the tokens the harness labels `text`. With μ, Σ the two sets' mean and covariance:

- `ot`: the minimal-displacement (Gaussian optimal-transport) map k ↦ μ_t + A (k − μ_i),
  A = Σ_i^{-½} (Σ_i^{½} Σ_t Σ_i^{½})^{½} Σ_i^{-½};
- `mean`: k ↦ k + (μ_t − μ_i);
- `random` (control): k ↦ k + r, r a random direction with ‖r‖ = ‖μ_t − μ_i‖ (norm-matched to `mean`);
- `logit` (control): k ↦ k + the projection of (μ_t − μ_i), per key-value head, on the mean text query of that
  head (its query heads averaged): it changes the mean pre-RoPE query·key logit of image keys exactly as
  `mean` does, without moving the keys' distribution otherwise.

A dose α applies k ↦ k + α (map(k) − k). `displacement` is the mean ‖map(k) − k‖ over the fitted image keys
(key units), so maps compare at equal disruption; `mmd2_before/after` is the V-statistic MMD² (alignment.mk_mmd2)
between text keys and image keys before/after the map at the layer (the keys the map sees).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch

from . import evaluate, world
from .alignment import mk_mmd2
from .attention_bias import biased
from .data import Encoder

MAPS = ("ot", "mean", "random", "logit")
EPS = 1e-4  # ridge on covariances, relative to their mean variance


@dataclass
class LayerMap:
    """k ↦ shift + matrix @ k (matrix None: the identity), at one layer."""

    matrix: torch.Tensor | None
    shift: torch.Tensor

    def __call__(self, k: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        mapped = (k @ self.matrix.T if self.matrix is not None else k) + self.shift
        return k + alpha * (mapped - k)


def _sqrtm(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def gaussian_ot(mu_s: torch.Tensor, cov_s: torch.Tensor, mu_t: torch.Tensor, cov_t: torch.Tensor) -> LayerMap:
    """The minimal-displacement map between N(mu_s, cov_s) and N(mu_t, cov_t)."""
    s_half = _sqrtm(cov_s)
    vals, vecs = torch.linalg.eigh(cov_s)
    s_inv_half = (vecs * vals.clamp_min(1e-12).rsqrt()) @ vecs.T
    a = s_inv_half @ _sqrtm(s_half @ cov_t @ s_half) @ s_inv_half
    return LayerMap(a, mu_t - a @ mu_s)


def _cov(x: torch.Tensor) -> torch.Tensor:
    c = torch.cov(x.T)
    return c + EPS * c.diagonal().mean() * torch.eye(len(c), dtype=c.dtype)


def collect(model: Any, processor: Any, items: Sequence[evaluate.Item], layers: Sequence[int]) -> dict[int, dict[str, torch.Tensor]]:
    """Per layer: pre-RoPE keys at image positions and at `text` positions, and queries at `text` positions (float64)."""
    enc = Encoder(processor.tokenizer)
    attn = [model.model.language_model.layers[i].self_attn for i in layers]
    got: dict[int, dict[str, list]] = {i: {"image": [], "text": [], "query": []} for i in layers}
    pixels = processor.image_processor([it.image for it in items], return_tensors="pt")["pixel_values"]
    for n, it in enumerate(items):
        ids, text = enc.labelled_prompt(it.text, image=True)
        ids_t, text_t = torch.tensor([ids]), torch.tensor(text)
        image = ids_t[0] == model.config.image_token_id
        seen: dict[tuple[int, str], torch.Tensor] = {}
        hooks = [a.k_proj.register_forward_hook(lambda _m, _i, out, i=i: seen.__setitem__((i, "k"), out[0])) for i, a in zip(layers, attn)]
        hooks += [a.q_proj.register_forward_hook(lambda _m, _i, out, i=i: seen.__setitem__((i, "q"), out[0])) for i, a in zip(layers, attn)]
        try:
            with torch.no_grad():
                model(input_ids=ids_t, pixel_values=pixels[n : n + 1])
        finally:
            for h in hooks:
                h.remove()
        for i in layers:
            got[i]["image"].append(seen[(i, "k")][image])
            got[i]["text"].append(seen[(i, "k")][text_t])
            got[i]["query"].append(seen[(i, "q")][text_t])
    return {i: {k: torch.cat(v).double() for k, v in d.items()} for i, d in got.items()}


def fit_maps(keys: Mapping[int, Mapping[str, torch.Tensor]], *, kv_heads: int, seed: int = 0) -> dict[str, dict[int, LayerMap]]:
    """Every map of MAPS per layer, from `collect`'s keys."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, dict[int, LayerMap]] = {m: {} for m in MAPS}
    for i, d in keys.items():
        img, txt, q = d["image"], d["text"], d["query"]
        mu_i, mu_t = img.mean(0), txt.mean(0)
        delta = mu_t - mu_i
        out["ot"][i] = gaussian_ot(mu_i, _cov(img), mu_t, _cov(txt))
        out["mean"][i] = LayerMap(None, delta)
        r = torch.randn(len(delta), generator=gen, dtype=delta.dtype)
        out["random"][i] = LayerMap(None, r / r.norm() * delta.norm())
        head_dim = len(delta) // kv_heads
        qbar = q.mean(0).view(-1, head_dim)  # [query heads, head_dim]
        qbar = qbar.view(kv_heads, -1, head_dim).mean(1)  # the query heads of each key-value group averaged
        d = delta.view(kv_heads, head_dim)
        proj = (d * qbar).sum(1, keepdim=True) / (qbar * qbar).sum(1, keepdim=True) * qbar
        out["logit"][i] = LayerMap(None, proj.flatten())
    return out


def describe(maps: Mapping[int, LayerMap], keys: Mapping[int, Mapping[str, torch.Tensor]], *, alpha: float = 1.0,
             max_points: int = 512, seed: int = 0) -> dict:
    """Per layer: the mean displacement of image keys and the MMD² to text keys before and after the map."""
    out = {}
    for i, m in maps.items():
        gen = torch.Generator().manual_seed(seed + i)  # per layer: a layer's subsample is the same in every band
        img, txt = keys[i]["image"], keys[i]["text"]
        img = img[torch.randperm(len(img), generator=gen)[:max_points]]
        txt = txt[torch.randperm(len(txt), generator=gen)[:max_points]]
        moved = m(img, alpha)
        out[i] = {"displacement": float((moved - img).norm(dim=1).mean()), "key_norm": float(img.norm(dim=1).mean()),
                  "mmd2_before": float(mk_mmd2(img.float(), txt.float())), "mmd2_after": float(mk_mmd2(moved.float(), txt.float()))}
    return out


@contextmanager
def applied(model: Any, maps: Mapping[int, LayerMap], alpha: float = 1.0) -> Iterator[None]:
    """Within the block, every forward of `model` maps the image-token keys of the layers in `maps`."""
    state: dict[str, torch.Tensor] = {}
    image_id = model.config.image_token_id

    def remember(_m: Any, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        state["image"] = ids == image_id

    def hook(m: LayerMap) -> Any:
        def run(_mod: Any, _inp: Any, out: torch.Tensor) -> torch.Tensor:
            where = state["image"]
            out = out.clone()
            out[where] = m(out[where].double(), alpha).to(out.dtype)
            return out
        return run

    handles = [model.register_forward_pre_hook(remember, with_kwargs=True)]
    handles += [model.model.language_model.layers[i].self_attn.k_proj.register_forward_hook(hook(m)) for i, m in maps.items()]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def fitting_items(scenes: Sequence[dict], images: Sequence[Any]) -> list[evaluate.Item]:
    """Plain image questions (every question, both languages) about `scenes`: what the maps are fitted on."""
    return [evaluate.Item(img, qa.question, qa.candidates) for s, img in zip(scenes, images)
            for lang in world.LANGUAGES for qa in world.questions(s, lang)]


def paired(before: np.ndarray, after: np.ndarray, *, seed: int = 0, n_boot: int = 2000, level: float = 0.9) -> dict:
    """Mean of after − before over items with a paired bootstrap interval, and the minimum detectable effect
    (2.49 × the standard error: 80 % power at two-sided 5 %, as for a normal test)."""
    d = np.asarray(after, float) - np.asarray(before, float)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(len(d), size=(n_boot, len(d)))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return {"delta": float(d.mean()), "interval": [float(lo), float(hi)], "mde": float(2.49 * d.std(ddof=1) / np.sqrt(len(d))), "n": len(d)}


DOSES = (-1.0, 0.5, 2.0)  # beside α = 1, for the `ot` map at all layers
BANDS = {"early": (0, 1), "late": (2, 3)}  # the `ot` map on part of the decoder
BIASES = (-2.0, -1.0, 1.0, 2.0)  # attention-logit bias on image keys at all layers (attention_bias), no map


def follows(model: Any, processor: Any, probe: evaluate.Probe, condition: str = "conflict") -> np.ndarray:
    """Per probe question, 1.0 where the answer names the cue's colour ("conflict") or the image's ("image")."""
    picked = evaluate.probe_outcomes(model, processor, probe, (condition,))[condition]["picked"]
    target = probe.cues if condition == "conflict" else [qa.answer for qa in probe.questions]
    return np.array([p == t for p, t in zip(picked, target)], float)


def intervention_arm(model: Any, processor: Any, fit_items: Sequence[evaluate.Item], probe: evaluate.Probe) -> dict:
    """Conflict-following and accuracy under each map at every layer (α = 1), under doses and bands of `ot`, and under
    the attention-bias knob on image keys (BIASES, no map), against the unmapped model and the image-masked positive
    control; effects as paired item intervals with their MDE."""
    layers = list(range(model.config.get_text_config().num_hidden_layers))
    keys = collect(model, processor, fit_items, layers)
    maps = fit_maps(keys, kv_heads=model.config.get_text_config().num_key_value_heads)
    base_f, base_a = follows(model, processor, probe), follows(model, processor, probe, "image")
    runs: dict[str, dict] = {}

    def run(name: str, chosen: Mapping[int, LayerMap], alpha: float, accuracy: bool) -> None:
        with applied(model, chosen, alpha):
            f = follows(model, processor, probe)
            a = follows(model, processor, probe, "image") if accuracy else None
        runs[name] = {"follows": f, "accuracy": a, "keys": describe(chosen, keys, alpha=alpha)}

    for m in MAPS:
        run(f"{m}@all", maps[m], 1.0, True)
    for alpha in DOSES:
        run(f"ot@all,alpha={alpha:g}", maps["ot"], alpha, False)
    for band, lays in BANDS.items():
        run(f"ot@{band}", {i: maps["ot"][i] for i in lays}, 1.0, False)
    for b in BIASES:  # image attention raised or lowered, the keys where they are
        with biased(model, b):
            runs[f"bias@all,b={b:+g}"] = {"follows": follows(model, processor, probe), "keys": None,
                                          "accuracy": follows(model, processor, probe, "image")}
    out = {"before": {"follows_cue": float(base_f.mean()), "accuracy": float(base_a.mean())}, "runs": {}}
    for name, r in runs.items():
        rec = {"follows_cue": paired(base_f, r["follows"]), **({"keys": r["keys"]} if r["keys"] is not None else {})}
        if r["accuracy"] is not None:
            rec["accuracy"] = paired(base_a, r["accuracy"])
        out["runs"][name] = rec
    for ctrl in ("random", "logit"):  # the map's effect beyond each control, paired over items
        for m in ("ot", "mean"):
            out[f"{m}_minus_{ctrl}"] = paired(runs[f"{ctrl}@all"]["follows"], runs[f"{m}@all"]["follows"])
    out["floor"] = out["before"]["follows_cue"] < 0.05 or out["before"]["accuracy"] < 0.25
    return out


def arm_verdict(arm: dict) -> str:
    """One text-first seed's intervention arm by the pre-registered rule: "supports", "refutes" or "neither"."""
    if arm["floor"]:
        return "neither"
    beyond = [arm["ot_minus_random"], arm["ot_minus_logit"]]
    if all(b["interval"][1] < 0 for b in beyond):
        return "supports"
    keys = arm["runs"]["ot@all"]["keys"].values()
    moved = np.mean([k["mmd2_after"] <= 0.5 * k["mmd2_before"] for k in keys]) > 0.5
    if moved and all(-0.05 <= b["interval"][0] and b["interval"][1] <= 0.05 and b["mde"] <= 0.05 for b in beyond):
        return "refutes"
    return "neither"
