"""Clustering and verification quality metrics (benchmarks, fine-tuning validation).

Clustering metrics compare identity labels with predicted album labels. Predicted labels < 0
("unsorted") are treated as one singleton each (see `unsorted_as_singletons`), never as one big
album. All clustering metrics run in O(N) memory via a contingency table.

Verification metrics use squared L2 distances between L2-normalised embeddings over all pairs
(blocked products, no N x N matrix beyond one block).
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.stats import rankdata

log = logging.getLogger(__name__)


def unsorted_as_singletons(labels_pred: np.ndarray) -> np.ndarray:
    """Give each negative ("unsorted") label a fresh unique label.

    Args:
        labels_pred: (N,) int labels, -1 for unsorted.

    Returns:
        (N,) int64 labels without negatives; unsorted faces get max+1, max+2, ...
    """
    labels = np.asarray(labels_pred, dtype=np.int64).copy()
    neg = labels < 0
    start = labels.max() + 1 if (~neg).any() else 0
    labels[neg] = start + np.arange(neg.sum())
    return labels


def _contingency(labels_true: np.ndarray, labels_pred: np.ndarray):
    """Non-empty cells of the identity x album table.

    Returns:
        t (M,) identity index, p (M,) album index, n (M,) int64 cell counts,
        and the per-identity and per-album totals (int64 arrays).
    """
    lt = np.asarray(labels_true)
    lp = unsorted_as_singletons(labels_pred)
    if lt.shape != lp.shape or lt.ndim != 1:
        raise ValueError(f"labels must be 1-d and equal length, got {lt.shape} and {lp.shape}")
    _, ti = np.unique(lt, return_inverse=True)
    _, pi = np.unique(lp, return_inverse=True)
    ti, pi = ti.ravel().astype(np.int64), pi.ravel().astype(np.int64)
    cells, counts = np.unique(np.stack([ti, pi], axis=1), axis=0, return_counts=True)
    return cells[:, 0], cells[:, 1], counts.astype(np.int64), np.bincount(ti), np.bincount(pi)


def _f(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def pairwise_prf(labels_true: np.ndarray, labels_pred: np.ndarray) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 over all same-album / same-identity face pairs.

    Precision is 1.0 when no pair is predicted together (nothing wrong was claimed), recall
    1.0 when no two faces share an identity.

    Args:
        labels_true: (N,) identity labels.
        labels_pred: (N,) predicted album labels; negatives are unsorted singletons.

    Returns:
        (precision, recall, f1) floats in [0, 1].
    """
    if len(labels_true) == 0:
        return 1.0, 1.0, 1.0
    _, _, n, tot_t, tot_p = _contingency(labels_true, labels_pred)
    tp = float((n * (n - 1) // 2).sum())
    pred_pairs = float((tot_p * (tot_p - 1) // 2).sum())
    true_pairs = float((tot_t * (tot_t - 1) // 2).sum())
    p = tp / pred_pairs if pred_pairs else 1.0
    r = tp / true_pairs if true_pairs else 1.0
    return p, r, _f(p, r)


def bcubed_prf(labels_true: np.ndarray, labels_pred: np.ndarray) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 (Bagga & Baldwin), averaged over faces.

    Per face: precision = |its album ∩ its identity| / |its album|, recall = the same over
    |its identity|.

    Returns:
        (precision, recall, f1) floats in [0, 1].
    """
    if len(labels_true) == 0:
        return 1.0, 1.0, 1.0
    t, p, n, tot_t, tot_p = _contingency(labels_true, labels_pred)
    total = n.sum()
    prec = float((n * n / tot_p[p]).sum() / total)
    rec = float((n * n / tot_t[t]).sum() / total)
    return prec, rec, _f(prec, rec)


def ops_to_clean(labels_true: np.ndarray, labels_pred: np.ndarray) -> int:
    """Number of user actions to turn the predicted albums into one album per identity.

    As the product defines it (the Person albums issue): for every album, one action per identity
    other than its majority identity (moving that set out), plus, for every identity, the number
    of albums it is spread over minus one (merges). Unsorted faces are singleton albums. So a
    face of B inside A's album, while B has an album of its own, costs a move and a merge (2).

    Args:
        labels_true: (N,) identity labels.
        labels_pred: (N,) predicted album labels; negatives are unsorted singletons.

    Returns:
        moves + merges, an int >= 0.
    """
    if len(labels_true) == 0:
        return 0
    t, p, n, tot_t, tot_p = _contingency(labels_true, labels_pred)
    moves = len(t) - len(tot_p)   # (album, identity) cells that are not the album's majority
    merges = len(t) - len(tot_t)  # sum over identities of (albums it is in - 1)
    return int(moves + merges)


def album_stats(labels_pred: np.ndarray) -> dict[str, float]:
    """Summary of a clustering for reports.

    Returns:
        dict with n_faces, n_albums (clusters of size >= 2), faces_in_albums, n_singletons
        (clusters of size 1), n_unsorted (label < 0), largest_album, mean_album_size.
    """
    labels = np.asarray(labels_pred, dtype=np.int64)
    ok = labels >= 0
    sizes = np.unique(labels[ok], return_counts=True)[1] if ok.any() else np.zeros(0, np.int64)
    albums = sizes[sizes >= 2]
    return {
        "n_faces": int(len(labels)),
        "n_albums": int(len(albums)),
        "faces_in_albums": int(albums.sum()),
        "n_singletons": int((sizes == 1).sum()),
        "n_unsorted": int((~ok).sum()),
        "largest_album": int(albums.max()) if len(albums) else 0,
        "mean_album_size": float(albums.mean()) if len(albums) else 0.0,
    }


def pair_distances(embeddings: np.ndarray, labels: np.ndarray, *, max_points: int = 5000,
                   seed: int = 0, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Squared L2 distances of all same-identity and different-identity pairs.

    Args:
        embeddings: (N, D) float32, L2-normalised.
        labels: (N,) identity labels.
        max_points: above this, a seeded random subset of this many points is used (all pairs
            of 5000 points are 12.5M distances, ~50 MB).
        seed: seed of that subset.
        block: rows per product block.

    Returns:
        d_same (S,) float32, d_diff (T,) float32.
    """
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    y = np.asarray(labels)
    if len(x) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(x), max_points, replace=False))
        log.info("pair_distances: using %d of %d points", max_points, len(x))
        x, y = x[keep], y[keep]
    same, diff = [], []
    for s in range(0, len(x), block):
        e = min(len(x), s + block)
        d = np.maximum(2.0 - 2.0 * (x[s:e] @ x[s:].T), 0.0, dtype=np.float32)
        upper = np.arange(s, len(x))[None, :] > np.arange(s, e)[:, None]  # pairs i < j only
        eq = y[s:e, None] == y[None, s:]
        same.append(d[upper & eq])
        diff.append(d[upper & ~eq])
    cat = lambda parts: np.concatenate(parts) if parts else np.empty(0, np.float32)  # noqa: E731
    return cat(same), cat(diff)


def roc_auc_same_vs_different(embeddings: np.ndarray, labels: np.ndarray, *,
                              max_points: int = 5000, seed: int = 0) -> float:
    """ROC AUC of "same identity" scored by smaller distance, over all pairs.

    The Mann–Whitney form: the probability that a random same-identity pair is closer than a
    random different-identity pair, ties counting one half.

    Args:
        embeddings: (N, D) float32, L2-normalised.
        labels: (N,) identity labels.
        max_points: see `pair_distances`.
        seed: see `pair_distances`.

    Returns:
        AUC in [0, 1]; nan if either kind of pair is missing.
    """
    d_same, d_diff = pair_distances(embeddings, labels, max_points=max_points, seed=seed)
    ns, nd = len(d_same), len(d_diff)
    if ns == 0 or nd == 0:
        return float("nan")
    # Rank by decreasing distance so that a same pair outranks a different pair when closer.
    ranks = rankdata(-np.concatenate([d_same, d_diff]).astype(np.float64))
    r_same = ranks[:ns].sum()
    return float((r_same - ns * (ns + 1) / 2) / (ns * nd))


def tar_at_far(embeddings: np.ndarray, labels: np.ndarray, far: float = 1e-3, *,
               max_points: int = 5000, seed: int = 0) -> tuple[float, float]:
    """True-accept rate at a false-accept rate, over all pairs.

    The threshold is the largest squared L2 distance t such that at most `far` of the
    different-identity pairs have distance < t; TAR is the fraction of same-identity pairs with
    distance < t.

    Args:
        embeddings: (N, D) float32, L2-normalised.
        labels: (N,) identity labels.
        far: allowed false-accept rate (default 1e-3).
        max_points: see `pair_distances`.
        seed: see `pair_distances`.

    Returns:
        (tar, threshold): tar in [0, 1] (nan without same pairs), threshold in squared L2.
    """
    d_same, d_diff = pair_distances(embeddings, labels, max_points=max_points, seed=seed)
    if len(d_diff) == 0:
        return (float("nan") if len(d_same) == 0 else 1.0), float("inf")
    d_diff = np.sort(d_diff)
    allowed = int(np.floor(far * len(d_diff)))
    thr = float(d_diff[allowed]) if allowed < len(d_diff) else float("inf")
    tar = float((d_same < thr).mean()) if len(d_same) else float("nan")
    return tar, thr
