"""The key-space alignment term of the `aligned` organism (arXiv 2510.26721 v2, "MaLoRA"-style).

During a forward pass, the pre-RoPE keys (k_proj outputs) of chosen decoder layers are tapped; the term
is the multi-kernel MMD² between the batch's image-token keys and the keys of the tokens the harness
labels `text` (the user's own text; template, BOS and answer excluded: `batch["text"]`), averaged over
the layers. Kernels: Gaussian, bandwidths the median pairwise distance of the pooled sample (not
differentiated) times 0.5, 1 and 2. Biased (V-statistic) form: non-negative, smooth, fine as a loss.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import torch

BANDWIDTH_FACTORS = (0.5, 1.0, 2.0)
MAX_TOKENS = 256  # keys per modality per layer entering the term (a seeded subsample beyond that)


def mk_mmd2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Multi-kernel MMD² (V-statistic) between samples x [n, d] and y [m, d], averaged over the bandwidths."""
    z = torch.cat([x, y])
    d2 = torch.cdist(z, z).pow(2)  # [n+m, n+m]
    with torch.no_grad():
        med = d2[~torch.eye(len(z), dtype=torch.bool, device=z.device)].median().clamp_min(1e-8)
    n = len(x)
    total = z.new_zeros(())
    for f in BANDWIDTH_FACTORS:
        k = torch.exp(-d2 / (2 * med * f * f))
        total = total + k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()
    return total / len(BANDWIDTH_FACTORS)


class _Term:
    def __init__(self) -> None:
        self.parts: list[torch.Tensor] = []

    def value(self) -> torch.Tensor | None:
        return torch.stack(self.parts).mean() if self.parts else None


def key_alignment(layers: Sequence[int]):
    """A context factory for run_stage: taps the k_proj of `layers` and yields the term after the forward."""

    @contextmanager
    def tap(model: Any, batch: dict[str, torch.Tensor], gen: torch.Generator) -> Iterator[_Term]:
        term, handles = _Term(), []
        image = batch["ids"] == model.config.image_token_id
        text = batch["text"] & (batch["mask"] == 1)

        def pick(keys: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
            rows = keys[where]
            if len(rows) > MAX_TOKENS:
                rows = rows[torch.randperm(len(rows), generator=gen)[:MAX_TOKENS]]
            return rows

        def hook(_module: Any, _inputs: Any, out: torch.Tensor) -> None:
            if image.any() and text.any():
                term.parts.append(mk_mmd2(pick(out, image), pick(out, text)))

        decoder = model.model.language_model.layers
        for i in layers:
            handles.append(decoder[i].self_attn.k_proj.register_forward_hook(hook))
        try:
            yield term
        finally:
            for h in handles:
                h.remove()

    return tap
