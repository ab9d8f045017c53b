"""Rank-order clustering of face embeddings: neighbour lists -> rank-order edges -> components.

Two distances over top-k neighbour lists are offered. Both see a point's list with the point
itself at rank 0, ``L_a = [a, f_a(1), ..., f_a(k)]``, and write ``O_a(b)`` for the rank of b in
``L_a`` (``k + 1`` when b is not in it).

- ``"approx"``, Otto, Wang & Jain (2018), "Clustering Millions of Faces by Identity", TPAMI:
  ``d(a,b) = sum_{i=0}^{O_a(b)-1} [f_a(i) not in L_b]`` counts a's neighbours ahead of b that b
  does not share; ``D(a,b) = (d(a,b) + d(b,a)) / min(O_a(b), O_b(a))``.
- ``"zhu"``, Zhu, Wen & Sun (2011), "A rank-order distance based clustering algorithm for face
  tagging", CVPR: ``d(a,b) = sum_{i=0}^{O_a(b)} O_b(f_a(i))`` with ranks truncated at ``k + 1``,
  normalised the same way.

Only pairs with b in a's list (or, with ``mutual=True``, in each other's lists) are candidates;
an edge is kept where ``D < threshold`` and, optionally, the raw squared L2 distance of the pair
is below ``max_dist`` (Otto et al. filter by raw distance in practice too). Clusters are the
connected components of the edges.

Labels everywhere are int64, ``-1`` meaning "unsorted", and canonical: 0 is the largest cluster,
ties broken by the smallest member index, so the same input always gives the same labels.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from photoface.core.albums.knn import knn

log = logging.getLogger(__name__)

VARIANTS = ("approx", "zhu")
#: Defaults tuned on synthetic FaceNet-like data (benchmarks/cluster_algos.py); recalibrate on
#: real embeddings with benchmarks/cluster.py.
DEFAULT_K = 20
DEFAULT_THRESHOLD = {"approx": 1.5, "zhu": 30.0}
#: Raw squared-L2 guard. On the synthetic benchmark rank-order alone chains look-alike
#: singletons (two mutual nearest strangers have D = 0), so the guard is on by default.
DEFAULT_MAX_DIST = 1.0
#: Candidate pairs per vectorised block: ~P*(k+1)^2 bytes transient (≈ 22 MB at k=20).
_PAIR_BLOCK = 50_000


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters 0.. by decreasing size, ties by smallest member index; negatives -> -1.

    Args:
        labels: (N,) integer cluster ids (any values; negative means unsorted).

    Returns:
        (N,) int64 labels.
    """
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(labels.shape, -1, np.int64)
    ok = labels >= 0
    if not ok.any():
        return out
    uniq, first, inv, counts = np.unique(labels[ok], return_index=True, return_inverse=True,
                                         return_counts=True)
    pos = np.flatnonzero(ok)
    order = np.lexsort((pos[first], -counts))  # size descending, then smallest index
    rank = np.empty(len(uniq), np.int64)
    rank[order] = np.arange(len(uniq))
    out[ok] = rank[inv.ravel()]
    return out


def connected_labels(n: int, edges: np.ndarray) -> np.ndarray:
    """Canonical labels of the connected components of an undirected graph on n nodes.

    Args:
        n: number of nodes.
        edges: (E, 2) int node pairs.

    Returns:
        (n,) int64 canonical labels; isolated nodes are singleton clusters (not -1).
    """
    # scipy's csgraph rather than networkx: same components, ~50x faster and far less memory
    # at 100k nodes / 1M edges.
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    g = coo_matrix((np.ones(len(edges), np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, comp = connected_components(g, directed=True, connection="weak")
    return canonical_labels(comp)


def _pair_distances(lists: np.ndarray, a: np.ndarray, j: np.ndarray, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """Rank-order distance D(a, b) for b = lists[a, j].

    Args:
        lists: (N, k+1) int64, row a is [a, neighbours...], -1 padding.
        a: (P,) int64 rows; j: (P,) int64 ranks 1..k of b in a's list.

    Returns:
        D (P,) float32 and mutual (P,) bool (a is in b's list).
    """
    k1 = lists.shape[1]
    la = lists[a]
    lb = lists[la[np.arange(len(a)), j]]
    lb = np.where(lb < 0, -2, lb)  # padding must never match a's padding (-1)
    eq = la[:, :, None] == lb[:, None, :]  # (P, k+1, k+1): la[i] == lb[i']
    in_b = eq.any(axis=2)  # la[i] in L_b
    in_a = eq.any(axis=1)  # lb[i'] in L_a
    o_ab = j
    o_ba = np.where(in_b[:, 0], eq[:, 0, :].argmax(axis=1), k1)  # rank of a in L_b
    cols = np.arange(k1)[None, :]
    if variant == "approx":
        d_ab = ((~in_b) & (cols < o_ab[:, None])).sum(axis=1)
        d_ba = ((~in_a) & (cols < o_ba[:, None])).sum(axis=1)
    else:
        r_b = np.where(in_b, eq.argmax(axis=2), k1)  # O_b(la[i]), truncated at k+1
        r_a = np.where(in_a, eq.argmax(axis=1), k1)  # O_a(lb[i'])
        d_ab = np.where(cols <= o_ab[:, None], r_b, 0).sum(axis=1)
        d_ba = np.where(cols <= o_ba[:, None], r_a, 0).sum(axis=1)
    dd = (d_ab + d_ba) / np.minimum(o_ab, o_ba)
    return dd.astype(np.float32), in_b[:, 0]


def rank_order_edges(idx: np.ndarray, dist: np.ndarray, threshold: float,
                     variant: str = "approx", *, max_dist: float | None = None,
                     mutual: bool = False, rows: np.ndarray | None = None,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-order edges from stored neighbour lists.

    Args:
        idx: (N, k) int64 neighbour ids, sorted by distance, self excluded, -1 padding.
        dist: (N, k) float32 squared L2 distances matching `idx`.
        threshold: keep pairs with rank-order distance D < threshold (np.inf keeps all).
        variant: "approx" (Otto et al. 2018) or "zhu" (Zhu et al. 2011).
        max_dist: if given, also require the pair's squared L2 distance < max_dist.
        mutual: only consider pairs that are in each other's lists (default: in either).
        rows: optional (R,) ids; only pairs touching one of them are evaluated. For an
            incremental update pass the new ids plus `changed` from `knn.add_points`, and
            replace every stored edge touching those ids with the result.

    Returns:
        edges (E, 2) int64 with edges[:, 0] < edges[:, 1], unique, sorted; rank_dist (E,)
        float32 D; pair_dist (E,) float32 squared L2.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    idx = np.asarray(idx, dtype=np.int64)
    dist = np.asarray(dist, dtype=np.float32)
    n, k = idx.shape
    lists = np.concatenate([np.arange(n, dtype=np.int64)[:, None], idx], axis=1)
    a, jj = np.nonzero(idx >= 0)
    b = idx[a, jj]
    pd = dist[a, jj]
    j = jj + 1
    keep = np.ones(len(a), bool)
    if max_dist is not None:
        keep &= pd < max_dist
    if rows is not None:
        touched = np.zeros(n, bool)
        touched[np.asarray(rows, dtype=np.int64)] = True
        # D(a,b) reads L_a and L_b, so a changed list on either side can change it.
        keep &= touched[a] | touched[b]
    a, b, j, pd = a[keep], b[keep], j[keep], pd[keep]
    # A pair found from both sides has the same D; evaluate it once, from the smaller id,
    # unless it only appears in the larger id's list.
    out_e, out_d, out_p = [], [], []
    for s in range(0, len(a), _PAIR_BLOCK):
        sl = slice(s, s + _PAIR_BLOCK)
        dd, is_mutual = _pair_distances(lists, a[sl], j[sl], variant)
        sel = dd < threshold
        sel &= (a[sl] < b[sl]) | ~is_mutual  # mutual pairs are also seen from the other side
        if mutual:
            sel &= is_mutual
        e = np.stack([np.minimum(a[sl], b[sl]), np.maximum(a[sl], b[sl])], axis=1)
        out_e.append(e[sel])
        out_d.append(dd[sel])
        out_p.append(pd[sl][sel])
    if not out_e:
        return np.empty((0, 2), np.int64), np.empty(0, np.float32), np.empty(0, np.float32)
    e, d, p = np.concatenate(out_e), np.concatenate(out_d), np.concatenate(out_p)
    # Each pair is now evaluated once; unique sorts the edges and guards the set property.
    key = e[:, 0] * n + e[:, 1]
    _, first = np.unique(key, return_index=True)
    return e[first], d[first], p[first]


def rank_order_clusters(x: np.ndarray, k: int = DEFAULT_K, threshold: float | None = None,
                        variant: str = "approx", *, max_dist: float | None = DEFAULT_MAX_DIST,
                        mutual: bool = False, neighbours: tuple[np.ndarray, np.ndarray] | None = None,
                        ) -> np.ndarray:
    """Cluster L2-normalised embeddings by rank-order distance.

    Args:
        x: (N, D) float32, rows L2-normalised.
        k: neighbour-list length (default 20).
        threshold: rank-order distance below which two faces are linked (default per variant,
            `DEFAULT_THRESHOLD`).
        variant: "approx" (Otto et al. 2018) or "zhu" (Zhu et al. 2011).
        max_dist: squared-L2 guard: never link a pair this far apart or farther (default
            `DEFAULT_MAX_DIST` = 1.0; None disables it).
        mutual: only link pairs that are in each other's neighbour lists.
        neighbours: precomputed (idx, dist) from `photoface.core.albums.knn.knn`, to skip the search.

    Returns:
        (N,) int64 canonical labels (0 = largest cluster); every point gets a cluster, a face
        with no edge being a singleton. Use `min_cluster_size` to mark small ones unsorted.
    """
    n = len(x)
    if n == 0:
        return np.empty(0, np.int64)
    if threshold is None:
        threshold = DEFAULT_THRESHOLD[variant]
    idx, dist = neighbours if neighbours is not None else knn(x, k)
    edges, _, _ = rank_order_edges(idx, dist, threshold, variant, max_dist=max_dist, mutual=mutual)
    log.debug("rank-order %s: %d points, %d edges", variant, n, len(edges))
    return connected_labels(n, edges)


def cluster_means(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised mean embedding of each cluster.

    Args:
        x: (N, D) float32 embeddings.
        labels: (N,) int64 canonical labels (-1 ignored).

    Returns:
        ids (C,) int64 cluster labels that occur, means (C, D) float32 unit rows.
    """
    ok = labels >= 0
    ids, inv = np.unique(labels[ok], return_inverse=True)
    sums = np.zeros((len(ids), x.shape[1]), np.float64)
    np.add.at(sums, inv.ravel(), x[ok])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return ids, (sums / np.maximum(norms, 1e-12)).astype(np.float32)


def merge_close_centres(x: np.ndarray, labels: np.ndarray, max_dist: float, *, k: int = 10) -> np.ndarray:
    """One pass of "centre merge": join clusters whose normalised means are within `max_dist`.

    Each cluster's mean is linked to those of its k nearest clusters closer than `max_dist`
    (squared L2), and linked clusters are joined transitively. Singletons take part.

    Args:
        x: (N, D) float32 L2-normalised embeddings.
        labels: (N,) int64 labels (-1 stays -1).
        max_dist: squared-L2 distance between cluster means below which clusters merge.
        k: neighbouring clusters examined per cluster.

    Returns:
        (N,) int64 canonical labels.
    """
    labels = np.asarray(labels, dtype=np.int64)
    ids, means = cluster_means(x, labels)
    if len(ids) < 2:
        return canonical_labels(labels)
    ci, cd = knn(means, k)
    r, c = np.nonzero((cd < max_dist) & (ci >= 0))
    comp = connected_labels(len(ids), np.stack([r, ci[r, c]], axis=1))
    lut = np.full(labels.max() + 1, -1, np.int64)
    lut[ids] = comp
    out = np.where(labels >= 0, lut[np.maximum(labels, 0)], -1)
    return canonical_labels(out)


def min_cluster_size(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Mark members of clusters smaller than `min_size` as unsorted (-1).

    Args:
        labels: (N,) int labels.
        min_size: smallest cluster kept as an album (2 keeps all pairs, drops singletons).

    Returns:
        (N,) int64 canonical labels, -1 for faces in too-small clusters.
    """
    labels = np.asarray(labels, dtype=np.int64)
    ok = labels >= 0
    counts = np.bincount(labels[ok]) if ok.any() else np.zeros(0, np.int64)
    small = np.zeros(labels.shape, bool)
    small[ok] = counts[labels[ok]] < min_size
    return canonical_labels(np.where(small, -1, labels))
