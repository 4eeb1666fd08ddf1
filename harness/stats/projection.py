"""2-D t-SNE picture of keys for the report, and a trustworthiness score of such a picture.

Pipeline: stratified seeded subsample to ``cap`` points (each label keeps its share, at least
one point) → StandardScaler → PCA to min(50, k - 1, d) dims (seeded) → t-SNE to 2-D, seeded,
by the backend measured faster at the map's size (``SKLEARN_FROM``; sklearn's TSNE wherever
openTSNE cannot be imported). t-SNE coordinates have no units: only neighbourhoods are
meaningful, not distances between clusters. On CPU the same seed gives identical points (both
backends run on ``n_jobs`` threads, 1 by default, for that reason).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness as _sk_trustworthiness
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ._validate import as_matrix, check_seed, to_numpy

PCA_DIMS = 50


@dataclass(frozen=True)
class Projection:
    points: np.ndarray  # [k, 2] float32 t-SNE coordinates (unitless)
    labels: tuple[str, ...]  # [k] label of each point (e.g. "image", "text")
    kept_index: np.ndarray  # [k] int64 row of the input behind each point (sorted)
    method: str  # "openTSNE" or "sklearn"
    cap: int  # the cap on points asked for
    perplexity: float = 30.0  # perplexity used (lowered to (k - 1) / 3 for small k)
    iterations: int = 750  # gradient iterations: 250 with early exaggeration, then n_iter


def stratified_subsample(labels: Sequence[str], cap: int, seed: int) -> np.ndarray:
    """Sorted int64 indices of at most ``cap`` rows, each label keeping its share (largest
    remainder rounding, at least one row per label when cap allows)."""
    lab = np.asarray(labels)
    n = len(lab)
    if n <= cap:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    uniq, inv, counts = np.unique(lab, return_inverse=True, return_counts=True)
    exact = counts * cap / n
    take = np.floor(exact).astype(int)
    if cap >= len(uniq):
        take = np.maximum(take, 1)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if take.sum() >= cap:
            break
        take[i] += 1
    while take.sum() > cap:  # the at-least-one rule can overshoot: trim the largest
        take[np.argmax(take)] -= 1
    keep = [rng.choice(np.flatnonzero(inv == u), min(take[u], counts[u]), replace=False) for u in range(len(uniq))]
    return np.sort(np.concatenate(keep)).astype(np.int64)


EARLY_ITER = 250  # early-exaggeration iterations (openTSNE's and scikit-learn's default)
# "auto" runs openTSNE on maps of fewer points than this and scikit-learn from it on. At equal iterations
# and one thread (PERFORMANCE.md "t-SNE backends", suites/perf/tsne_backends.py: CPU seconds, medians of
# 3 rounds, load 6 on 2 cores) neither was consistently faster up to 2,500 points (scikit-learn's CPU
# seconds over openTSNE's: 1.05 at 500, 1.04 at 600, 0.83 at 1,000, 1.10 at 1,500, 1.01 at 2,500, within
# the rounds' spread),
# scikit-learn was faster from 3,500 (1.05×) and 5,000 (1.14×) on, trustworthiness within 0.002 at every
# size: the threshold sits between 2,500 and 3,500. Below it openTSNE stays, so the harness's own maps
# (600 points) and their points do not change.
SKLEARN_FROM = 3000


def auto_backend(points: int, sklearn_from: int = SKLEARN_FROM) -> str:
    """The backend "auto" asks for on a map of `points` points (openTSNE still falls back to scikit-learn
    where it cannot be imported)."""
    return "sklearn" if points >= sklearn_from else "openTSNE"


def _tsne(z: np.ndarray, perplexity: float, seed: int, n_jobs: int, backend: str, n_iter: int,
          fallback: bool) -> tuple[np.ndarray, str]:
    """backend: "openTSNE" or "sklearn"; `fallback`: scikit-learn where openTSNE cannot be imported."""
    if backend == "openTSNE":
        try:
            from openTSNE import TSNE as OpenTSNE
        except ImportError:
            if not fallback:
                raise
        else:
            emb = OpenTSNE(n_components=2, perplexity=perplexity, random_state=seed, n_jobs=n_jobs, verbose=False,
                           early_exaggeration_iter=EARLY_ITER, n_iter=n_iter).fit(z)
            return np.asarray(emb), "openTSNE"
    from sklearn.manifold import TSNE

    steps = "max_iter" if "max_iter" in inspect.signature(TSNE).parameters else "n_iter"  # renamed in scikit-learn 1.5
    # its gradient runs on every OpenMP thread otherwise: n_jobs threads, as openTSNE, for the same points at any count
    with threadpool_limits(limits=n_jobs, user_api="openmp"):
        emb = TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca", n_jobs=n_jobs,
                   **{steps: EARLY_ITER + n_iter}).fit_transform(z)
    return emb, "sklearn"


def tsne_2d(
    x, labels: Sequence[str], *, seed: int = 0, cap: int = 2000, perplexity: float = 30.0,
    n_jobs: int = 1, backend: str = "auto", n_iter: int = 500, sklearn_from: int = SKLEARN_FROM,
) -> Projection:
    """t-SNE of x [n, d] with one label per row; see the module doc. backend: "auto" (by the map's size:
    scikit-learn from `sklearn_from` points on, openTSNE below), "openTSNE" or "sklearn".
    n_iter: iterations after the 250 early-exaggeration ones (500: openTSNE's default), on either backend."""
    seed = check_seed(seed)
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(f"n_iter must be an int >= 1, got {n_iter!r}")
    if isinstance(sklearn_from, bool) or not isinstance(sklearn_from, (int, np.integer)) or sklearn_from < 0:
        raise ValueError(f"sklearn_from must be an int >= 0 (points), got {sklearn_from!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"n_jobs must be an int >= 1, got {n_jobs!r}")
    if backend not in ("auto", "openTSNE", "sklearn"):
        raise ValueError(f"backend must be 'auto', 'openTSNE' or 'sklearn', got {backend!r}")
    xt = as_matrix(x, "x")
    labels = [str(s) for s in labels]
    if len(labels) != xt.shape[0]:
        raise ValueError(f"labels must have one entry per row of x ({xt.shape[0]}), got {len(labels)}")
    if cap < 4 or xt.shape[0] < 4:
        raise ValueError(f"t-SNE needs at least 4 points and cap >= 4, got {xt.shape[0]} points and cap {cap}")
    keep = stratified_subsample(labels, cap, seed)
    # only the kept rows go to float64 numpy (a whole bank would be copied for a 600-point map otherwise)
    z = StandardScaler().fit_transform(to_numpy(xt[torch.as_tensor(keep, device=xt.device)]))  # [k, d]
    dims = min(PCA_DIMS, len(keep) - 1, z.shape[1])
    if dims < z.shape[1]:
        z = PCA(n_components=dims, random_state=seed).fit_transform(z)  # [k, dims]
    perp = float(min(perplexity, (len(keep) - 1) / 3.0))
    chosen = auto_backend(len(keep), int(sklearn_from)) if backend == "auto" else backend
    pts, method = _tsne(z, perp, seed, int(n_jobs), chosen, int(n_iter), fallback=backend == "auto")
    return Projection(
        points=pts.astype(np.float32), labels=tuple(labels[i] for i in keep), kept_index=keep,
        method=method, cap=int(cap), perplexity=perp, iterations=EARLY_ITER + int(n_iter),
    )


def trustworthiness(x, points, *, n_neighbors: int = 10) -> float:
    """sklearn's trustworthiness in [0, 1]: 1 = every 2-D neighbour of a point is also among its
    ``n_neighbors`` nearest neighbours in x [k, d] (no false neighbours created by the map)."""
    xa = to_numpy(as_matrix(x, "x"))
    pa = np.asarray(points, dtype=np.float64)
    if pa.shape != (len(xa), 2) and pa.ndim != 2:
        raise ValueError(f"points must be [k, dims] with k = {len(xa)}, got {pa.shape}")
    if len(pa) != len(xa):
        raise ValueError(f"points must have one row per row of x ({len(xa)}), got {len(pa)}")
    return float(_sk_trustworthiness(xa, pa, n_neighbors=n_neighbors))
