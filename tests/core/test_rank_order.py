"""Rank-order clustering and k-NN: exactness against brute force and hand-computed distances."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.core.albums import knn as knn_mod
from photoface.core.albums import rank_order as ro


def _blobs(n_id: int, per_id: int, dim: int = 64, sigma: float = 0.02, seed: int = 0):
    """Well-separated unit-vector clusters: (x (N, dim) float32, y (N,) int64)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((n_id, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    y = np.repeat(np.arange(n_id), per_id)
    x = c[y] + sigma * rng.standard_normal((len(y), dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    perm = rng.permutation(len(y))
    return x[perm], y[perm]


def _brute(x, k):
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1).astype(np.float64)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(d, order, 1)


def _same_partition(a, b):
    """True when two label vectors define the same partition."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_knn_exact_matches_brute_force():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    idx, dist = knn_mod.knn(x, 10)
    bi, bd = _brute(x, 10)
    assert idx.dtype == np.int64 and dist.dtype == np.float32 and idx.shape == (500, 10)
    np.testing.assert_array_equal(idx, bi)
    np.testing.assert_allclose(dist, bd, atol=1e-5)
    assert (idx != np.arange(500)[:, None]).all()
    # Small blocks take the same path to the same answer.
    i2, _ = knn_mod.knn_exact(x, 10, block=7)
    np.testing.assert_array_equal(i2, idx)


def test_knn_clips_k_to_n_minus_one():
    x = np.eye(4, dtype=np.float32)
    idx, dist = knn_mod.knn(x, 10)
    assert idx.shape == (4, 3)
    np.testing.assert_allclose(dist, 2.0, atol=1e-6)


def test_knn_hnsw_recall():
    x, _ = _blobs(30, 20, dim=64, sigma=0.05, seed=2)
    idx, dist = knn_mod.knn(x, 10, exact_max_points=100)  # force the faiss path
    bi, _ = _brute(x, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx.tolist(), bi.tolist())])
    assert recall >= 0.95
    assert (idx != np.arange(len(x))[:, None]).all()
    assert (np.diff(dist, axis=1) >= -1e-6).all()


def test_add_points_equals_recomputation():
    x, _ = _blobs(30, 10, dim=32, sigma=0.05, seed=3)
    old, new = x[:270], x[270:]
    i_old, d_old = knn_mod.knn(old, 8)
    idx, dist, changed = knn_mod.add_points(old, i_old, d_old, new)
    ri, rd = knn_mod.knn(x, 8)
    np.testing.assert_array_equal(idx, ri)
    np.testing.assert_allclose(dist, rd, atol=1e-5)
    truly_changed = np.flatnonzero((ri[:270] != i_old).any(axis=1))
    np.testing.assert_array_equal(changed, truly_changed)
    qi, _ = knn_mod.knn_query(x, new, 8, query_ids=np.arange(270, 300))
    np.testing.assert_array_equal(qi, ri[270:])


def test_merge_neighbours_dedupes_and_keeps_best():
    idx = np.array([[5, 7, 9]])
    dist = np.array([[0.1, 0.5, 0.9]], np.float32)
    ci = np.array([[7, 3, -1]])
    cd = np.array([[0.5, 0.2, np.inf]], np.float32)
    mi, md = knn_mod.merge_neighbours(idx, dist, ci, cd)
    np.testing.assert_array_equal(mi, [[5, 3, 7]])
    np.testing.assert_allclose(md, [[0.1, 0.2, 0.5]])


# A hand example with k = 3. Lists include self at rank 0:
#   L0 = [0, 1, 2, 3], L1 = [1, 0, 4, 2], L2 = [2, 5, 6, 7] (0 is not in L2).
_HAND_IDX = np.array([
    [1, 2, 3],
    [0, 4, 2],
    [5, 6, 7],
    [0, 1, 2],
    [1, 0, 2],
    [2, 6, 7],
    [2, 5, 7],
    [2, 5, 6],
])
_HAND_DIST = np.tile(np.array([0.1, 0.2, 0.3], np.float32), (8, 1))


def _edge_d(variant, a, b):
    e, d, _ = ro.rank_order_edges(_HAND_IDX, _HAND_DIST, np.inf, variant)
    hit = np.flatnonzero((e[:, 0] == min(a, b)) & (e[:, 1] == max(a, b)))
    assert len(hit) == 1
    return float(d[hit[0]])


def test_approx_distance_hand_example():
    # (0, 1): O_0(1) = 1, O_1(0) = 1. d(0,1) = [0 not in L1] = 0; d(1,0) = [1 not in L0] = 0.
    assert _edge_d("approx", 0, 1) == 0.0
    # (0, 2): O_0(2) = 2, O_2(0) = k+1 = 4.
    # d(0,2) = [0 not in L2] + [1 not in L2] = 2
    # d(2,0) = over all of L2 = [2,5,6,7]: 5, 6, 7 not in L0 -> 3
    # D = (2 + 3) / min(2, 4) = 2.5
    assert _edge_d("approx", 0, 2) == pytest.approx(2.5)


def test_zhu_distance_hand_example():
    # (0, 1): d(0,1) = O_1(0) + O_1(1) = 1 + 0; d(1,0) = O_0(1) + O_0(0) = 1 + 0; D = 2 / 1.
    assert _edge_d("zhu", 0, 1) == pytest.approx(2.0)
    # (0, 2): d(0,2) = O_2(0) + O_2(1) + O_2(2) = 4 + 4 + 0 = 8
    # d(2,0) = O_0(2) + O_0(5) + O_0(6) + O_0(7) = 2 + 4 + 4 + 4 = 14; D = 22 / 2 = 11.
    assert _edge_d("zhu", 0, 2) == pytest.approx(11.0)


def test_edges_are_unique_sorted_and_filtered():
    e, d, p = ro.rank_order_edges(_HAND_IDX, _HAND_DIST, 1.0, "approx")
    assert (e[:, 0] < e[:, 1]).all()
    assert len({tuple(r) for r in e.tolist()}) == len(e)
    assert (d < 1.0).all()
    e2, _, p2 = ro.rank_order_edges(_HAND_IDX, _HAND_DIST, np.inf, "approx", max_dist=0.15)
    assert (p2 < 0.15).all() and len(e2) > 0
    em, _, _ = ro.rank_order_edges(_HAND_IDX, _HAND_DIST, np.inf, "approx", mutual=True)
    for a, b in em.tolist():
        assert b in _HAND_IDX[a] and a in _HAND_IDX[b]


def test_rows_restricts_to_touched_pairs():
    full, fd, _ = ro.rank_order_edges(_HAND_IDX, _HAND_DIST, np.inf, "approx")
    part, pdd, _ = ro.rank_order_edges(_HAND_IDX, _HAND_DIST, np.inf, "approx", rows=[4])
    expect = [(i, r.tolist(), float(dd)) for i, (r, dd) in enumerate(zip(full, fd)) if 4 in r]
    assert [(r.tolist(), float(dd)) for r, dd in zip(part, pdd)] == [(r, dd) for _, r, dd in expect]


@pytest.mark.parametrize("variant,threshold", [("approx", ro.DEFAULT_THRESHOLD["approx"]),
                                               ("zhu", ro.DEFAULT_THRESHOLD["zhu"])])
def test_recovers_separated_clusters(variant, threshold):
    # Clusters no bigger than k: Zhu's truncated ranks need a cluster's members in each list.
    x, y = _blobs(15, 9, seed=4)
    labels = ro.rank_order_clusters(x, k=10, threshold=threshold, variant=variant, max_dist=1.0)
    assert labels.dtype == np.int64
    assert _same_partition(labels, y)
    labels2 = ro.rank_order_clusters(x, k=10, threshold=threshold, variant=variant, max_dist=1.0)
    np.testing.assert_array_equal(labels, labels2)


def test_canonical_labels_order():
    lab = ro.canonical_labels(np.array([7, 3, 3, -1, 7, 9, 3]))
    np.testing.assert_array_equal(lab, [1, 0, 0, -1, 1, 2, 0])


def test_min_cluster_size_and_centre_merge():
    x, y = _blobs(3, 6, seed=5)
    # Split every identity in two halves, then let the centre merge rejoin them.
    halves = y * 2 + (np.arange(len(y)) % 2)
    merged = ro.merge_close_centres(x, halves, max_dist=0.2)
    assert _same_partition(merged, y)
    lab = ro.min_cluster_size(np.array([0, 0, 0, 1, 2, 2]), 2)
    np.testing.assert_array_equal(lab, [0, 0, 0, -1, 1, 1])


def test_empty_input():
    assert ro.rank_order_clusters(np.zeros((0, 8), np.float32)).shape == (0,)
    assert ro.rank_order_clusters(np.ones((1, 8), np.float32) / np.sqrt(8)).tolist() == [0]
