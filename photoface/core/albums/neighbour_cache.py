"""Neighbour lists of a library's good faces, cached in its folder and updated incrementally.

Neighbour lists do not depend on decisions, only on the faces and their embeddings of one model
version: a run keeps them in `cache/knn-<tag>.npz` with the scale they were measured at
(same_person.library_scale), adds new faces to them (core/albums/knn.py `add_points`) and closes
the holes faces that left (deleted photos, "not a face") leave. They are rebuilt when the cache
is missing or damaged, or too much of the library changed since.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from photoface.core.albums import knn as knn_mod
from photoface.core.albums import same_person
from photoface.core.library.store import Library

log = logging.getLogger(__name__)

#: An incremental run measures the scale again once the library has this many times the
#: faces it had when the scale was measured (or fewer than RESCALE_BELOW times as many).
RESCALE_ABOVE = 1.25
RESCALE_BELOW = 0.8
#: Marks caches whose scale is same_person.library_scale (older ones hold the crowding scale alone).
SCALE_KIND = "scale_with_mixture"


def cache_path(library: Library, model: str, k: int) -> Path:
    """The cache file of one model version's neighbour lists of length `k`."""
    tag = hashlib.sha1(f"{model}|{k}".encode()).hexdigest()[:12]
    return library.root / "cache" / f"knn-{tag}.npz"


def neighbours(library: Library, model: str, ids: np.ndarray, x: np.ndarray, k: int,
               rescale: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Neighbour lists of `x` (rows of `ids`) and the library's scale, cached together.

    The scale is measured again when the lists are rebuilt, `rescale` is set (a full run) or the
    library has grown or shrunk by a quarter since it was measured; other incremental runs keep
    the cached one, so their thresholds do not drift face by face, yet a slowly growing library
    does not keep the scale of its first run for ever.

    Returns:
        idx rows, dist, rows whose list is new or changed, scale (same_person.library_scale).
    """
    n = len(ids)
    path = cache_path(library, model, k)
    cached, scale, scale_n = None, None, n
    if path.exists():
        try:
            with np.load(path) as z:
                cached = (z["ids"], z["idx"], z["dist"])
                # Caches before scale_n, or before the scale read the mixture: measure once more.
                if "scale_n" in z.files and SCALE_KIND in z.files and not rescale:
                    scale, scale_n = float(z["scale"]), int(z["scale_n"])
        except (OSError, ValueError, KeyError):
            log.warning("neighbour cache %s is damaged; rebuilding it", path)
    if cached is not None:
        c_ids, c_idx, c_dist = cached
        old_rows = _positions(ids, c_ids)
        keep = old_rows >= 0
        n_new = n - int(keep.sum())
    # Lists of no column (a library of one face) are rebuilt too: there is nothing to update.
    if cached is None or c_idx.shape[1] != min(k, max(n - 1, 0)) or c_idx.shape[1] == 0 \
            or n_new > max(0.5 * n, 2000) or (len(c_ids) - keep.sum()) > 0.2 * max(len(c_ids), 1):
        idx, dist = knn_mod.knn(x, k)
        changed = np.arange(n)
        scale = None  # a new library, or a much changed one: measure it again
    else:
        # Old faces first (cache order), then the new ones; lists hold row numbers of that order.
        old_pos = old_rows[keep]
        idx_old = _positions(c_ids[keep], c_idx[keep].ravel()).reshape(-1, c_idx.shape[1])
        dist_old = np.where(idx_old >= 0, c_dist[keep], np.inf).astype(np.float32)
        # Faces that left (deleted photos, "not a face") leave holes: close them by re-sorting.
        idx_old, dist_old = knn_mod.merge_neighbours(idx_old, dist_old, np.full((len(idx_old), 1), -1),
                                                     np.full((len(idx_old), 1), np.inf, np.float32))
        new_mask = np.ones(n, bool)
        new_mask[old_pos] = False
        new_pos = np.flatnonzero(new_mask)
        order = np.concatenate([old_pos, new_pos])  # order[j] = row in `ids` of list position j
        if len(new_pos):
            idx_o, dist_o, changed_o = knn_mod.add_points(x[old_pos], idx_old, dist_old, x[new_pos])
            changed_o = np.concatenate([changed_o, np.arange(len(old_pos), n)])
        else:
            idx_o, dist_o, changed_o = idx_old, dist_old, np.zeros(0, np.int64)
        idx = np.where(idx_o >= 0, order[np.maximum(idx_o, 0)], -1)
        dist = dist_o
        inv = np.empty(n, np.int64)
        inv[order] = np.arange(n)
        idx, dist = idx[inv], dist[inv]
        changed = order[changed_o]
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    c_idx_ids = np.where(idx >= 0, ids[np.maximum(idx, 0)], -1)
    if scale is None or not RESCALE_BELOW * scale_n < n < RESCALE_ABOVE * scale_n:
        scale, scale_n = same_person.library_scale(x, dist), n
    np.savez(tmp, ids=ids, idx=c_idx_ids, dist=dist, scale=np.float64(scale), scale_n=np.int64(scale_n),
             **{SCALE_KIND: np.int64(1)})
    tmp.replace(path)  # atomic: a crash leaves the old cache or the new one
    return idx, dist, np.asarray(changed, np.int64), scale


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index in `ids` of each of `wanted`, -1 where absent (vectorised: caches hold millions)."""
    if len(ids) == 0:
        return np.full(len(wanted), -1, np.int64)
    order = np.argsort(ids, kind="stable")
    pos = order[np.minimum(np.searchsorted(ids, wanted, sorter=order), len(ids) - 1)]
    return np.where(ids[pos] == wanted, pos, -1).astype(np.int64)


def forget(library: Library, model: str, k: int) -> bool:
    """Deletes the cached lists of one model version (they describe other faces, e.g. those of an
    earlier activation of that version). Returns whether there was one."""
    path = cache_path(library, model, k)
    if not path.exists():
        return False
    path.unlink()
    return True
