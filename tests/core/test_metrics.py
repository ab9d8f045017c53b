"""Clustering and verification metrics on tiny hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.core.learning import metrics as m

TRUE = np.array([0, 0, 0, 1, 1, 1])


def test_perfect_clustering():
    pred = np.array([5, 5, 5, 2, 2, 2])
    assert m.pairwise_prf(TRUE, pred) == (1.0, 1.0, 1.0)
    assert m.bcubed_prf(TRUE, pred) == pytest.approx((1.0, 1.0, 1.0))
    assert m.ops_to_clean(TRUE, pred) == 0


def test_one_wrong_face():
    pred = np.array([0, 0, 0, 0, 1, 1])  # face 3 (identity 1) in identity 0's album
    # True pairs: 3 + 3 = 6. Predicted pairs: 6 + 1 = 7. Correct: 3 + 1 = 4.
    p, r, f = m.pairwise_prf(TRUE, pred)
    assert (p, r) == pytest.approx((4 / 7, 4 / 6))
    assert f == pytest.approx(2 * p * r / (p + r))
    # BCubed: precision = (3*3/4 + 1/4 + 2*2/2... per face) -> (3*(3/4) + 1/4 + 2*1) / 6.
    bp, br, _ = m.bcubed_prf(TRUE, pred)
    assert bp == pytest.approx((3 * 0.75 + 0.25 + 2 * 1.0) / 6)
    assert br == pytest.approx((3 * 1.0 + 1 / 3 + 2 * (2 / 3)) / 6)
    # The definition: a move out of the album, and identity 1 is spread over 2 albums.
    assert m.ops_to_clean(TRUE, pred) == 2


def test_identity_split_in_three_costs_two_merges():
    true = np.zeros(6, int)
    assert m.ops_to_clean(true, np.array([0, 0, 1, 1, 2, 2])) == 2
    assert m.pairwise_prf(true, np.array([0, 0, 1, 1, 2, 2]))[:2] == pytest.approx((1.0, 3 / 15))


def test_unsorted_counts_as_singletons():
    assert m.unsorted_as_singletons(np.array([-1, 0, -1, 1])).tolist() == [2, 0, 3, 1]
    true = np.array([0, 0, 0, 1])
    pred = np.array([0, 0, -1, -1])  # identity 0 over an album and a singleton
    assert m.ops_to_clean(true, pred) == 1
    p, r, _ = m.pairwise_prf(true, pred)
    assert (p, r) == pytest.approx((1.0, 1 / 3))
    # All unsorted: nothing claimed (precision 1), nothing found (recall 0).
    assert m.pairwise_prf(true, np.full(4, -1))[:2] == (1.0, 0.0)


def test_album_stats():
    s = m.album_stats(np.array([0, 0, 0, 1, 1, 2, -1, -1]))
    assert s == {"n_faces": 8, "n_albums": 2, "faces_in_albums": 5, "n_singletons": 1,
                 "n_unsorted": 2, "largest_album": 3, "mean_album_size": 2.5}


def _points(dists_by_angle):
    """Unit vectors in 2-d at the given angles (radians)."""
    a = np.asarray(dists_by_angle, dtype=np.float64)
    return np.stack([np.cos(a), np.sin(a)], 1).astype(np.float32)


def test_roc_auc_and_tar():
    # Two tight identities far apart: every same pair is closer than every different pair.
    x = _points([0.0, 0.1, 0.2, 3.0, 3.1])
    y = np.array([0, 0, 0, 1, 1])
    assert m.roc_auc_same_vs_different(x, y) == pytest.approx(1.0)
    tar, thr = m.tar_at_far(x, y, far=0.0)
    assert tar == 1.0 and thr > 0.0
    # One same pair (0, 1) farther apart than the one different pair (0, 2): AUC 0.
    x = _points([0.0, 2.0, 0.5])
    assert m.roc_auc_same_vs_different(x, np.array([0, 0, 1])) == pytest.approx(0.5 * 0 + 0.0)
    # Ties count one half: same pair and different pairs equidistant.
    x = _points([0.0, 1.0, -1.0])
    y = np.array([0, 0, 1])  # same (0,1): angle 1; diff (0,2): angle 1; diff (1,2): angle 2
    assert m.roc_auc_same_vs_different(x, y) == pytest.approx((0.5 + 1.0) / 2)


def test_pair_distances_counts_and_subsample():
    x = _points(np.linspace(0, 3, 10))
    y = np.arange(10) // 5
    s, d = m.pair_distances(x, y, block=3)
    assert len(s) == 2 * 10 and len(d) == 25
    s2, d2 = m.pair_distances(x, y, max_points=6)
    assert len(s2) + len(d2) == 15
