"""A guard on the keys themselves: a side whose keys are the same in every unit is named, not measured silently.

If every unit's image keys are one and the same (the model's image features do not depend on its images: a zero or
constant projection, a vision tower that is not wired in), the triple's figures compare a fixed cloud with the text
keys: they are true of these keys, and they say nothing about images. The check reads the kept tokens of each side
(the ones every figure reads): the side is constant across units when the per-unit means of its keys agree in every
coordinate to `RELATIVE` of the keys' largest magnitude. It flags the result (`extra["key_warnings"]` and the
message); the verdict is left as the figures give it.
"""

from __future__ import annotations

import numpy as np
import torch

from harness.stats.gap import Side

RELATIVE = 1e-6  # unit means agreeing to this share of the keys' largest magnitude are the same (float32 rounding)


def _constant_across_units(side: Side) -> int:
    """The number of units of `side` where it has ≥ 2 and the same mean key in each (module doc), else 0."""
    distinct, code = np.unique(np.asarray(side.units), return_inverse=True)
    if len(distinct) < 2:
        return 0
    x = torch.as_tensor(side.x).double()
    index = torch.as_tensor(code.ravel(), device=x.device)
    sums = torch.zeros(len(distinct), x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, index, x)
    means = sums / torch.bincount(index, minlength=len(distinct)).unsqueeze(1).to(x.dtype)
    spread = float((means.max(0).values - means.min(0).values).max())
    return len(distinct) if spread <= RELATIVE * max(float(x.abs().max()), np.finfo(np.float64).tiny) else 0


def key_warnings(image: Side, text: Side) -> list[str]:
    """One sentence per side whose keys are the same in every unit (module doc); empty for keys that vary."""
    found = []
    for side, name in ((image, "image"), (text, "text")):
        if units := _constant_across_units(side):
            what = "its images" if name == "image" else "its prompts"
            found.append(f"the {name} keys are the same in all {units} units: the model's {name} features do not depend on {what} "
                         "(a zero or constant projection?), so the figures compare a fixed cloud with the other side")
    return found
