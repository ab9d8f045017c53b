"""k-nearest-neighbour lists of L2-normalised embeddings, exact or (for big libraries) via faiss HNSW.

Distances throughout are **squared L2** between unit vectors, ``||a - b||^2 = 2 - 2 cos(a, b)``,
in ``[0, 4]`` (FaceNet: same person typically 0.3–0.9, different people 1.6–2.2). Neighbour lists
exclude the point itself and are sorted by increasing distance, ties broken by the smaller index
(within the list; which of several exactly tied points makes the cut at the k-th place is up to
numpy's partition, still deterministic for a given input). The HNSW path is approximate, and faiss
builds it with several threads, so its lists may differ slightly between runs.

Incremental use (adding a few hundred faces to a big library) goes through `add_points`, which is
exact for the new faces and updates the old faces' lists that a new face enters; it costs one
``(new x all)`` matrix product, never a rebuild.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

#: Past this many points `knn` switches from exact blocked products to a faiss HNSW index.
EXACT_MAX_POINTS = 20_000
#: Rows of queries per matrix-product block; 2048 x 100k float32 is ~0.8 GB transient, so blocks
#: shrink with the base size to keep the product under `_BLOCK_BYTES`.
_BLOCK_ROWS = 2048
_BLOCK_BYTES = 256 * 2**20


def _block_rows(n_base: int, block: int | None) -> int:
    if block is not None:
        return max(1, int(block))
    return int(max(16, min(_BLOCK_ROWS, _BLOCK_BYTES // (4 * max(n_base, 1)))))


def _as_f32(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-d (N, D) array, got shape {x.shape}")
    return x


def _topk_by_similarity(sim: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise k most similar columns of `sim` (B, M) as squared-L2 lists.

    Selecting on the dot products directly (largest first) saves two full passes over the block
    compared with converting it to distances first.

    Returns:
        (idx (B, k) int64 column indices, dist (B, k) float32 = 2 - 2 sim), sorted by
        (distance, column index).
    """
    m = sim.shape[1]
    if k < m:
        part = np.argpartition(sim, m - k, axis=1)[:, m - k:]
    else:
        part = np.broadcast_to(np.arange(m), sim.shape).copy()
    ps = np.take_along_axis(sim, part, axis=1)
    pd = np.maximum(2.0 - 2.0 * ps, 0.0).astype(np.float32)
    # lexsort sorts by the last key first: distance, then id (ties -> smaller id).
    order = np.lexsort((part, pd), axis=1)
    return (np.take_along_axis(part, order, axis=1).astype(np.int64),
            np.take_along_axis(pd, order, axis=1))


def knn_exact(x: np.ndarray, k: int, *, block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours of every row of `x` among the others, by blocked matrix products.

    Args:
        x: (N, D) float32, rows L2-normalised.
        k: neighbours per point; clipped to N - 1.
        block: query rows per product block (default: sized to keep ~256 MB per block).

    Returns:
        idx (N, k') int64 and dist (N, k') float32 squared L2, k' = min(k, N - 1), self excluded.
    """
    x = _as_f32(x)
    return knn_query(x, x, k, query_ids=np.arange(len(x)), block=block)


def knn_query(base: np.ndarray, queries: np.ndarray, k: int, *,
              query_ids: np.ndarray | None = None,
              block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of `base` for each row of `queries`.

    Args:
        base: (N, D) float32, L2-normalised.
        queries: (Q, D) float32, L2-normalised.
        k: neighbours per query; clipped to the number of candidates.
        query_ids: optional (Q,) int row of `base` that each query *is*; that row is excluded
            from its own list (use when the queries were appended to `base`).
        block: query rows per product block (default: sized to keep ~256 MB per block).

    Returns:
        idx (Q, k') int64 rows of `base`, dist (Q, k') float32 squared L2, sorted ascending.
    """
    base, queries = _as_f32(base), _as_f32(queries)
    n = len(base)
    k = int(min(k, n - (1 if query_ids is not None else 0)))
    q = len(queries)
    if k <= 0 or q == 0:
        return np.empty((q, max(k, 0)), np.int64), np.empty((q, max(k, 0)), np.float32)
    rows = _block_rows(n, block)
    out_i = np.empty((q, k), np.int64)
    out_d = np.empty((q, k), np.float32)
    for s in range(0, q, rows):
        e = min(q, s + rows)
        # Unit vectors: ||a-b||^2 = 2 - 2 a.b; clip tiny negatives from rounding.
        sim = queries[s:e] @ base.T
        if query_ids is not None:
            sim[np.arange(e - s), np.asarray(query_ids[s:e])] = -np.inf
        out_i[s:e], out_d[s:e] = _topk_by_similarity(sim, k)
    return out_i, out_d


def knn_hnsw(x: np.ndarray, k: int, *, m: int = 16, ef_construction: int = 40,
             ef_search: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Approximate k nearest neighbours with a faiss HNSW (flat, L2) index.

    Args:
        x: (N, D) float32, L2-normalised.
        k: neighbours per point; clipped to N - 1.
        m: HNSW graph degree (default 16).
        ef_construction: build-time beam width (default 40; 80 doubles the build time).
        ef_search: search beam width (default max(48, 2k)); recall rises with it.

    On synthetic 100k FaceNet-like data, recall of the neighbours clustering can link (closer
    than its link threshold) against exact search, and build + search seconds on 2 cores:
    M=32, efSearch=64: 0.999, 30 + 40 s; M=16, efSearch=40: 0.975, 18 + 10 s; M=16,
    efSearch=48 (the default at k=20): 0.979, 20 + 12 s; M=16, efSearch=64: 0.983, 20 + 22 s.
    Recall of the whole exact top-20 is lower (0.68-0.83): past a face's own identity its
    neighbours are near-equidistant strangers.
    M=16 keeps 100k faces within the one-minute clustering budget.

    Returns:
        idx (N, k') int64, dist (N, k') float32 squared L2, self excluded, sorted ascending.
        Entries a search could not fill (rare; tiny or degenerate inputs) are -1 / inf.
    """
    import faiss  # heavy-ish import; only libraries past EXACT_MAX_POINTS need it

    x = _as_f32(x)
    n, dim = x.shape
    k = int(min(k, n - 1))
    if k <= 0:
        return np.empty((n, 0), np.int64), np.empty((n, 0), np.float32)
    index = faiss.IndexHNSWFlat(dim, m)
    index.hnsw.efConstruction = ef_construction
    index.add(x)
    index.hnsw.efSearch = int(ef_search or max(48, 2 * k))
    # One extra neighbour because the point itself normally comes back first.
    d, i = index.search(x, k + 1)
    i = i.astype(np.int64)
    self_hit = i == np.arange(n)[:, None]
    # Drop self where found, else the last column, keeping k per row.
    drop = np.where(self_hit.any(axis=1), self_hit.argmax(axis=1), k)
    keep = np.ones_like(self_hit)
    keep[np.arange(n), drop] = False
    idx = i[keep].reshape(n, k)
    dist = np.maximum(d[keep].reshape(n, k), 0.0).astype(np.float32)
    dist[idx < 0] = np.inf
    return idx, dist


def knn(x: np.ndarray, k: int, *, exact_max_points: int = EXACT_MAX_POINTS,
        ef_search: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours of every point among the others: exact up to `exact_max_points`, else HNSW.

    Args:
        x: (N, D) float32, rows L2-normalised.
        k: neighbours per point; clipped to N - 1.
        exact_max_points: largest N done exactly (default 20,000).
        ef_search: HNSW search beam width when approximate (default max(48, 2k)).

    Returns:
        idx (N, k') int64 and dist (N, k') float32 squared L2 (= 2 - 2 cos), k' = min(k, N - 1),
        self excluded, sorted by increasing distance.
    """
    x = _as_f32(x)
    if len(x) <= exact_max_points:
        return knn_exact(x, k)
    log.debug("knn: %d points > %d, using faiss HNSW", len(x), exact_max_points)
    return knn_hnsw(x, k, ef_search=ef_search)


def merge_neighbours(idx: np.ndarray, dist: np.ndarray, cand_idx: np.ndarray,
                     cand_dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge candidate neighbours into existing sorted lists, keeping the k best, no duplicates.

    Args:
        idx, dist: (R, k) current lists (int64 ids, float32 distances; -1 / inf for empty slots).
        cand_idx, cand_dist: (R, c) candidates for the same rows (-1 / inf to pad).

    Returns:
        idx (R, k) int64, dist (R, k) float32, sorted by (distance, id).
    """
    k = idx.shape[1]
    ai = np.concatenate([idx, cand_idx], axis=1).astype(np.int64)
    ad = np.concatenate([dist, cand_dist], axis=1).astype(np.float32)
    # Sort by id to find duplicates, and push them (and padding) to the end as inf.
    o = np.argsort(ai, axis=1, kind="stable")
    ai, ad = np.take_along_axis(ai, o, 1), np.take_along_axis(ad, o, 1)
    dup = np.zeros_like(ai, dtype=bool)
    dup[:, 1:] = ai[:, 1:] == ai[:, :-1]
    ad = np.where(dup | (ai < 0), np.inf, ad)
    ai = np.where(dup | (ai < 0), np.iinfo(np.int64).max, ai)
    o = np.lexsort((ai, ad), axis=1)[:, :k]
    ri, rd = np.take_along_axis(ai, o, 1), np.take_along_axis(ad, o, 1)
    ri[ri == np.iinfo(np.int64).max] = -1
    return ri, rd


def add_points(x_old: np.ndarray, idx_old: np.ndarray, dist_old: np.ndarray,
               x_new: np.ndarray, *, block: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour lists after appending `x_new` to a library whose lists are already known.

    The new points get exact lists among old + new; an old point's list changes only where a new
    point is nearer than its current k-th neighbour, which the same products reveal. Cost is
    O(N_new * N_total * D) (about 0.5 s for 500 into 100k on 2 cores), independent of how the
    old lists were built (exact or HNSW).

    Args:
        x_old: (N, D) float32, L2-normalised, the existing library.
        idx_old, dist_old: (N, k) its neighbour lists (from `knn`), squared L2.
        x_new: (M, D) float32, L2-normalised; they get ids N .. N+M-1.
        block: new rows per product block.

    Returns:
        idx (N+M, k) int64, dist (N+M, k) float32, and changed (C,) int64 sorted ids of old
        points whose lists changed (the new ids are not included; they are all new).
    """
    x_old, x_new = _as_f32(x_old), _as_f32(x_new)
    n, m = len(x_old), len(x_new)
    k = idx_old.shape[1]
    x_all = np.concatenate([x_old, x_new])
    # The k-th distance of each old point: a new point enters its list only if strictly nearer
    # (ties keep the older, smaller id, matching `_topk_by_similarity`).
    kth = dist_old[:, -1] if k else np.full(n, -np.inf, np.float32)
    kth_sim = (1.0 - kth.astype(np.float64) / 2.0).astype(np.float32)
    new_i = np.empty((m, min(k, n + m - 1)), np.int64)
    new_d = np.empty_like(new_i, dtype=np.float32)
    pair_old, pair_new, pair_d = [], [], []
    for s in range(0, m, block):
        e = min(m, s + block)
        sim = x_new[s:e] @ x_all.T
        sim[np.arange(e - s), n + np.arange(s, e)] = -np.inf
        new_i[s:e], new_d[s:e] = _topk_by_similarity(sim, new_i.shape[1])
        # d < kth  <=>  sim > 1 - kth / 2 on unit vectors.
        r, c = np.nonzero(sim[:, :n] > kth_sim[None, :])
        pair_old.append(c)
        pair_new.append(n + s + r)
        pair_d.append(np.maximum(2.0 - 2.0 * sim[r, c], 0.0).astype(np.float32))
    po, pn, pd = (np.concatenate(a) for a in (pair_old, pair_new, pair_d))
    idx, dist = np.vstack([idx_old.astype(np.int64), new_i]), np.vstack([dist_old.astype(np.float32), new_d])
    if len(po):
        changed, inv, counts = np.unique(po, return_inverse=True, return_counts=True)
        # Scatter candidates into a (C, max_count) padded table, then merge row-wise.
        order = np.argsort(inv, kind="stable")
        slot = np.arange(len(po)) - np.repeat(np.cumsum(counts) - counts, counts)
        ci = np.full((len(changed), counts.max()), -1, np.int64)
        cd = np.full((len(changed), counts.max()), np.inf, np.float32)
        ci[inv[order], slot] = pn[order]
        cd[inv[order], slot] = pd[order]
        idx[changed], dist[changed] = merge_neighbours(idx[changed], dist[changed], ci, cd)
    else:
        changed = np.empty(0, np.int64)
    return idx, dist, changed.astype(np.int64)


#: Neighbour rank whose distance measures how crowded the library is (see `crowding_scale`).
CROWDING_K = 50


def sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared L2 distances between unit rows (2 - 2 cos, never below 0)."""
    return np.maximum(2.0 - 2.0 * (a @ b.T), 0.0)


def crowding_scale(x: np.ndarray, k: int = CROWDING_K, *, sample: int = 1000, seed: int = 0) -> float:
    """Median squared-L2 distance from a face to its k-th nearest neighbour.

    A face's 50th neighbour is almost always someone else, so this is how close strangers come
    in this library: about 1.16 on lfw (thousands of people), 1.6 on a few hundred photos of
    20 people, 1.96 on 118 photos of 5. Clustering thresholds are multiples of it, because the
    more people a library holds, the more often a close pair of faces is a coincidence.

    Args:
        x: (N, D) float32 unit rows.
        k: the neighbour rank (clipped to N - 1).
        sample: at most this many faces are measured (a fixed-seed sample, so runs agree).
        seed: the sample's seed.

    Returns:
        The median distance, or 2.0 (orthogonal faces) when there are fewer than 2 faces.
    """
    n = len(x)
    k = min(int(k), n - 1)
    if k < 1:
        return 2.0
    rows = np.arange(n) if n <= sample else np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    _, dist = knn_query(x, x[rows], k, query_ids=rows)
    return float(np.median(dist[:, k - 1]))
