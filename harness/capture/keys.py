"""Capture: taps on the chosen decoder layers fill a KeyBank (keys, queries or values, per token).

All requested layers come from one forward pass per batch, and the pass stops right after the
deepest requested layer was read (see harness.models.taps). Padding never enters the bank, and a
batch gives the same vectors as its samples one at a time.

Memory stays bounded with `TokenCaps`:
- a reservoir balanced across prompts (the default, `balanced=N` with N = --ks-max-points): each
  prompt keeps at most ceil(N / prompts) tokens of each modality, a seeded uniform choice among its
  own, so each modality's bank holds about N vectors (fewer where prompts have fewer tokens of it),
  which is what the analysis samples from, and every prompt stays a unit of its own;
- a per-sample cap (a seeded subset of each sample's tokens, all modalities together);
- per-modality caps over the whole bank, filled by reservoir sampling, since samples stream
  through and the total is unknown until the end.
Every draw comes from a generator seeded by (seed, sample[, modality]) or (seed, modality) and
consumed in token order, so the kept tokens do not depend on the batch size, and `balance` picks
the same tokens from a bank captured in full.
"""

from __future__ import annotations

import contextlib

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import torch

from harness.models.layers import checked_indices
from harness.benchmarks.sample import Sample
from harness.errors import KeyspaceError
from harness.models.labels import IMAGE, MODALITY_NAMES, PAD
from harness.models.placement import check_image_positions, watch_inputs
from harness.models.adapter import LoadedModel
from harness.models.prompts import label_source
from harness.models.taps import KINDS, check_kind, heads_of, run_tapped, tap

__all__ = ["KINDS", "KeyBank", "LayerBank", "TokenCaps", "balance", "capture_keys", "parse_max_tokens"]


@dataclass
class LayerBank:
    """Every kept vector of one layer, with its labels (row i of each tensor is one token)."""

    vectors: torch.Tensor  # [N, D] float32 on the CPU, D = heads * head_dim (see KeyBank.heads)
    modality: torch.Tensor  # [N] int8: 0 text, 1 image, 2 special (harness.models.labels)
    sample: torch.Tensor  # [N] int32 index into KeyBank.sample_ids
    position: torch.Tensor  # [N] int32 position of the token in its unpadded sequence

    def select(self, modality: int) -> "LayerBank":
        keep = self.modality == modality
        return LayerBank(self.vectors[keep], self.modality[keep], self.sample[keep], self.position[keep])

    def count(self, modality: int) -> int:
        return int((self.modality == modality).sum())


@dataclass
class KeyBank:
    """Captured vectors of one (model, benchmark) pair, per layer."""

    model: str
    benchmark: str
    kind: str  # what was captured: "keys" = k_proj outputs (pre-RoPE); see harness.models.taps.KINDS
    sample_ids: tuple[str, ...]  # the samples in capture order
    layers: dict[int, LayerBank]  # layer index → its vectors
    num_key_value_heads: int  # the model's KV heads (GQA: fewer than its query heads)
    head_dim: int
    heads: int | None = None  # heads in one vector: query heads for queries, KV heads otherwise; None: num_key_value_heads
    head_index: int | None = None  # set on a one-head view (KeyBank.head): which head of the full vector
    sampling: dict = field(default_factory=dict)  # how the kept tokens were chosen (TokenCaps.describe); {}: all
    kept: dict[str, int] = field(default_factory=dict)  # tokens in the bank per modality (after caps)
    dropped: dict[str, int] = field(default_factory=dict)  # non-pad tokens left out by the caps, per modality
    # Mechanism metrics per layer (harness.capture.mechanism: logit gap, attention share), when measured.
    mechanism: dict[int, dict] = field(default_factory=dict)
    label_source: dict = field(default_factory=dict)  # how the labels were made (harness.models.prompts.label_source)

    @property
    def vector_heads(self) -> int:
        return self.heads if self.heads is not None else self.num_key_value_heads

    def counts(self, layer: int) -> dict[str, int]:
        bank = self.layers[layer]
        return {name: bank.count(code) for code, name in MODALITY_NAMES.items()}

    def head(self, index: int) -> "KeyBank":
        """The bank seen through one head: each vector is that head's head_dim slice."""
        if self.head_index is not None:
            raise KeyspaceError(f"this bank is already head {self.head_index}'s view; take heads of the full bank")
        if not 0 <= index < self.vector_heads:
            raise KeyspaceError(f"head {index} is outside 0..{self.vector_heads - 1} for captured {self.kind}")
        cut = slice(index * self.head_dim, (index + 1) * self.head_dim)
        layers = {i: replace(b, vectors=b.vectors[:, cut]) for i, b in self.layers.items()}
        return replace(self, layers=layers, heads=1, head_index=index)


@dataclass(frozen=True)
class TokenCaps:
    """Most tokens kept: per sample (None: all) and per modality over the whole bank (absent: all)."""

    per_sample: int | None = None
    per_modality: dict[str, int] = field(default_factory=dict)  # "image" / "text" / "special" → cap
    balanced: int | None = None  # about this many tokens per modality, an equal share per prompt (None: off)
    # The option's text (auto written out as balanced=N), which config ids and run info show; not compared.
    source: str = field(default="none", compare=False)

    @property
    def any(self) -> bool:
        return self.per_sample is not None or bool(self.per_modality) or self.balanced is not None

    def per_prompt(self, prompts: int) -> int | None:
        """Tokens of each modality one prompt keeps under `balanced` (None: all)."""
        return None if self.balanced is None else -(-self.balanced // max(prompts, 1))

    def describe(self, prompts: int, seed: int) -> dict:
        """The caps as recorded with the bank and in each result ({} when every token is kept)."""
        if not self.any:
            return {}
        out: dict = {"seed": seed}
        if self.balanced is not None:
            out["balanced"] = {"per_modality": self.balanced, "prompts": prompts, "per_prompt": self.per_prompt(prompts)}
        if self.per_sample is not None:
            out["per_sample"] = self.per_sample
        if self.per_modality:
            out["per_modality"] = dict(self.per_modality)
        return out


def parse_max_tokens(text: str, *, max_points: int | None = None) -> TokenCaps:
    """`auto` (= `balanced=<max_points>`); `none`; `N` (every modality capped at N); or any of
    `balanced=N,sample=N,image=N,text=N,special=N`."""
    text = text.strip().lower()
    if text in ("", "none"):
        return TokenCaps(source=text)
    if text == "auto":
        if max_points is None:
            raise KeyspaceError("--ks-max-tokens: auto needs --ks-max-points to size the per-prompt share")
        return TokenCaps(balanced=max_points, source=f"balanced={max_points}")
    usage = "use auto, none, N, or balanced=N,sample=N,image=N,text=N,special=N"
    per_sample, balanced, per_modality = None, None, {}
    for part in text.split(","):
        key, eq, value = part.strip().rpartition("=")
        try:
            n = int(value)
        except ValueError:
            raise KeyspaceError(f"--ks-max-tokens: {value!r} is not a whole number; {usage}") from None
        if n < 1:
            raise KeyspaceError(f"--ks-max-tokens: {part.strip()!r} must be at least 1; {usage}")
        if not eq:
            per_modality.update({name: n for name in MODALITY_NAMES.values()})
        elif key == "sample":
            per_sample = n
        elif key == "balanced":
            balanced = n
        elif key in MODALITY_NAMES.values():
            per_modality[key] = n
        else:
            raise KeyspaceError(f"--ks-max-tokens: unknown cap {key!r}; {usage}")
    return TokenCaps(per_sample, per_modality, balanced, source=text)


class _Reservoir:
    """Algorithm R over one modality's token stream: a uniform sample of at most `cap` tokens."""

    def __init__(self, cap: int, rng: np.random.Generator):
        self.cap, self.rng, self.seen = cap, rng, 0
        self.meta = torch.zeros(cap, 2, dtype=torch.int32)  # (sample, position) per slot
        self.vectors: dict[int, torch.Tensor] = {}  # layer → [cap, D]

    def offer(self, sample: torch.Tensor, position: torch.Tensor, vectors: dict[int, torch.Tensor]) -> None:
        k = len(sample)
        index = self.seen + np.arange(k)  # each token's place in the stream
        draws = np.floor(self.rng.random(k) * (index + 1)).astype(np.int64)  # uniform in 0..index
        slots = np.where(index < self.cap, index, draws)
        latest = {int(s): r for r, s in enumerate(slots) if s < self.cap}  # a later token replaces an earlier one
        self.seen += k
        if not latest:
            return
        slot_ix = torch.tensor(list(latest.keys()))
        row_ix = torch.tensor(list(latest.values()))
        self.meta[slot_ix] = torch.stack([sample[row_ix], position[row_ix]], dim=1)
        for layer, v in vectors.items():
            if layer not in self.vectors:
                self.vectors[layer] = torch.zeros(self.cap, v.shape[1], dtype=v.dtype)
            self.vectors[layer][slot_ix] = v[row_ix]

    def contents(self) -> tuple[torch.Tensor, torch.Tensor, dict[int, torch.Tensor]]:
        """The sample (sample, position, layer → vectors), handed over: the reservoir keeps no reference, so
        each layer's slots are freed as soon as the caller drops that layer (Collector.finish)."""
        n = min(self.seen, self.cap)
        vectors, self.vectors = self.vectors, {}
        return self.meta[:n, 0], self.meta[:n, 1], {i: v[:n] for i, v in vectors.items()}


class Collector:
    """Gathers kept tokens per modality (capped ones through a reservoir) and returns them in stream order."""

    def __init__(self, layers: Sequence[int], caps: TokenCaps, seed: int):
        self.layers, self.caps, self.seed = layers, caps, seed
        self.lists: dict[int, list] = {code: [] for code in MODALITY_NAMES}
        self.reservoirs = {
            code: _Reservoir(caps.per_modality[name], np.random.default_rng([seed, 7919, code]))
            for code, name in MODALITY_NAMES.items()
            if name in caps.per_modality
        }
        self.seen = {code: 0 for code in MODALITY_NAMES}

    def take(self, labels: torch.Tensor, attention_mask: torch.Tensor, read: dict[int, torch.Tensor], *,
             start: int, prompts: int) -> None:
        """One batch: `labels` [B, T] (PAD where padding), `read` layer → [B, T, D] on any device;
        its rows are samples start … start + B - 1 of `prompts`. Only kept tokens leave the device."""
        nonpad = labels != PAD  # [B, T]
        keep = _balanced_keep(nonpad, labels, self.caps.per_prompt(prompts), start, self.seed)
        keep = _per_sample_keep(keep, self.caps.per_sample, start, self.seed)
        positions = attention_mask.cumsum(dim=1).cpu() - 1
        sample_index = torch.arange(start, start + labels.shape[0]).unsqueeze(1).expand_as(labels)
        self.add_seen(labels[nonpad])
        self.add(
            labels[keep], sample_index[keep].to(torch.int32), positions[keep].to(torch.int32),
            {i: read[i][keep.to(read[i].device)].float().cpu() for i in self.layers},
        )

    def add_seen(self, modality: torch.Tensor) -> None:
        for code in MODALITY_NAMES:
            self.seen[code] += int((modality == code).sum())

    def add(self, modality: torch.Tensor, sample: torch.Tensor, position: torch.Tensor, vectors: dict[int, torch.Tensor]) -> None:
        for code in MODALITY_NAMES:
            rows = modality == code
            if not rows.any():
                continue
            part = {i: v[rows] for i, v in vectors.items()}
            if code in self.reservoirs:
                self.reservoirs[code].offer(sample[rows], position[rows], part)
            else:
                self.lists[code].append((sample[rows], position[rows], part))

    def finish(self) -> tuple[dict[int, LayerBank], dict[str, int], dict[str, int]]:
        pieces = []  # (modality code, sample, position, vectors)
        for code in MODALITY_NAMES:
            if code in self.reservoirs:
                s, p, v = self.reservoirs[code].contents()
                pieces.append((code, s, p, v))
            for s, p, v in self.lists[code]:
                pieces.append((code, s, p, v))
        pieces = [x for x in pieces if len(x[1])]
        if not pieces:
            raise KeyspaceError("capture kept no token; check --ks-max-tokens and the samples")
        modality = torch.cat([torch.full((len(s),), code, dtype=torch.int8) for code, s, _, _ in pieces])
        sample = torch.cat([s for _, s, _, _ in pieces])
        position = torch.cat([p for _, _, p, _ in pieces])
        order = torch.argsort(sample.long() * (1 << 32) + position.long())  # stream order: sample, then position
        modality, sample, position = modality[order], sample[order], position[order]
        banks = {}
        for i in self.layers:  # one layer at a time, dropping its pieces: the peak is the bank plus two layers' copies
            joined = torch.cat([v.pop(i) for *_, v in pieces])
            banks[i] = LayerBank(joined[order], modality, sample, position)
            del joined
        kept = {name: int((modality == code).sum()) for code, name in MODALITY_NAMES.items()}
        dropped = {name: self.seen[code] - kept[name] for code, name in MODALITY_NAMES.items()}
        return banks, kept, dropped


def _share(n: int, cap: int, seed: int, sample: int, code: int) -> np.ndarray:
    """Which of a prompt's `n` tokens of one modality (in position order) it keeps: all, or a sorted
    uniform choice of `cap` drawn by a (seed, sample, modality) generator."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 15485863, sample, code]).choice(n, size=cap, replace=False))


def _balanced_keep(keep: torch.Tensor, labels: torch.Tensor, cap: int | None, first_sample: int, seed: int) -> torch.Tensor:
    """`keep` ([B, T] bool) with each row keeping at most `cap` tokens of each modality (`_share`)."""
    if cap is None:
        return keep
    out = torch.zeros_like(keep)
    for row in range(keep.shape[0]):
        for code in MODALITY_NAMES:
            where = (keep[row] & (labels[row] == code)).nonzero().squeeze(1)
            out[row, where[torch.from_numpy(_share(len(where), cap, seed, first_sample + row, code))]] = True
    return out


def balance(bank: KeyBank, balanced: int, seed: int) -> KeyBank:
    """The tokens a capture under TokenCaps(balanced=`balanced`) with `seed` keeps, picked from a
    bank captured without caps (the same prompts, in the same order)."""
    per_prompt = TokenCaps(balanced=balanced).per_prompt(len(bank.sample_ids))
    layers = {}
    for index, lb in bank.layers.items():
        rows = []
        for s in torch.unique(lb.sample).tolist():
            for code in MODALITY_NAMES:
                where = ((lb.sample == s) & (lb.modality == code)).nonzero().squeeze(1)  # stream order = position order
                rows.append(where[torch.from_numpy(_share(len(where), per_prompt, seed, s, code))])
        keep = torch.cat(rows).sort().values
        layers[index] = LayerBank(lb.vectors[keep], lb.modality[keep], lb.sample[keep], lb.position[keep])
    first = layers[min(layers)] if layers else None
    kept = {name: first.count(code) if first else 0 for code, name in MODALITY_NAMES.items()}
    dropped = {name: bank.dropped.get(name, 0) + bank.kept.get(name, 0) - kept[name] for name in kept}
    return replace(bank, layers=layers, sampling=TokenCaps(balanced=balanced).describe(len(bank.sample_ids), seed),
                   kept=kept, dropped=dropped)


def _per_sample_keep(keep: torch.Tensor, cap: int | None, first_sample: int, seed: int) -> torch.Tensor:
    """`keep` ([B, T] bool) with each row cut to at most `cap` tokens, chosen by a (seed, sample) generator."""
    if cap is None:
        return keep
    keep = keep.clone()
    for row in range(keep.shape[0]):
        where = keep[row].nonzero().squeeze(1)
        if len(where) > cap:
            rng = np.random.default_rng([seed, 104729, first_sample + row])
            chosen = torch.from_numpy(np.sort(rng.choice(len(where), size=cap, replace=False)))
            keep[row] = False
            keep[row, where[chosen]] = True
    return keep


def capture_keys(
    loaded: LoadedModel,
    samples: Sequence[Sample],
    layers: Sequence[int],
    *,
    benchmark: str,
    batch_size: int = 8,
    kind: str = "keys",
    max_tokens: TokenCaps | None = None,
    seed: int = 0,
    early_exit: bool = True,  # stop each forward pass after the deepest requested layer was read
) -> KeyBank:
    """Run `samples` through the model in batches and keep the `kind` vector of every non-pad token
    (within `max_tokens`), for every layer in `layers`."""
    check_kind(kind)
    layers = checked_indices(layers, loaded.num_layers, model=loaded.spec.name, what="capture", attention=loaded.attention_layers)
    caps = max_tokens or TokenCaps()
    adapter = loaded.adapter
    read: dict[int, torch.Tensor] = {}
    collector = Collector(layers, caps, seed)

    def sink(index: int, states: torch.Tensor) -> None:
        read[index] = states

    with torch.inference_mode(), tap(adapter, loaded.layers, layers, kind, sink, stop=early_exit):
        for start in range(0, len(samples), batch_size):
            chunk = samples[start : start + batch_size]
            inputs, labels = adapter.encode(loaded, chunk)
            read.clear()
            with watch_inputs(loaded.model) if start == 0 else contextlib.nullcontext() as seen:
                inputs = run_tapped(loaded, inputs, [read], layers, what="capture")
            if start == 0:  # the image labels are proved once per capture, on what the model wrote
                check_image_positions(loaded, inputs, labels, seen, image=IMAGE)
            collector.take(labels, inputs["attention_mask"], read, start=start, prompts=len(samples))

    banks, kept, dropped = collector.finish()
    config = loaded.model.config.get_text_config()
    attn = adapter.attention(loaded.layers[layers[0]])  # a hybrid decoder's first layer may have no attention
    return KeyBank(
        model=loaded.spec.name,
        benchmark=benchmark,
        kind=kind,
        sample_ids=tuple(s.id for s in samples),
        layers=banks,
        num_key_value_heads=config.num_key_value_heads,
        head_dim=getattr(attn, "head_dim", None) or config.hidden_size // config.num_attention_heads,
        heads=heads_of(kind, config),
        sampling=caps.describe(len(samples), seed),
        kept=kept,
        dropped=dropped,
        label_source=label_source(loaded.processor, samples),
    )
