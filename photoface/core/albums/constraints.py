"""Cannot-link constraints for clustering: never join two different confirmed persons.

Each face may carry an *anchor*, the id of a confirmed person it belongs to (or -1). Edges are
added in increasing distance order (Kruskal-style union-find) and an edge is refused when it
would put two different anchors in one component. This is how "no clustering run may put two
confirmed persons together" is enforced; must-links are the caller's business (edges between
faces of the same person, marked in `must_link` so that the distance rules below never refuse them).

Optionally a join is also refused when the two groups are, on average, too far apart: the mean
squared L2 distance over every pair across them (average linkage, exact from the groups' sums of
unit vectors: ``2 - 2 * S_a . S_b / (n_a n_b)``). Single edges chain strangers into one album on
large libraries; the average over all pairs does not let one close pair speak for two groups.
And two groups of at least `CENTRE_MIN_SIZE` faces join only when their mean vectors are close:
two look-alikes' albums can be near on average, yet each is tighter around its own centre.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from photoface.core.albums.rank_order import canonical_labels, connected_labels

#: Groups smaller than this are not compared by their centres: a mean of a few faces is noise.
CENTRE_MIN_SIZE = 5


def anchors_from_groups(n: int, groups: Iterable[Iterable[int]]) -> np.ndarray:
    """Anchors from "different person" groups: members of group g get anchor g.

    Args:
        n: number of nodes.
        groups: sets of node indices; nodes of different groups must not be joined.

    Returns:
        (n,) int64 anchors, -1 for nodes in no group.

    Raises:
        ValueError: a node is in two groups.
    """
    anchors = np.full(n, -1, np.int64)
    for g, members in enumerate(groups):
        m = np.fromiter(members, dtype=np.int64)
        if (anchors[m] >= 0).any():
            raise ValueError(f"node(s) {m[anchors[m] >= 0].tolist()} are in more than one group")
        anchors[m] = g
    return anchors


def components_with_cannot_link(n: int, edges: np.ndarray, weights: np.ndarray,
                                anchors: np.ndarray | None = None, *, x: np.ndarray | None = None,
                                max_mean_dist: float | None = None,
                                max_centre_dist: float | None = None,
                                must_link: np.ndarray | None = None,
                                apart: np.ndarray | None = None) -> np.ndarray:
    """Connected components that never join two different anchors.

    Args:
        n: number of nodes.
        edges: (E, 2) int node pairs (direction irrelevant).
        weights: (E,) distances; smaller edges are added first, ties by (min, max) node id,
            so the result does not depend on the edge order given.
        anchors: (n,) int, a person id per node or -1 (default: none, plain components).
        x: (n, D) float32 unit embeddings, needed with `max_mean_dist`.
        max_mean_dist: if given, an edge is also refused when the mean squared L2 distance
            over all pairs across the two groups it would join is this or more.
        max_centre_dist: with `max_mean_dist`: an edge joining two groups of at least
            `CENTRE_MIN_SIZE` nodes is also refused when the squared L2 distance between their
            mean vectors is this or more.
        must_link: (E,) bool, edges the distance rules never refuse (a person's own faces); give
            them weight 0 too, so they are joined first.
        apart: (n,) int, e.g. the photo each face is in: an edge that is not a must-link is also
            refused when it would put two nodes of the same value >= 0 in one component (two
            faces of one photo are two people, however alike: siblings in a family photo).

    Returns:
        (n,) int64 canonical labels (0 = largest). Two nodes with different anchors >= 0
        always get different labels.
    """
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if anchors is None and max_mean_dist is None and apart is None:
        return connected_labels(n, edges)
    shared = _shared_values(n, apart)  # node -> its value, for values held by two nodes or more
    anchors = np.full(n, -1, np.int64) if anchors is None else np.asarray(anchors, dtype=np.int64)
    if anchors.shape != (n,):
        raise ValueError(f"anchors must have shape ({n},), got {anchors.shape}")
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    free = connected_labels(n, edges)
    if max_mean_dist is not None:
        if x is None or len(x) != n:
            raise ValueError("max_mean_dist needs x with one row per node")
        bad = np.ones(free.max() + 1 if n else 0, bool)  # any join may be refused
    else:
        # Only components that would hold two different anchors need the slow exact pass;
        # elsewhere no edge can be refused, so the plain components stand.
        a_nodes = np.flatnonzero(anchors >= 0)
        pairs = np.unique(np.stack([free[a_nodes], anchors[a_nodes]], axis=1), axis=0)
        comp_ids, n_anchor = np.unique(pairs[:, 0], return_counts=True)
        bad = np.zeros(free.max() + 1 if n else 0, bool)
        bad[comp_ids[n_anchor > 1]] = True
        # ... or two nodes that must stay apart.
        if shared:
            s_nodes = np.fromiter(shared.keys(), np.int64, len(shared))
            s_vals = np.fromiter(shared.values(), np.int64, len(shared))
            uniq, count = np.unique(np.stack([free[s_nodes], s_vals], axis=1), axis=0, return_counts=True)
            bad[uniq[count > 1, 0]] = True
        if not bad.any():
            return free
    lo, hi = edges.min(axis=1), edges.max(axis=1)
    in_bad = bad[free[lo]]
    must = np.zeros(len(edges), bool) if must_link is None else np.asarray(must_link, bool).reshape(-1)
    if must.shape != (len(edges),):
        raise ValueError(f"must_link must have one flag per edge ({len(edges)}), got {must.shape}")
    lo, hi, w, must = lo[in_bad], hi[in_bad], weights[in_bad], must[in_bad]
    order = np.lexsort((hi, lo, w))

    # Plain lists: scalar access in this loop is several times faster than on numpy arrays.
    parent = list(range(n))
    anchor_of = anchors.tolist()  # anchor of each root

    def find(v: int) -> int:
        root = v
        while parent[root] != root:
            root = parent[root]
        while parent[v] != root:  # path compression
            parent[v], v = root, parent[v]
        return root

    lo_l, hi_l, must_l = lo.tolist(), hi.tolist(), must.tolist()
    held: dict[int, set[int]] = {v: {a} for v, a in shared.items()}  # root -> shared values inside
    veto = max_mean_dist is not None
    if veto:
        size = [1] * n
        sums: dict[int, np.ndarray] = {}  # root -> sum of its members' vectors (singletons: x row)
        xs = np.asarray(x, dtype=np.float32)
    for e in order.tolist():
        ra, rb = find(lo_l[e]), find(hi_l[e])
        if ra == rb:
            continue
        xa, xb = anchor_of[ra], anchor_of[rb]
        if xa >= 0 and xb >= 0 and xa != xb:
            continue  # would put two confirmed persons together
        ha, hb = held.get(ra), held.get(rb)
        if ha and hb and not must_l[e] and not ha.isdisjoint(hb):
            continue  # would put two faces of one photo in one album
        if veto:
            sa, sb = sums.get(ra, xs[ra]), sums.get(rb, xs[rb])
            if not must_l[e] and _too_far(sa, sb, size[ra], size[rb], max_mean_dist, max_centre_dist):
                continue
        if ra > rb:
            ra, rb = rb, ra
        parent[rb] = ra
        anchor_of[ra] = xa if xa >= 0 else xb
        if ha or hb:  # the smaller set into the larger: each value moves O(log n) times
            big, small = (ha, hb) if len(ha or ()) >= len(hb or ()) else (hb, ha)
            big |= small or set()
            held.pop(rb, None)
            held[ra] = big
        if veto:
            sums[ra] = sa + sb
            sums.pop(rb, None)
            size[ra] += size[rb]

    roots = _all_roots(np.asarray(parent, dtype=np.int64))
    # Nodes of good components keep their free label; bad components take their roots,
    # offset so the two label spaces cannot collide before canonicalisation.
    out = np.where(bad[free], n + roots, free)
    return canonical_labels(out)


def _shared_values(n: int, apart: np.ndarray | None) -> dict[int, int]:
    """{node: value} for the nodes whose `apart` value >= 0 another node also has."""
    if apart is None:
        return {}
    apart = np.asarray(apart, dtype=np.int64)
    if apart.shape != (n,):
        raise ValueError(f"apart must have shape ({n},), got {apart.shape}")
    values, count = np.unique(apart[apart >= 0], return_counts=True)
    nodes = np.flatnonzero(np.isin(apart, values[count > 1]))
    return dict(zip(nodes.tolist(), apart[nodes].tolist()))


def _too_far(sa: np.ndarray, sb: np.ndarray, na: int, nb: int, max_mean: float,
             max_centre: float | None) -> bool:
    """Whether groups with vector sums sa, sb and sizes na, nb are too far apart to join."""
    cross = float(sa @ sb) / (na * nb)
    if 2.0 - 2.0 * cross >= max_mean:
        return True  # on average, too far apart
    if max_centre is None or min(na, nb) < CENTRE_MIN_SIZE:
        return False
    centre = float(sa @ sa) / (na * na) + float(sb @ sb) / (nb * nb) - 2.0 * cross
    return centre >= max_centre


def _all_roots(parent: np.ndarray) -> np.ndarray:
    """Roots of every node by repeated pointer jumping (vectorised find)."""
    p = parent.copy()
    while True:
        q = p[p]
        if np.array_equal(q, p):
            return p
        p = q
