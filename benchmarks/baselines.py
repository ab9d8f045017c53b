"""Classic face-clustering baselines, each over L2-normalised embeddings with squared-L2 distances.

Written for the benchmark only: the product uses photoface.core.albums.update.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

from photoface.core.albums import knn as knn_mod
from photoface.core.albums.rank_order import connected_labels


def chinese_whispers(idx: np.ndarray, dist: np.ndarray, threshold: float, iterations: int = 20,
                     seed: int = 0) -> np.ndarray:
    """Chinese whispers (Biemann 2006; dlib's face clustering): edges between neighbours closer
    than `threshold`, each node repeatedly takes the label with the largest summed edge weight
    among its neighbours, in random order."""
    n = len(idx)
    rng = np.random.default_rng(seed)
    labels = np.arange(n)
    a, j = np.nonzero((idx >= 0) & (dist < threshold))
    b = idx[a, j]
    w = 1.0 / np.maximum(dist[a, j], 1e-3)
    nbrs: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for u, v, wt in zip(a.tolist(), b.tolist(), w.tolist()):
        nbrs[u].append((v, wt))
        nbrs[v].append((u, wt))
    for _ in range(iterations):
        changed = 0
        for u in rng.permutation(n).tolist():
            if not nbrs[u]:
                continue
            score: dict[int, float] = {}
            for v, wt in nbrs[u]:
                score[labels[v]] = score.get(labels[v], 0.0) + wt
            best = max(score.items(), key=lambda t: (t[1], -t[0]))[0]
            if best != labels[u]:
                labels[u] = best
                changed += 1
        if not changed:
            break
    return labels


def dbscan(idx: np.ndarray, dist: np.ndarray, eps: float, min_samples: int = 2) -> np.ndarray:
    """DBSCAN over the eps-graph read from k-NN lists (k large enough for face clusters):
    core points have >= min_samples neighbours within eps (self included); noise is -1."""
    n = len(idx)
    within = (idx >= 0) & (dist < eps)
    core = within.sum(axis=1) + 1 >= min_samples
    a, j = np.nonzero(within)
    b = idx[a, j]
    core_edges = np.stack([a[core[a] & core[b]], b[core[a] & core[b]]], axis=1)
    labels = connected_labels(n, core_edges)
    out = np.full(n, -1, np.int64)
    out[core] = labels[core]
    # Border points join the cluster of a core neighbour.
    for u in np.flatnonzero(~core):
        for v, d in zip(idx[u], dist[u]):
            if v >= 0 and d < eps and core[v]:
                out[u] = labels[v]
                break
    return out


def average_linkage(x: np.ndarray):
    """Agglomerative clustering, average linkage over squared-L2 distances.

    Returns a function threshold -> labels: the tree is built once and cut at each threshold.
    """
    if len(x) < 2:
        return lambda threshold: np.zeros(len(x), np.int64)
    z = linkage(pdist(x.astype(np.float64), "sqeuclidean"), method="average")
    return lambda threshold: fcluster(z, t=threshold, criterion="distance").astype(np.int64)


def plain_rank_order(x: np.ndarray, idx: np.ndarray, dist: np.ndarray, threshold: float) -> np.ndarray:
    """Approximate rank-order (Otto et al. 2018) as published: no distance guard, no constraints."""
    from photoface.core.albums.rank_order import rank_order_edges

    edges, _, _ = rank_order_edges(idx, dist, threshold, "approx")
    return connected_labels(len(x), edges)


def neighbours(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    return knn_mod.knn(x, k)


def infomap(idx: np.ndarray, dist: np.ndarray, threshold: float, seed: int = 1) -> np.ndarray:
    """Infomap (Rosvall & Bergstrom 2008) on the k-NN graph, as in face-clustering papers
    (e.g. Yang et al. 2019's baseline): undirected edges between neighbours closer than
    `threshold`, weighted by similarity 1 - d/threshold; the two-level modules are the clusters,
    a face without an edge its own."""
    from infomap import Infomap

    im = Infomap(two_level=True, silent=True, seed=seed, num_trials=1)
    n = len(idx)
    a, j = np.nonzero((idx >= 0) & (dist < threshold))
    b = idx[a, j]
    keep = a < b  # each undirected pair once (both lists may hold it)
    pairs = {}
    for u, v, d in zip(np.where(keep, a, b).tolist(), np.where(keep, b, a).tolist(), dist[a, j].tolist()):
        pairs[(u, v)] = max(1e-6, 1.0 - d / threshold)
    for (u, v), w in pairs.items():
        im.add_link(u, v, w)
    labels = np.arange(n, dtype=np.int64) + n  # unlinked faces: one module each
    if pairs:
        im.run()
        for node, module in im.get_modules().items():
            labels[node] = module
    return labels


def hdbscan(x: np.ndarray, min_cluster_size: int) -> np.ndarray:
    """HDBSCAN (Campello et al. 2013; scikit-learn's) over Euclidean distance, which orders pairs
    as squared L2 does on unit vectors; its noise stays unsorted (-1)."""
    from sklearn.cluster import HDBSCAN

    if len(x) < 3:
        return np.full(len(x), -1, np.int64)
    return HDBSCAN(min_cluster_size=int(min_cluster_size), min_samples=1, metric="euclidean",
                   copy=True).fit_predict(x.astype(np.float64)).astype(np.int64)
