"""Stray faces and small fragments join the album they clearly belong to.

A rank-order edge needs two faces that are near each other and share neighbours. A face shot at
an odd angle, or in poor light, often has no such edge, and stays alone in Unsorted beside an
album of thirty photos of the same person; a pair or a triple of such faces becomes a fragment.
After the components are formed, each small group (fewer than `ATTACH_TO_MIN_SIZE` faces, none
of them decided) is compared with the large groups its members' neighbour lists reach. It joins
the nearest one when its mean pair distance to it is below a threshold and not much above the
album's own mean pair distance, and the next of those groups is clearly farther (a ratio test, as
in SIFT matching). In a library of thousands of people seen once each, these tests are what keep a
stranger out of his look-alike's album. Only the groups the lists reach compete: on lfw, comparing
each stray with every album instead saved 6 of 967 corrections, at a cost that grows with the
number of albums times the number of strays.

The large groups are fixed for the whole pass (a fragment never attracts another), so the
result does not depend on the order in which groups are visited.

How strict those tests should be depends on who the strays are, and the library says so
(`family_shaped`): where most faces already sit in large groups (a family's library: a few
people, many photos each) a stray is almost surely one of them, and the tests loosen
(`loosened`); where most faces are alone (lfw: thousands of strangers seen once or twice) a
stray is most likely a stranger, and they stay as set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Groups of at least this many faces receive strays; smaller ones may be attached.
ATTACH_TO_MIN_SIZE = 5

#: The share of faces (those with neighbour lists) in groups of ATTACH_TO_MIN_SIZE or more below
#: which a library is one of strangers, and above which it is a family's, with a linear blend
#: between. Measured before attaching, default settings: lfw 0.42; five_celebrity_faces 0.98,
#: african_footballers 0.97, lfw_subset 0.93, lfw's 5 and 40 people with most photos 0.94,
#: japanese_actors 0.85, sports_celebrities 0.82, turkish_comedians 0.77, indian_cricketers 0.77.
#: Both ends sit well inside the gap, so no shared set is in the blend.
STRANGERS_SHARE = 0.5
FAMILY_SHARE = 0.7
#: In a family's library: the reach grows by this factor, the margin's excess over 1 shrinks to
#: this fraction (1.25 -> 1.1), the spread grows by this factor (1.5 -> 2.0). Measured with
#: benchmarks/cluster.py, operations to clean: indian_cricketers 32 -> 19, japanese_actors 21 -> 18,
#: turkish_comedians 52 -> 45, sports_celebrities 20 -> 19, lfw's 5 people 2 -> 0 and 40 people
#: 19 -> 5; lfw_subset 3 -> 4; lfw itself is a library of strangers and does not move. Applied to
#: lfw they would cost it about 300 operations: its strays are strangers.
FAMILY_REACH = 1.2
FAMILY_MARGIN_EXCESS = 0.4
FAMILY_SPREAD = 4 / 3


def family_shaped(labels: np.ndarray, neighbours: np.ndarray) -> float:
    """How much the library looks like a family's, from 0 (strangers) to 1 (a family's).

    Args:
        labels: (N,) int group of every row, before attaching.
        neighbours: (N, K) int neighbour rows, -1 for none; rows with none take no part.

    Returns:
        The share of rows with neighbours that sit in groups of ATTACH_TO_MIN_SIZE or more,
        mapped linearly from [STRANGERS_SHARE, FAMILY_SHARE] onto [0, 1] and clipped.
    """
    listed = (np.asarray(neighbours) >= 0).any(axis=1) if len(labels) else np.zeros(0, bool)
    if not listed.any():
        return 0.0
    _, codes, sizes = np.unique(np.asarray(labels), return_inverse=True, return_counts=True)
    share = float((sizes[codes.ravel()] >= ATTACH_TO_MIN_SIZE)[listed].mean())
    return float(np.clip((share - STRANGERS_SHARE) / (FAMILY_SHARE - STRANGERS_SHARE), 0.0, 1.0))


def loosened(max_dist: float, margin: float, spread: float, family: float) -> tuple[float, float, float]:
    """The attach tests for a library `family` (0..1, `family_shaped`) like a family's: the
    settings' values at 0, the FAMILY_* loosening at 1, a linear blend between."""
    return (max_dist * (1 + (FAMILY_REACH - 1) * family),
            1 + (margin - 1) * (1 - (1 - FAMILY_MARGIN_EXCESS) * family),
            spread * (1 + (FAMILY_SPREAD - 1) * family))


def attach_small_groups(labels: np.ndarray, x: np.ndarray, neighbours: np.ndarray,
                        may_move: np.ndarray, max_dist: float, margin: float, spread: float,
                        allowed: Callable[[np.ndarray, int], bool] | None = None,
                        confirmed_groups: np.ndarray | None = None) -> np.ndarray:
    """Labels after small groups have joined the large group each clearly belongs to.

    Args:
        labels: (N,) int component label (>= 0) of every row.
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
        confirmed_groups: labels of groups holding faces the user confirmed. The spread rule does
            not apply to them: a fine-tuned model was trained to pull exactly those faces
            together, so their spread understates the person's (on lfw's fine-tuning benchmark
            this left 46 corrections instead of 41).

    Returns:
        (N,) int64 labels; a moved group takes its target's label.
    """
    labels = np.asarray(labels, dtype=np.int64)
    out = labels.copy()
    if len(labels) == 0:
        return out
    values, codes, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    big = sizes >= ATTACH_TO_MIN_SIZE
    stuck = np.zeros(len(sizes), bool)  # groups with a row that may not move
    stuck[codes[~np.asarray(may_move, bool)]] = True
    small_rows = np.flatnonzero(~big[codes] & ~stuck[codes])
    if not big.any() or len(small_rows) == 0:
        return out
    xs = np.asarray(x, dtype=np.float32)
    big_codes = np.flatnonzero(big)
    big_index = np.full(len(sizes), -1, np.int64)
    big_index[big_codes] = np.arange(len(big_codes))
    big_sums = _group_sums(xs, big_index[codes], np.flatnonzero(big[codes]), len(big_codes))

    # Candidate (small group, large group) pairs: the large groups the members' lists reach.
    near = neighbours[small_rows]
    group = np.repeat(codes[small_rows], near.shape[1])
    target = big_index[codes[np.maximum(near, 0)]].ravel()
    reach = (near.ravel() >= 0) & (target >= 0)
    pairs = np.unique(np.stack([group[reach], target[reach]], axis=1), axis=0)
    if len(pairs) == 0:
        return out
    mean_d = 2.0 - 2.0 * _cross_sums(xs, codes, small_rows, pairs, big_sums) \
        / (sizes[pairs[:, 0]] * sizes[big_codes[pairs[:, 1]]])

    # Per small group: the nearest large group and the runner-up.
    order = np.lexsort((mean_d, pairs[:, 0]))
    g, t, d = pairs[order, 0], pairs[order, 1], mean_d[order]
    first = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    after = np.minimum(first + 1, len(g) - 1)
    runner_up = np.where((first + 1 < len(g)) & (g[after] == g[first]), d[after], np.inf)
    best_t, best_d = t[first], d[first]
    own = _spreads(big_sums[best_t], sizes[big_codes[best_t]])
    if confirmed_groups is not None:
        own = np.where(np.isin(values[big_codes[best_t]], confirmed_groups), np.inf, own)
    ok = (best_d < max_dist) & (runner_up >= margin * best_d) & (best_d < spread * own)

    goes_to = np.full(len(sizes), -1, np.int64)
    goes_to[g[first][ok]] = values[big_codes[best_t[ok]]]
    moving = small_rows[goes_to[codes[small_rows]] >= 0]
    if allowed is not None and len(moving):
        moving = moving[np.argsort(codes[moving], kind="stable")]
        for rows in np.split(moving, np.flatnonzero(np.diff(codes[moving])) + 1):
            if not allowed(rows, int(goes_to[codes[rows[0]]])):
                goes_to[codes[rows[0]]] = -1
        moving = moving[goes_to[codes[moving]] >= 0]
    out[moving] = goes_to[codes[moving]]
    return out


def _group_sums(xs: np.ndarray, index: np.ndarray, rows: np.ndarray, count: int) -> np.ndarray:
    """(count, D) float64 sums of xs[rows] by their group index (a sparse product: no n x D copy)."""
    from scipy import sparse

    # float32 ones: float64 ones would make scipy copy all of xs to float64 first.
    member = sparse.csr_matrix((np.ones(len(rows), np.float32), (index[rows], rows)), shape=(count, len(xs)))
    return np.asarray(member @ xs, dtype=np.float64)


def _cross_sums(xs: np.ndarray, codes: np.ndarray, small_rows: np.ndarray, pairs: np.ndarray,
                big_sums: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """For each (small group code, large group index) pair: sum of the small group's vectors
    dotted with the large group's sum, computed row by row in chunks (small groups have < 5 rows)."""
    rows = small_rows[np.argsort(codes[small_rows], kind="stable")]
    start = np.searchsorted(codes[rows], pairs[:, 0])
    count = np.searchsorted(codes[rows], pairs[:, 0], side="right") - start
    pair_of = np.repeat(np.arange(len(pairs)), count)
    offset = np.arange(len(pair_of)) - np.repeat(np.cumsum(count) - count, count)
    member = rows[start[pair_of] + offset]
    dots = np.empty(len(pair_of))
    for i in range(0, len(pair_of), chunk):
        sl = slice(i, i + chunk)
        dots[sl] = np.einsum("ij,ij->i", xs[member[sl]].astype(np.float64), big_sums[pairs[pair_of[sl], 1]])
    return np.bincount(pair_of, weights=dots, minlength=len(pairs))


def _spreads(group_sums: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Mean squared L2 distance over the pairs of each group of unit vectors, from their sums."""
    mean_cos = (np.einsum("ij,ij->i", group_sums, group_sums) - sizes) / (sizes * (sizes - 1))
    return 2.0 - 2.0 * mean_cos
