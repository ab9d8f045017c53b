"""Cannot-link union-find: two confirmed persons never end up in one cluster."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photoface.core.constraints import anchors_from_groups, components_with_cannot_link


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


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 25).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60),
    st.lists(st.integers(-1, 3), min_size=n, max_size=n),
    st.randoms(use_true_random=False))))
def test_never_joins_two_anchors(case):
    n, edge_list, anchors, rnd = case
    edges = np.array(edge_list, dtype=np.int64).reshape(-1, 2)
    weights = np.array([rnd.random() for _ in range(len(edges))])
    anchors = np.array(anchors)
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
