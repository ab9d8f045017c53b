"""The library's own same/different threshold, from a two-component mixture of neighbour distances."""

from __future__ import annotations

import numpy as np

from photoface.core.albums import knn, same_person


def _lists(near: int, far: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = np.concatenate([rng.normal(0.6, 0.15, near), rng.normal(1.3, 0.15, far)])
    return d.reshape(-1, 20)


def test_the_threshold_moves_out_when_most_neighbours_are_the_same_person():
    # Equal weights, equal spreads: the crossing is half way between the means.
    assert abs(same_person.mixture_threshold(_lists(4000, 4000)) - 0.95) < 0.03
    family = same_person.mixture_threshold(_lists(7000, 1000))   # few people, many photos each
    crowd = same_person.mixture_threshold(_lists(1000, 7000))    # thousands of strangers
    assert crowd < 0.95 < family


def test_no_threshold_without_two_kinds_of_pair_or_enough_of_them():
    one_kind = np.random.default_rng(1).normal(1.0, 0.2, 4000).reshape(-1, 20)
    assert same_person.mixture_threshold(one_kind) is None
    assert same_person.mixture_threshold(_lists(50, 50)) is None  # 100 distances
    short = np.full((300, 20), np.inf)
    assert same_person.mixture_threshold(short) is None


def test_the_library_scale_is_the_larger_of_crowding_and_mixture():
    rng = np.random.default_rng(2)
    # Faces packed close together: the 50th neighbour is near, so the crowding scale reads small.
    x = 1.0 + rng.normal(scale=0.05, size=(400, 64))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    crowding = knn.crowding_scale(x)
    family = _lists(7000, 1000)[:400]  # 8,000 distances, most of them of the same person
    assert same_person.scale(family) > crowding
    assert same_person.library_scale(x, family) == same_person.scale(family)
    # No mixture to read: the crowding scale alone.
    assert same_person.library_scale(x, np.full((400, 20), np.inf)) == crowding
