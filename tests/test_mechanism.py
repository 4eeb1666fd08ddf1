"""Mechanism metrics against the model's own attention, a full-matrix recomputation, batching, and a
model whose image keys are pushed towards or away from every query."""

from __future__ import annotations

import json
import math

import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.errors import KeyspaceError
from harness.models.labels import IMAGE, PAD, TEXT
from harness.capture.mechanism import attention_states, mechanism_metrics
from harness.models import adapter_for, get_model_spec

TWINS = ("tiny-llava", "tiny-qwen2.5-vl")
LAYERS = [0, 2]
SHARPEN = 10.0  # q and k weights × 10: logits × 100, so attention is far from uniform and errors show


def _load(name: str, attn: str):
    """A tiny twin in fp32 with sharpened attention (random tiny weights give near-uniform attention)."""
    spec = get_model_spec(name)
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    loaded.model.set_attn_implementation(attn)
    with torch.no_grad():
        for layer in loaded.layers:
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj):
                proj.weight.mul_(SHARPEN)
                if proj.bias is not None:
                    proj.bias.mul_(SHARPEN)
    return loaded


@pytest.fixture(scope="module")
def samples():
    """Three fixture samples of different prompt lengths (a batch of them is padded), en and zh."""
    everything = get_benchmark("fixture")((), seed=0)
    return [s for s in everything if s.language == "en"][:2] + [s for s in everything if s.language == "zh"][:1]


@pytest.fixture(scope="module", params=TWINS)
def twin(request):
    return _load(request.param, "eager")


def _reference(loaded, samples):
    """Per layer, from the model's own eager attention probabilities of one padded batch: pooled
    (text query, head) image mass, image share, mass / share and log-probability gap, plus the
    last position's figures per sequence."""
    inputs, labels = loaded.adapter.encode(loaded, samples)
    with torch.inference_mode():
        out = loaded.model(**inputs, use_cache=False, output_attentions=True)
    ref = {}
    for i in LAYERS:
        mass, share, gap, last_ratio, last_gap = [], [], [], [], []
        for b in range(len(samples)):
            real = (labels[b] != PAD).nonzero().squeeze(1)
            lab = labels[b][real]
            p = out.attentions[i][b][:, real][:, :, real].double()  # [H, t, t], causal and softmaxed by the model
            t = len(real)
            visible = torch.ones(t, t, dtype=torch.bool).tril()
            img, txt = visible & (lab == IMAGE), visible & (lab == TEXT)  # [t, t]
            # log p = logit − logsumexp(row): the row constant cancels in a difference of means
            logp = p.clamp_min(1e-300).log()
            row_gap = (logp * img).sum(-1) / img.sum(-1).clamp_min(1) - (logp * txt).sum(-1) / txt.sum(-1).clamp_min(1)
            row_mass = (p * img).sum(-1)  # [H, t]
            row_share = img.sum(-1) / visible.sum(-1)  # [t]
            rows = (lab == TEXT) & (img.sum(-1) > 0) & (txt.sum(-1) > 0)
            mass.append(row_mass[:, rows].flatten())
            share.append(row_share[rows].expand(p.shape[0], -1).flatten())
            gap.append(row_gap[:, rows].flatten())
            last_ratio.append(float((row_mass[:, -1] / row_share[-1]).mean()))
            last_gap.append(float(row_gap[:, -1].mean()))
        mass, share, gap = torch.cat(mass), torch.cat(share), torch.cat(gap)
        ref[i] = {
            "image_mass": float(mass.mean()), "image_share": float(share.mean()),
            "attention_share": float((mass / share).mean()), "logit_gap": float(gap.mean()),
            "last_attention_share": sum(last_ratio) / len(last_ratio), "last_logit_gap": sum(last_gap) / len(last_gap),
            "n_queries": len(mass) // out.attentions[i].shape[1], "n_sequences": len(samples),
        }
    return ref


def test_figures_match_the_models_own_attention(twin, samples):
    """(a) image mass, image share and attention share equal those of the eager attention
    probabilities, averaged over heads and text query positions (and at the last position); the
    logit gap equals the gap of log-probabilities (the softmax normaliser cancels)."""
    mine = mechanism_metrics(twin, samples, LAYERS, batch_size=len(samples))
    ref = _reference(twin, samples)
    for i in LAYERS:
        assert mine[i]["n_queries"] == ref[i]["n_queries"] > 0 and mine[i]["n_sequences"] == 3
        for name in ("image_mass", "image_share", "attention_share", "last_attention_share"):
            assert mine[i][name] == pytest.approx(ref[i][name], abs=1e-5), name
        for name in ("logit_gap", "last_logit_gap"):
            assert mine[i][name] == pytest.approx(ref[i][name], abs=1e-4), name
        # the check can fail: attention here is far from uniform, so a figure that ignored the
        # logits (mass = share) would miss by far more than the tolerance
        assert abs(ref[i]["attention_share"] - 1) > 1e-2
    assert json.loads(json.dumps(mine)) == {str(i): v for i, v in mine.items()}


def _naive_gap(s) -> tuple[list[torch.Tensor], float]:
    """Full [H, T, T] logits of one sequence → per-head gaps of its valid text queries, last-position gap."""
    kv = s.key.repeat_interleave(s.query.shape[0] // s.key.shape[0], dim=0)
    logits = (s.query.double() @ kv.double().transpose(1, 2)) * s.scale  # [H, T, T]
    t = logits.shape[-1]
    visible = torch.ones(t, t, dtype=torch.bool).tril()
    img, txt = visible & (s.labels == IMAGE), visible & (s.labels == TEXT)
    gaps = (logits * img).sum(-1) / img.sum(-1).clamp_min(1) - (logits * txt).sum(-1) / txt.sum(-1).clamp_min(1)
    rows = (s.labels == TEXT) & (img.sum(-1) > 0)
    return gaps[:, rows].flatten(), float(gaps[:, -1].mean())


def test_logit_gap_matches_a_full_matrix_computation(twin, samples):
    """(b) the blockwise logit gap equals the mean over the full logit matrices of the captured q/k."""
    mine = mechanism_metrics(twin, samples, LAYERS, batch_size=2)
    pooled = {i: [] for i in LAYERS}
    last = {i: [] for i in LAYERS}
    for _, states in attention_states(twin, samples, LAYERS, batch_size=2):
        for i, s in states.items():
            assert s.scale == twin.layers[i].self_attn.scaling == 1 / math.sqrt(s.query.shape[-1])
            g, lg = _naive_gap(s)
            pooled[i].append(g)
            last[i].append(lg)
    for i in LAYERS:
        assert mine[i]["logit_gap"] == pytest.approx(float(torch.cat(pooled[i]).mean()), abs=1e-5)
        assert mine[i]["last_logit_gap"] == pytest.approx(sum(last[i]) / len(last[i]), abs=1e-5)
    assert mine[0]["logit_gap"] != pytest.approx(mine[2]["logit_gap"], abs=1e-3)  # layers are told apart


def test_batched_with_padding_equals_one_at_a_time(twin, samples):
    """(c) a padded batch gives what its samples give one at a time, and sdpa gives what eager gives."""
    sdpa = _load(twin.spec.name, "sdpa")
    batched = mechanism_metrics(sdpa, samples, LAYERS, batch_size=len(samples))
    single = mechanism_metrics(sdpa, samples, LAYERS, batch_size=1)
    eager = mechanism_metrics(twin, samples, LAYERS, batch_size=2)
    for i in LAYERS:
        for key, value in batched[i].items():
            assert single[i][key] == pytest.approx(value, abs=1e-5), key
            assert eager[i][key] == pytest.approx(value, abs=1e-5), key
    _, labels = twin.adapter.encode(twin, samples)
    assert (labels == PAD).any()  # the batch really is padded


def _offset_image_keys(loaded, q_offset: float, k_offset: float):
    """Hooks on layer 0: every query gets +q_offset and every image key +k_offset on the last
    dimension of the first rotary half of each head, whose rotary frequency is the lowest (the
    rotation is nearly nil over a prompt), so each text→image logit moves by ≈ q_offset·k_offset·scale."""
    attn = loaded.layers[0].self_attn
    d = attn.head_dim
    image = {}

    def remember(_module, _args, kwargs):
        image["mask"] = kwargs["input_ids"] == loaded.image_token_id  # [B, T]

    def offset(value: float, only_image: bool):
        def hook(_module, _inputs, output):
            delta = torch.zeros_like(output)
            delta[..., d // 2 - 1 :: d] = value
            if only_image:
                delta = delta * image["mask"].unsqueeze(-1)
            return output + delta

        return hook

    return [
        loaded.model.register_forward_pre_hook(remember, with_kwargs=True),
        attn.q_proj.register_forward_hook(offset(q_offset, False)),
        attn.k_proj.register_forward_hook(offset(k_offset, True)),
    ]


@pytest.mark.parametrize("name", TWINS)
def test_image_keys_pushed_away_lower_the_logit_gap(name, samples):
    """(d) image keys moved against the queries lower the logit gap and the attention share by
    about the planted amount; moved towards them, raise both."""
    loaded = _load(name, "eager")
    q_offset, k_offset = 40.0, 0.5
    planted = q_offset * k_offset * loaded.layers[0].self_attn.scaling  # 5 logits
    figures = {}
    for sign in (-1, 0, 1):
        handles = _offset_image_keys(loaded, q_offset, sign * k_offset)
        try:
            figures[sign] = mechanism_metrics(loaded, samples, [0], batch_size=len(samples))[0]
        finally:
            for h in handles:
                h.remove()
    gap = {sign: f["logit_gap"] for sign, f in figures.items()}
    assert gap[-1] < gap[0] < gap[1]
    assert gap[-1] - gap[0] == pytest.approx(-planted, rel=0.2)
    assert gap[1] - gap[0] == pytest.approx(planted, rel=0.2)
    share = {sign: f["attention_share"] for sign, f in figures.items()}
    assert share[-1] < 0.5 * share[0] < share[0] < share[1]
    assert figures[-1]["image_share"] == figures[1]["image_share"]  # the visible keys did not change


def test_bad_layers_are_refused(twin, samples):
    with pytest.raises(KeyspaceError, match="outside"):
        mechanism_metrics(twin, samples, [twin.num_layers])
    with pytest.raises(KeyspaceError, match="no layer"):
        mechanism_metrics(twin, samples, [])


def test_blocks_do_not_change_the_figures(twin, samples):
    """Queries in blocks of 7 rows (many blocks per sequence) give the one-block figures."""
    whole = mechanism_metrics(twin, samples, [1], batch_size=len(samples))[1]
    blocked = mechanism_metrics(twin, samples, [1], batch_size=len(samples), block=7)[1]
    for key, value in whole.items():
        assert blocked[key] == pytest.approx(value, abs=1e-6), key


def test_a_sliding_window_hides_keys_older_than_it():
    """Known answer: 4 image keys then 6 text tokens, window 3 (a query sees itself and the 2 keys before it, as
    transformers' sliding masks): only the text queries at 4 and 5 see an image key, with image shares 2/3 and 1/3."""
    from types import SimpleNamespace

    from harness.capture.mechanism import _window
    from harness.stats.attention import attention_metrics

    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 10, 4, generator=g), torch.randn(1, 10, 4, generator=g)
    is_image = torch.arange(10) < 4
    m = attention_metrics(q, k, is_image, ~is_image, window=3)
    assert m.n_queries == 2 and m.image_share == pytest.approx(0.5) and math.isnan(m.last_logit_gap)
    whole = attention_metrics(q, k, is_image, ~is_image)
    assert whole.n_queries == 6  # without the window every text query sees the image
    wide = attention_metrics(q, k, is_image, ~is_image, window=10)
    assert wide == whole  # a window as long as the sequence hides nothing
    assert _window(SimpleNamespace(sliding_window=4096)) == 4096 and _window(SimpleNamespace(sliding_window=None)) is None
    assert _window(SimpleNamespace()) is None
    with pytest.raises(ValueError, match="window must be an int >= 1"):
        attention_metrics(q, k, is_image, ~is_image, window=0)
