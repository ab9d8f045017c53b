"""Scratch benchmark of the clustering algorithms on synthetic FaceNet-like embeddings.

Synthetic data: identity centres on the 512-d sphere drawn from an anisotropic Gaussian (so
different-identity squared L2 spreads over roughly 1.6-2.2 as FaceNet's does), faces
normalise(centre + sigma * N(0, I)) with a per-identity sigma (same-identity squared L2 about
0.3-0.9), identity sizes power-law with many singletons, like LFW.

Usage:
    python benchmarks/cluster_algos.py [--sizes 10000 100000] [--sweep] [--threads 2]

Prints one JSON line per measurement, then a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc


def _set_threads(n: int) -> None:
    # Must happen before numpy/faiss load their thread pools.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


if __name__ == "__main__":
    _pre = argparse.ArgumentParser(add_help=False)
    _pre.add_argument("--threads", type=int, default=2)
    _set_threads(_pre.parse_known_args()[0].threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from photoface.core.albums import knn as knn_mod  # noqa: E402
from photoface.core.learning import metrics
from photoface.core.albums import rank_order  # noqa: E402

DIM = 512


def identity_sizes(n_points: int, rng: np.random.Generator, alpha: float = 2.3,
                   max_size: int = 300) -> np.ndarray:
    """Power-law identity sizes summing to n_points (LFW: ~70% of identities have 1 photo)."""
    s = np.arange(1, max_size + 1)
    p = s ** -alpha
    p /= p.sum()
    sizes = rng.choice(s, size=int(n_points / (p * s).sum() * 1.2) + 10, p=p)
    sizes = sizes[np.cumsum(sizes) <= n_points]
    rest = n_points - sizes.sum()
    return np.concatenate([sizes, [rest]]) if rest else sizes


def make_data(n_points: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x (N,512) float32 unit rows, y (N,) int64 identity), shuffled.

    Harder than isotropic blobs, to resemble real embeddings: a fifth of the identities are
    "look-alikes" placed near another identity's centre, and each face has its own noise level
    (lognormal), so some faces (profile, blur) sit far from their identity.
    """
    rng = np.random.default_rng(seed)
    sizes = identity_sizes(n_points, rng)
    n_id = len(sizes)
    # Anisotropic centres: variances decay with dimension, so cosines between identities
    # spread wider than for isotropic vectors (effective dimension ~100).
    scale = ((np.arange(DIM) + 10.0) ** -0.5).astype(np.float32)
    c = rng.standard_normal((n_id, DIM)).astype(np.float32) * scale
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    look = rng.random(n_id) < 0.2
    other = rng.integers(0, n_id, n_id)
    c[look] = c[other[look]] + rng.uniform(1.2, 2.0, (look.sum(), 1)).astype(np.float32) * c[look]
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    y = np.repeat(np.arange(n_id), sizes)
    # Same-identity squared L2 ≈ 1024 s^2 / (1 + 512 s^2) for noise level s.
    sig = rng.uniform(0.022, 0.034, n_id).astype(np.float32)[y]
    sig *= np.exp(rng.normal(0.0, 0.25, n_points)).astype(np.float32)
    x = c[y] + sig[:, None] * rng.standard_normal((n_points, DIM), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    perm = rng.permutation(n_points)
    return np.ascontiguousarray(x[perm]), y[perm].astype(np.int64)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(rows: list[dict], **kw) -> None:
    kw = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in kw.items()}
    rows.append(kw)
    print(json.dumps(kw), flush=True)


def timed(fn, *a, **kw):
    tracemalloc.start()
    t = time.perf_counter()
    out = fn(*a, **kw)
    sec = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, sec, peak


def data_stats(x, y, rows):
    d_same, d_diff = metrics.pair_distances(x, y, max_points=3000)
    emit(rows, step="data", n=len(x), identities=int(len(np.unique(y))),
         singleton_ids=int((np.bincount(y) == 1).sum()),
         same_q05=float(np.quantile(d_same, .05)), same_med=float(np.median(d_same)),
         same_q95=float(np.quantile(d_same, .95)), diff_q01=float(np.quantile(d_diff, .01)),
         diff_med=float(np.median(d_diff)), diff_q99=float(np.quantile(d_diff, .99)),
         auc=metrics.roc_auc_same_vs_different(x, y, max_points=3000),
         tar_far1e3=metrics.tar_at_far(x, y, 1e-3, max_points=3000)[0])


def evaluate(y, labels) -> dict:
    p, r, f = metrics.pairwise_prf(y, labels)
    bp, br, bf = metrics.bcubed_prf(y, labels)
    st = metrics.album_stats(labels)
    return dict(pair_p=p, pair_r=r, pair_f=f, bcubed_f=bf, ops=metrics.ops_to_clean(y, labels),
                albums=st["n_albums"], singletons=st["n_singletons"])


def sweep(x, y, idx, dist, rows):
    grid = [("approx", th, md) for th in (0.5, 0.9, 1.5, 3.0) for md in (None, 0.9, 1.0, 1.1)]
    grid += [("zhu", th, md) for th in (9.0, 20.0, 30.0, 45.0) for md in (None, 1.0)]
    for variant, th, md in grid:
        e, _, _ = rank_order.rank_order_edges(idx, dist, th, variant, max_dist=md)
        lab = rank_order.connected_labels(len(x), e)
        emit(rows, step="sweep", n=len(x), variant=variant, threshold=th, max_dist=md,
             **evaluate(y, lab))
    # Baseline: plain distance threshold on the k-NN graph.
    for md in (0.9, 1.0, 1.1):
        a, j = np.nonzero(dist < md)
        lab = rank_order.connected_labels(len(x), np.stack([a, idx[a, j]], 1))
        emit(rows, step="sweep", n=len(x), variant="dist_only", threshold=None, max_dist=md,
             **evaluate(y, lab))


def run(n, args, rows):
    x, y = make_data(n, seed=args.seed)
    if args.stats:
        data_stats(x, y, rows)
    big = n >= 50_000
    # Big libraries: build the lists of all but the last 500 faces, then add those 500
    # incrementally (as a scan would), and cluster all n from the resulting lists.
    n0 = n - 500 if big else n
    c0 = time.process_time()
    (idx, dist), t_knn, m_knn = timed(knn_mod.knn, x[:n0], args.k)
    emit(rows, step="knn", n=n0, k=args.k, seconds=t_knn, cpu_seconds=time.process_time() - c0,
         tracemalloc_peak_mb=m_knn, ru_maxrss_mb=rss_mb(),
         method="exact" if n0 <= knn_mod.EXACT_MAX_POINTS else "hnsw")
    if n0 > knn_mod.EXACT_MAX_POINTS and args.recall:
        sub = np.random.default_rng(1).choice(n0, 1000, replace=False)
        ei, ed = knn_mod.knn_query(x[:n0], x[sub], args.k, query_ids=sub)
        rec = np.mean([len(set(ei[r]) & set(idx[s])) / args.k for r, s in enumerate(sub)])
        close = [(set(ei[r][ed[r] < 1.0]), set(idx[s])) for r, s in enumerate(sub)]
        rec_close = sum(len(a & b) for a, b in close) / max(1, sum(len(a) for a, _ in close))
        emit(rows, step="knn_recall", n=n0, k=args.k, recall=float(rec), recall_below_1=rec_close)
    if big:
        idx, dist = add_500(x, y, idx, dist, args, rows)
    if args.sweep:
        sweep(x, y, idx, dist, rows)
    th = args.threshold
    for variant in ("approx", "zhu"):
        thr = th if th is not None else rank_order.DEFAULT_THRESHOLD[variant]
        (e, _, _), t_e, m_e = timed(rank_order.rank_order_edges, idx, dist, thr, variant,
                                    max_dist=args.max_dist)
        lab, t_c, m_c = timed(rank_order.connected_labels, n, e)
        emit(rows, step="cluster", n=n, variant=variant, threshold=thr, max_dist=args.max_dist,
             seconds_edges=t_e, seconds_components=t_c, seconds_total=t_knn + t_e + t_c,
             tracemalloc_peak_mb=max(m_knn, m_e, m_c), ru_maxrss_mb=rss_mb(), edges=len(e),
             **evaluate(y, lab))
        if args.refine:
            lab2, t_m, _ = timed(rank_order.merge_close_centres, x, lab, args.centre_dist)
            emit(rows, step="centre_merge", n=n, variant=variant, centre_dist=args.centre_dist,
                 seconds=t_m, **evaluate(y, lab2))


def add_500(x, y, old_i, old_d, args, rows):
    """Add the last 500 faces to the library of the others; returns the lists of all n."""
    n0 = len(old_i)
    thr = args.threshold if args.threshold is not None else rank_order.DEFAULT_THRESHOLD["approx"]
    t = time.perf_counter()
    (ni, nd, changed), t_add, m_add = timed(knn_mod.add_points, x[:n0], old_i, old_d, x[n0:])
    touched = np.concatenate([changed, np.arange(n0, len(x))])
    (e_part, _, _), t_part, _ = timed(rank_order.rank_order_edges, ni, nd, thr, "approx",
                                      max_dist=args.max_dist, rows=touched)
    t1 = time.perf_counter()
    e_full, _, _ = rank_order.rank_order_edges(ni, nd, thr, "approx", max_dist=args.max_dist)
    lab = rank_order.connected_labels(len(x), e_full)
    t_full = time.perf_counter() - t1
    emit(rows, step="add_500", n_library=n0, seconds_knn_update=t_add, tracemalloc_peak_mb=m_add,
         changed_old_lists=len(changed), seconds_edges_touched=t_part, edges_touched=len(e_part),
         seconds_full_edges_and_components=t_full, seconds_total=time.perf_counter() - t,
         ru_maxrss_mb=rss_mb(), **evaluate(y, lab))
    return ni, nd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--k", type=int, default=rank_order.DEFAULT_K)
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--max-dist", type=float, default=rank_order.DEFAULT_MAX_DIST)
    ap.add_argument("--centre-dist", type=float, default=0.5)
    ap.add_argument("--refine", action="store_true")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--stats", action="store_true")
    ap.add_argument("--recall", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    rows: list[dict] = []
    for n in args.sizes:
        run(n, args, rows)
    print()
    keys = ["step", "n", "variant", "threshold", "max_dist", "seconds", "seconds_total",
            "ru_maxrss_mb", "pair_p", "pair_r", "pair_f", "bcubed_f", "ops"]
    print(" | ".join(keys))
    for r in rows:
        if r["step"] != "sweep":
            print(" | ".join(str(r.get(k, "")) for k in keys))


if __name__ == "__main__":
    main()
