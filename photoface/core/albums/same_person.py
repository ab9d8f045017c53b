"""How far apart one person's faces lie in this library, read off its neighbour lists.

A face's nearest neighbours are a mixture of two kinds of pair: the same person (near) and
someone else (far). A two-component Gaussian mixture fitted to the distances of the k-NN lists
separates them, and where the posterior of "same" falls to one half is this library's own
same/different threshold. Its weights carry the library's shape: in a family's library (a few
people, many photos each) most listed neighbours are the same person, which moves that point
out; among thousands of strangers with a photo or two each most are not, which keeps it in.

Measured on the shared sets (squared L2, shipped model, 20-NN lists of every face): lfw 0.744
(13.8k faces of 5,749 people), lfw_subset 1.035, five_celebrity_faces 0.925, sports_celebrities
1.13, turkish_comedians 0.951, indian_cricketers 0.74, african_footballers 0.92, japanese_actors
0.631 (its strangers sit closer too: the far component's mean is 0.86 there, 0.94-1.43 elsewhere).

The engine's thresholds are multiples of one scale (albums/engine.py); `scale` turns the
threshold into that unit. The crowding scale (knn.crowding_scale: how close the 50th neighbour
is) assumes that neighbour is a stranger, which in a family's library it is not: there it
under-reads, and the floor at lfw's value left turkish_comedians (crowding scale 1.00, mixture
1.46) with lfw's thresholds. `library_scale` takes the larger of the two: with it
turkish_comedians needs 57 operations to clean instead of 71, and no shared set needs more
(benchmarks/cluster.py). Taking the mixture's alone, or with scikit-learn's early-stopped fit
instead of this converged one, moved other sets both ways (five_celebrity_faces 0 -> 1,
lfw_subset 3 -> 5, indian_cricketers 43 -> 36): the fit is a coarse model of these distances,
trusted only where it says "looser than the crowd suggests".
"""

from __future__ import annotations

import numpy as np

from photoface.core.albums import knn as knn_mod

#: lfw's mixture threshold over its crowding scale (0.745 / 1.152): the two measures agree there,
#: where the engine's ratios were chosen.
THRESHOLD_PER_SCALE = 0.65
#: Fewer listed distances than this do not make a mixture worth believing.
MIN_DISTANCES = 200
#: Lists fitted at most, a fixed-seed sample past that (lfw's 13.8k lists are all fitted, in 0.5 s):
#: the fit runs whenever the scale is measured again, 100k faces included (at worst 6 s there,
#: 200 iterations on distances of one kind, which then give no threshold).
MAX_LISTS = 20_000
_ITERATIONS = 200


def mixture_threshold(dist: np.ndarray) -> float | None:
    """The distance at which a listed neighbour becomes more likely someone else than the same person.

    Args:
        dist: (G, k) squared L2 distances of the k-NN lists; inf (or NaN) where a list is short.

    Returns:
        That distance, or None when there are too few distances or the two components do not
        separate (one person only, or no two faces alike).
    """
    dist = np.asarray(dist)
    if len(dist) > MAX_LISTS:
        dist = dist[np.sort(np.random.default_rng(0).choice(len(dist), MAX_LISTS, replace=False))]
    d = dist.astype(np.float64).ravel()
    d = d[np.isfinite(d)]
    if len(d) < MIN_DISTANCES:
        return None
    mean, sd, weight = _fit_two_gaussians(d)
    if not mean[0] + sd[0] < mean[1]:  # the near component reaches past the far one's mean
        return None
    grid = np.linspace(mean[0], mean[1], 400)
    near = weight[0] * _normal(grid, mean[0], sd[0])
    far = weight[1] * _normal(grid, mean[1], sd[1])
    crossed = np.flatnonzero(near < far)
    return float(grid[crossed[0]]) if len(crossed) else None


def scale(dist: np.ndarray) -> float | None:
    """`mixture_threshold` in units of the engine's scale (None as there)."""
    t = mixture_threshold(dist)
    return None if t is None else t / THRESHOLD_PER_SCALE


def library_scale(x: np.ndarray, dist: np.ndarray) -> float:
    """The scale the engine's thresholds are multiples of: the larger of the crowding scale of
    `x` and the mixture's (`scale`) of its neighbour lists `dist` (see the module docstring)."""
    return max(knn_mod.crowding_scale(x), scale(dist) or 0.0)


def _normal(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mean) / sd) ** 2) / sd


def _fit_two_gaussians(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expectation-maximisation of a two-Gaussian mixture in one dimension, nearer component first.

    Thirty lines of numpy rather than scikit-learn's GaussianMixture, a dependency of ~40 MB with
    its own compiled stack in the bundle. Run to convergence: scikit-learn stops at a tolerance,
    which on indian_cricketers left a different fit (crossing at 0.86 rather than 0.74).
    """
    # Started from a two-means split, as scikit-learn does: EM from quartiles found other optima.
    mean = np.percentile(d, [25, 75])
    for _ in range(100):
        near = np.abs(d - mean[0]) <= np.abs(d - mean[1])
        if near.all() or not near.any():
            break
        split = np.array([d[near].mean(), d[~near].mean()])
        if np.allclose(split, mean):
            break
        mean = split
    near = np.abs(d - mean[0]) <= np.abs(d - mean[1])
    sd = np.array([max(d[near].std(), 1e-3) if near.any() else d.std(),
                   max(d[~near].std(), 1e-3) if (~near).any() else d.std()])
    weight = np.array([near.mean(), 1 - near.mean()])
    for _ in range(_ITERATIONS):
        like = weight[None, :] * _normal(d[:, None], mean[None, :], sd[None, :])
        resp = like / np.maximum(like.sum(axis=1, keepdims=True), 1e-300)
        total = resp.sum(axis=0)
        if np.any(total < 1e-9):
            break
        new_mean = (resp * d[:, None]).sum(axis=0) / total
        sd = np.sqrt((resp * (d[:, None] - new_mean[None, :]) ** 2).sum(axis=0) / total)
        sd = np.maximum(sd, 1e-3)
        weight = total / len(d)
        converged = np.allclose(new_mean, mean, atol=1e-6)
        mean = new_mean
        if converged:
            break
    order = np.argsort(mean)
    return mean[order], sd[order], weight[order]
