"""Cannot-link union-find: two confirmed persons never end up in one cluster."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photoface.core.albums.constraints import anchors_from_groups, components_with_cannot_link


def test_refuses_the_joining_edge_and_keeps_the_closer_one():
    # Chain 0 - 1 - 2 with anchors A at 0 and B at 2: 1 joins the nearer anchor.
    edges = np.array([[0, 1], [1, 2]])
    lab = components_with_cannot_link(3, edges, np.array([0.5, 0.2]), np.array([0, -1, 1]))
    assert lab[1] == lab[2] != lab[0]
    lab = components_with_cannot_link(3, edges, np.array([0.1, 0.2]), np.array([0, -1, 1]))
    assert lab[0] == lab[1] != lab[2]


def test_without_anchors_is_plain_components():
    edges = np.array([[0, 1], [2, 3]])
    lab = components_with_cannot_link(5, edges, np.ones(2))
    assert lab.tolist() == [0, 0, 1, 1, 2]


def test_same_anchor_may_join():
    lab = components_with_cannot_link(3, np.array([[0, 1], [1, 2]]), np.ones(2), np.array([4, -1, 4]))
    assert len(set(lab.tolist())) == 1


def test_anchors_from_groups():
    a = anchors_from_groups(5, [{0, 1}, {3}])
    assert a.tolist() == [0, 0, -1, 1, -1]
    with pytest.raises(ValueError):
        anchors_from_groups(3, [{0}, {0, 1}])


def _random_graphs(most_value: int):
    """(n, edges (E, 2), weights (E,), a value in -1..most_value per node, a seeded Random)."""
    def arrays(case):
        n, edge_list, values, rnd = case
        edges = np.array(edge_list, dtype=np.int64).reshape(-1, 2)
        return n, edges, np.array([rnd.random() for _ in range(len(edges))]), np.array(values), rnd

    return st.integers(2, 25).flatmap(lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60),
        st.lists(st.integers(-1, most_value), min_size=n, max_size=n),
        st.randoms(use_true_random=False))).map(arrays)


@settings(max_examples=30, deadline=None)
@given(_random_graphs(3))
def test_never_joins_two_anchors(case):
    n, edges, weights, anchors, rnd = case
    lab = components_with_cannot_link(n, edges, weights, anchors)
    for c in np.unique(lab):
        assert len(set(anchors[(lab == c) & (anchors >= 0)].tolist())) <= 1
    # Every accepted cluster is connected through given edges (no spurious joins) and the
    # result does not depend on the order the edges are listed in.
    perm = np.array(rnd.sample(range(len(edges)), len(edges)), dtype=np.int64)
    lab2 = components_with_cannot_link(n, edges[perm], weights[perm], anchors)
    np.testing.assert_array_equal(lab, lab2)
    free = components_with_cannot_link(n, edges, weights)
    for c in np.unique(lab):
        assert len(set(free[lab == c].tolist())) == 1


def _unit(rows) -> np.ndarray:
    x = np.asarray(rows, np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _two_groups_and_a_bridge(n: int, spread: float, seed: int = 0):
    """Two groups of n unit vectors around orthogonal centres, plus the closest cross pair as a
    bridge edge: (x, edges, weights) with within-group edges first."""
    rng = np.random.default_rng(seed)
    centres = np.eye(2, 16, dtype=np.float32)
    x = _unit(np.repeat(centres, n, axis=0) + spread * rng.standard_normal((2 * n, 16)))
    within = [(i, j) for g in (0, 1) for i in range(g * n, g * n + n) for j in range(i + 1, g * n + n)]
    d = 2 - 2 * x[:n] @ x[n:].T
    a, b = np.unravel_index(np.argmin(d), d.shape)
    edges = np.array(within + [(a, n + b)])
    w = np.array([2 - 2 * float(x[i] @ x[j]) for i, j in edges])
    return x, edges, w


def test_mean_distance_rule_refuses_a_single_close_pair_between_far_groups():
    x, edges, w = _two_groups_and_a_bridge(4, 0.1)
    assert len(set(components_with_cannot_link(8, edges, w).tolist())) == 1  # single linkage chains
    lab = components_with_cannot_link(8, edges, w, x=x, max_mean_dist=1.0)
    assert lab[:4].tolist() == [lab[0]] * 4 and lab[4:].tolist() == [lab[4]] * 4 and lab[0] != lab[4]
    # A must-link is never refused, however far apart the groups are; a mere zero distance (two
    # copies of one photo) is.
    w_zero = w.copy()
    w_zero[-1] = 0.0
    a, b = edges[-1]
    must = np.arange(len(edges)) == len(edges) - 1
    lab = components_with_cannot_link(8, edges, w_zero, x=x, max_mean_dist=1.0, must_link=must)
    assert lab[a] == lab[b]
    lab = components_with_cannot_link(8, edges, w_zero, x=x, max_mean_dist=1.0)
    assert lab[a] != lab[b]
    with pytest.raises(ValueError):
        components_with_cannot_link(8, edges, w, x=x, max_mean_dist=1.0, must_link=must[:-1])
    with pytest.raises(ValueError):
        components_with_cannot_link(8, edges, w, max_mean_dist=1.0)  # needs the vectors


def test_centre_rule_only_for_groups_of_five_or_more():
    for n, joined in ((4, True), (6, False)):
        x, edges, w = _two_groups_and_a_bridge(n, 0.3, seed=n)
        # Loose mean rule: only the centre rule can keep the groups apart (centres ~1.7 apart).
        lab = components_with_cannot_link(2 * n, edges, w, x=x, max_mean_dist=3.0, max_centre_dist=1.0)
        assert (len(set(lab.tolist())) == 1) == joined


def test_veto_never_joins_two_anchors():
    x, edges, w = _two_groups_and_a_bridge(4, 0.3)
    anchors = np.array([0, -1, -1, -1, 1, -1, -1, -1])
    lab = components_with_cannot_link(8, edges, np.zeros(len(edges)), anchors, x=x, max_mean_dist=4.0)
    assert lab[0] != lab[4]


def test_crowding_scale_and_its_floor():
    from photoface.core.albums import engine as cluster
    from photoface.core.albums import knn
    from photoface.core.config import DEFAULTS

    rng = np.random.default_rng(1)
    x = _unit(rng.standard_normal((300, 64)))  # strangers: near-orthogonal, distance ~2
    idx, dist = knn.knn_exact(x, 50)
    assert knn.crowding_scale(x) == pytest.approx(float(np.median(dist[:, 49])), rel=1e-5)
    assert knn.crowding_scale(x[:1]) == 2.0
    limits = cluster.thresholds(DEFAULTS, x)
    assert limits.link == pytest.approx(DEFAULTS["cluster_link_ratio"] * limits.scale)
    # Many photos of one person: the 50th neighbour is the same person; the floor holds.
    same = _unit(np.ones((300, 64)) + 0.05 * rng.standard_normal((300, 64)))
    assert knn.crowding_scale(same) < 0.1
    assert cluster.thresholds(DEFAULTS, same).scale == cluster.MIN_CROWDING_SCALE


def test_faces_of_one_photo_are_never_joined_unless_must_linked():
    # Chain 0 - 1 - 2 - 3; nodes 0 and 3 are two faces of one photo.
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    w = np.array([0.1, 0.3, 0.2])
    apart = np.array([7, -1, 8, 7])
    lab = components_with_cannot_link(4, edges, w, apart=apart)
    assert lab[0] != lab[3]
    assert lab[0] == lab[1] and lab[2] == lab[3]  # the weakest edge is the one refused
    # The same with the distance rules on, and unaffected nodes keep their plain components.
    x = np.eye(4, dtype=np.float32)[[0, 0, 0, 0]]
    lab = components_with_cannot_link(4, edges, w, x=x, max_mean_dist=1.0, apart=apart)
    assert lab[0] != lab[3]
    # A must-link (the user put both faces in one person: a mirror) is kept.
    lab = components_with_cannot_link(4, edges, w, apart=apart, must_link=np.array([False, True, False]))
    assert len(set(lab.tolist())) == 1
    with pytest.raises(ValueError):
        components_with_cannot_link(4, edges, w, apart=apart[:3])


@settings(max_examples=30, deadline=None)
@given(_random_graphs(6))
def test_no_component_holds_two_nodes_of_one_photo(case):
    n, edges, weights, apart, rnd = case
    lab = components_with_cannot_link(n, edges, weights, apart=apart)
    for c in np.unique(lab):
        held = apart[(lab == c) & (apart >= 0)]
        assert len(held) == len(set(held.tolist()))
    perm = np.array(rnd.sample(range(len(edges)), len(edges)), dtype=np.int64)
    np.testing.assert_array_equal(lab, components_with_cannot_link(n, edges[perm], weights[perm], apart=apart))
