"""What to do with a question that has more images than a model takes in one prompt.

Policies (`--ks-multi-image`), applied per model from its `ModelSpec.max_images`:
- `first`: keep the first `max_images` images in prompt order and leave the text as it is (the
  official MMMU evaluation of single-image models such as LLaVA-1.5 keeps `image_1` the same way);
  the sample's `meta["images_dropped"]` says how many went.
- `skip`: leave the question out.
A model with `max_images=None` sees every image.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from harness.errors import KeyspaceError

from .sample import Sample

MULTI_IMAGE = ("first", "skip")


@dataclass(frozen=True)
class ImageFit:
    """Samples fitted to a model's image limit, and how many questions needed it."""

    samples: list[Sample]
    trimmed: int  # questions kept with their first max_images images only
    skipped: int  # questions left out

    def note(self, max_images: int | None, policy: str) -> str | None:
        if not (self.trimmed or self.skipped):
            return None
        action = f"kept the first {max_images} image(s) of" if policy == "first" else "skipped"
        return f"{self.trimmed or self.skipped} question(s) with more than {max_images} image(s): {action} them (--ks-multi-image {policy})"


def fit_images(samples: Sequence[Sample], max_images: int | None, policy: str) -> ImageFit:
    """Apply `policy` to the samples with more than `max_images` images (None: no limit)."""
    if policy not in MULTI_IMAGE:
        raise KeyspaceError(f"--ks-multi-image: {policy!r} is not a policy; use {' or '.join(MULTI_IMAGE)}")
    if max_images is None:
        return ImageFit(list(samples), 0, 0)
    if max_images < 1:
        raise KeyspaceError(f"max_images must be at least 1 or None (unlimited), got {max_images}")
    kept, trimmed, skipped = [], 0, 0
    for s in samples:
        extra = len(s.images) - max_images
        if extra <= 0:
            kept.append(s)
        elif policy == "skip":
            skipped += 1
        else:
            trimmed += 1
            meta = {**s.meta, "images_dropped": extra, "multi_image": policy}
            kept.append(replace(s, images=s.images[:max_images], meta=meta))
    return ImageFit(kept, trimmed, skipped)
