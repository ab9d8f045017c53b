"""Stray faces and small fragments join the album they clearly belong to.

A rank-order edge needs two faces that are near each other and share neighbours. A face shot at
an odd angle, or in poor light, often has no such edge, and stays alone in Unsorted beside an
album of thirty photos of the same person; a pair or a triple of such faces becomes a fragment.
After the components are formed, each small group (fewer than `ATTACH_TO_MIN_SIZE` faces, none of
them decided) is compared with the large groups its members' neighbour lists reach. It joins the
nearest one when its mean pair distance to it is below a threshold, not much above the album's
own mean pair distance, and the runner-up is clearly farther (a ratio test, as in SIFT matching). In a library of thousands of people seen once each,
the ratio test is what keeps a stranger out of his look-alike's album.

The large groups are fixed for the whole pass (a fragment never attracts another), so the
result does not depend on the order in which groups are visited.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Groups of at least this many faces receive strays; smaller ones may be attached.
ATTACH_TO_MIN_SIZE = 5
#: No runner-up among the candidates counts as one at the largest squared distance of unit vectors.
_FAR = 4.0


def attach_small_groups(labels: np.ndarray, x: np.ndarray, neighbours: np.ndarray,
                        may_move: np.ndarray, max_dist: float, margin: float, spread: float,
                        allowed: Callable[[np.ndarray, int], bool] | None = None) -> np.ndarray:
    """Labels after small groups have joined the large group each clearly belongs to.

    Args:
        labels: (N,) int component label of every row.
        x: (N, D) float unit embeddings.
        neighbours: (N, K) int row indices of each row's nearest rows, -1 for none (rows that
            should find no album, e.g. faces too poor to trust, have only -1).
        may_move: (N,) bool, rows that may change group (no decision, no anchor). A group moves
            only when every one of its rows may.
        max_dist: a group joins only if its mean squared L2 distance to the target is below this.
        margin: and the next-nearest large group is at least `margin` times farther.
        spread: and the distance is below `spread` times the target's own mean pair distance
            (a tight album takes only faces that look like it; a varied one, more).
        allowed: optional check (rows of the group, target label) -> whether the move is allowed,
            e.g. none of the rows was rejected from the target's person.

    Returns:
        (N,) int64 labels; a moved group takes its target's label.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if n == 0:
        return labels.copy()
    values, codes, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    big = sizes >= ATTACH_TO_MIN_SIZE
    if not big.any():
        return labels.copy()
    xs = np.asarray(x, dtype=np.float64)
    sums = np.zeros((len(sizes), xs.shape[1]))
    rows_big = np.flatnonzero(big[codes])
    np.add.at(sums, codes[rows_big], xs[rows_big])

    stuck = np.zeros(len(sizes), bool)  # groups with a row that may not move
    stuck[codes[~np.asarray(may_move, bool)]] = True
    small_rows = np.flatnonzero(~big[codes] & ~stuck[codes])
    order = np.argsort(codes[small_rows], kind="stable")
    small_rows = small_rows[order]
    bounds = np.flatnonzero(np.diff(codes[small_rows])) + 1

    out = labels.copy()
    for rows in np.split(small_rows, bounds) if len(small_rows) else []:
        near = neighbours[rows]
        near = near[near >= 0]
        candidates = np.unique(codes[near])
        candidates = candidates[big[candidates]]
        if len(candidates) == 0:
            continue
        group_sum = xs[rows].sum(axis=0)
        mean_d = 2.0 - 2.0 * (sums[candidates] @ group_sum) / (len(rows) * sizes[candidates])
        best = int(np.argmin(mean_d))
        runner_up = np.partition(mean_d, 1)[1] if len(mean_d) > 1 else _FAR
        if mean_d[best] >= max_dist or runner_up < margin * mean_d[best]:
            continue
        if mean_d[best] >= spread * _spread(sums[candidates[best]], int(sizes[candidates[best]])):
            continue
        target = int(values[candidates[best]])
        if allowed is not None and not allowed(rows, target):
            continue
        out[rows] = target
    return out


def _spread(group_sum: np.ndarray, size: int) -> float:
    """Mean squared L2 distance over the pairs of a group of unit vectors, from their sum."""
    mean_cos = (float(group_sum @ group_sum) - size) / (size * (size - 1))
    return 2.0 - 2.0 * mean_cos
