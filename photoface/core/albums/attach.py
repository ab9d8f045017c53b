"""Stray faces and small fragments join the album they clearly belong to.

A rank-order edge needs two faces that are near each other and share neighbours. A face shot at
an odd angle, or in poor light, often has no such edge, and stays alone in Unsorted beside an
album of thirty photos of the same person; a pair or a triple of such faces becomes a fragment.
After the components are formed, each small group (fewer than `ATTACH_TO_MIN_SIZE` faces, none
of them decided) is compared with the large groups its members' neighbour lists reach. It joins
the nearest one when its mean pair distance to it is below a threshold and not much above the
album's own mean pair distance, and the next of those groups is clearly farther (a ratio test, as
in SIFT matching). In a library of thousands of people seen once each, these tests are what keep
a stranger out of his look-alike's album. Only the groups the lists reach compete: on lfw, comparing
each stray with every album instead saved 6 of 967 corrections, at a cost that grows with the
number of albums times the number of strays.

An album holds several looks of a person, and a stray may resemble one look closely while the
album's mean lies far. So a group also joins where the same tests, with nearest and runner-up
ranked instead by its distance to each album's `NEAREST_MEMBERS` closest listed faces, clearly
name one album (where the two readings name different albums, the mean's wins). With that
reading sports_celebrities needs 16 operations to clean instead of 19 (BCubed F 0.889 -> 0.903),
lfw 1,033 instead of 1,035 and lfw's 40 most photographed people 4 instead of 5, at a cost of
one each on japanese_actors, turkish_comedians and indian_cricketers.

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
#: The second reading ranks albums by a stray's mean distance to this many of their closest
#: faces among its listed neighbours (`_nearest_member_distances`).
NEAREST_MEMBERS = 3

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
                        confirmed_groups: np.ndarray | None = None,
                        neighbour_dist: np.ndarray | None = None) -> np.ndarray:
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
        neighbour_dist: (N, K) squared L2 distances matching `neighbours` when already known
            (the engine's neighbour lists); else measured here.

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

    own_spread = _spreads(big_sums, sizes[big_codes])
    if confirmed_groups is not None:
        own_spread = np.where(np.isin(values[big_codes], confirmed_groups), np.inf, own_spread)
    near_dist = None if neighbour_dist is None else np.asarray(neighbour_dist)[small_rows]
    near_d = _nearest_member_distances(xs, codes, small_rows, near, big_index, pairs, near_dist)
    goes_to = np.full(len(sizes), -1, np.int64)
    for ranking in (near_d, mean_d):  # the mean's choice is written last: it wins
        groups, targets = _clear_choices(pairs, ranking, mean_d, own_spread, max_dist, margin, spread)
        goes_to[groups] = values[big_codes[targets]]
    moving = small_rows[goes_to[codes[small_rows]] >= 0]
    if allowed is not None and len(moving):
        moving = moving[np.argsort(codes[moving], kind="stable")]
        for rows in np.split(moving, np.flatnonzero(np.diff(codes[moving])) + 1):
            if not allowed(rows, int(goes_to[codes[rows[0]]])):
                goes_to[codes[rows[0]]] = -1
        moving = moving[goes_to[codes[moving]] >= 0]
    out[moving] = goes_to[codes[moving]]
    return out


def _clear_choices(pairs: np.ndarray, ranking: np.ndarray, mean_d: np.ndarray, own_spread: np.ndarray,
                   max_dist: float, margin: float, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """The small groups whose nearest large group by `ranking` passes the tests, and that group.

    Args:
        pairs: (P, 2) (small group code, large group index), every candidate pair.
        ranking: (P,) distance that ranks each small group's candidates (the margin is on it).
        mean_d: (P,) mean pair distance (the reach and spread tests are on it).
        own_spread: (L,) each large group's own mean pair distance (inf: no spread test).

    Returns:
        (small group codes, large group indices) of the groups that move.
    """
    order = np.lexsort((ranking, pairs[:, 0]))
    g, t, d = pairs[order, 0], pairs[order, 1], ranking[order]
    first = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    after = np.minimum(first + 1, len(g) - 1)
    runner_up = np.where((first + 1 < len(g)) & (g[after] == g[first]), d[after], np.inf)
    best_t, best_mean = t[first], mean_d[order][first]
    ok = (best_mean < max_dist) & (runner_up >= margin * d[first]) & (best_mean < spread * own_spread[best_t])
    return g[first][ok], best_t[ok]


def _nearest_member_distances(xs: np.ndarray, codes: np.ndarray, small_rows: np.ndarray, near: np.ndarray,
                              big_index: np.ndarray, pairs: np.ndarray, near_dist: np.ndarray | None = None,
                              chunk: int = 1024) -> np.ndarray:
    """For each (small group, large group) pair: over the small group's rows, the mean of each
    row's mean squared L2 distance to the large group's NEAREST_MEMBERS closest faces among the
    row's listed neighbours.

    Faces beyond a row's list are at least as far as its farthest listed one, so a large group
    with fewer listed faces (none, for a row whose list misses it) has the missing ones counted
    at that distance: a lower bound, the same for every group, that needs no search.
    """
    k = near.shape[1]
    if near_dist is not None:
        dist = np.where(near >= 0, near_dist, np.inf).astype(np.float64)
    else:
        dist = np.full(near.shape, np.inf)
        for i in range(0, len(small_rows), chunk):
            rows, nb = small_rows[i:i + chunk], near[i:i + chunk]
            d = 2.0 - 2.0 * np.einsum("id,ikd->ik", xs[rows], xs[np.maximum(nb, 0)])
            dist[i:i + chunk] = np.where(nb >= 0, d, np.inf)
    listed = np.isfinite(dist)
    farthest = np.where(listed.any(axis=1), np.where(listed, dist, -np.inf).max(axis=1), np.inf)
    target = np.where(listed, big_index[codes[np.maximum(near, 0)]], -1)
    # Per (row, large group): the NEAREST_MEMBERS smallest listed distances, padded with `farthest`.
    row_pos = np.repeat(np.arange(len(small_rows)), k)
    keep = target.ravel() >= 0
    r, t, d = row_pos[keep], target.ravel()[keep], dist.ravel()[keep]
    order = np.lexsort((d, t, r))
    r, t, d = r[order], t[order], d[order]
    start = np.flatnonzero(np.r_[True, (r[1:] != r[:-1]) | (t[1:] != t[:-1])])
    rank = np.arange(len(r)) - np.repeat(start, np.diff(np.r_[start, len(r)]))
    taken = rank < NEAREST_MEMBERS
    sums = np.bincount(np.repeat(np.arange(len(start)), np.diff(np.r_[start, len(r)]))[taken], weights=d[taken],
                       minlength=len(start))
    counts = np.minimum(np.diff(np.r_[start, len(r)]), NEAREST_MEMBERS)
    cell_r, cell_t = r[start], t[start]
    cell_d = (sums + (NEAREST_MEMBERS - counts) * farthest[cell_r]) / NEAREST_MEMBERS
    # Per pair: the mean over the small group's rows; a row that does not reach the large group
    # counts its own `farthest`.
    group_of_row = codes[small_rows]
    n_big = int(big_index.max()) + 1
    cell_pair = np.searchsorted(pairs[:, 0] * n_big + pairs[:, 1], group_of_row[cell_r] * n_big + cell_t)
    total = np.bincount(cell_pair, weights=cell_d - farthest[cell_r], minlength=len(pairs))
    # Every row of the group contributes `farthest` by default; the cells above replace it.
    group_farthest = np.bincount(group_of_row, weights=farthest, minlength=int(codes.max()) + 1)
    group_size = np.bincount(group_of_row, minlength=int(codes.max()) + 1)
    return (group_farthest[pairs[:, 0]] + total) / group_size[pairs[:, 0]]


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
