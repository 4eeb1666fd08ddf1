"""Input checks shared by the estimators: one place that turns bad input into a one-line ValueError."""

from __future__ import annotations

import numpy as np
import torch

_HALF = (torch.float16, torch.bfloat16)


def as_matrix(a, name: str) -> torch.Tensor:
    """Return ``a`` as a floating torch tensor [n, d] on its own device.

    float16/bfloat16 are upcast to float32 (their range and precision are too small for
    squared distances); integer input becomes float32. Raises ValueError for a wrong rank,
    an empty sample or non-finite values.
    """
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    if t.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [n, d], got shape {tuple(t.shape)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}); need at least one vector of dim >= 1")
    if not torch.is_floating_point(t) or t.dtype in _HALF:
        t = t.to(torch.float32)
    bad = nonfinite_rows(t)
    if bad:
        raise ValueError(f"{name} has non-finite values in {bad} row(s); all entries must be finite")
    return t


def nonfinite_rows(t: torch.Tensor) -> int:
    """Rows of t [n, d] holding a NaN or an infinity. A finite sum proves every entry finite (NaN and
    ±inf survive any addition), so the elementwise check runs only when the sum is not finite
    (a non-finite entry, or a sum past the float range): the same answer at the cost of one sum."""
    if bool(torch.isfinite(t.sum())):
        return 0
    return int((~torch.isfinite(t)).any(dim=1).sum())


def as_pair(x, y, *, min_rows: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Check two samples [n, d] and [m, d]: same dim, same device, at least ``min_rows`` rows each.

    Both are brought to a common floating dtype (the wider of the two).
    """
    xt, yt = as_matrix(x, "x"), as_matrix(y, "y")
    if xt.shape[1] != yt.shape[1]:
        raise ValueError(f"x and y must have the same dim, got x dim {xt.shape[1]} and y dim {yt.shape[1]}")
    if xt.device != yt.device:
        raise ValueError(f"x and y must be on the same device, got {xt.device} and {yt.device}")
    for t, name in ((xt, "x"), (yt, "y")):
        if t.shape[0] < min_rows:
            raise ValueError(f"{name} has {t.shape[0]} row(s); this estimator needs at least {min_rows}")
    dtype = torch.promote_types(xt.dtype, yt.dtype)
    return xt.to(dtype), yt.to(dtype)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """CPU float64 numpy copy, for the sklearn / openTSNE parts."""
    return t.detach().to("cpu", torch.float64).numpy()


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {type(seed).__name__}")
    return int(seed)
