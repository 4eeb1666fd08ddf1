"""Capture options: what, besides the model and the samples, shapes the vectors a capture produces.

A run's options (harness.run.options.RunConfig) hold many things that never reach the captured
vectors (where outputs go, the analysis' threshold, the batch size); the key cache is keyed by this
small value instead, so a new run option cannot change which bank a capture is served from unless
it is added here.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.capture.keys import TokenCaps


@dataclass(frozen=True)
class CaptureOptions:
    kind: str  # what is captured: harness.models.taps.KINDS, e.g. "keys" (k_proj outputs, pre-RoPE)
    dtype: str  # dtype the model runs in, e.g. "float32"
    caps: TokenCaps  # tokens kept per prompt and per modality (TokenCaps() keeps every token)
    seed: int  # seed of tiny twins' weights and of the token caps' draws
    mechanism: bool  # whether the bank carries the mechanism metrics (logit gap, attention share)
