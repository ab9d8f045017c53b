"""Strays and fragments join the album they clearly belong to, and nothing else moves."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.core.albums.attach import (ATTACH_TO_MIN_SIZE, NEAREST_MEMBERS, attach_small_groups, family_shaped,
                                         loosened)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _album(rng: np.random.Generator, centre: np.ndarray, n: int, noise: float) -> np.ndarray:
    return _unit(centre + noise * rng.standard_normal((n, len(centre))))


def _scene(rng, strays: np.ndarray, noise=(0.08, 0.08)):
    """Two albums of 8 around orthogonal centres, then the given stray rows.

    Returns x, labels (albums 0 and 1, each stray its own label), neighbours (every row sees all).
    """
    d = 16
    a, b = np.eye(d)[0], np.eye(d)[1]
    x = np.concatenate([_album(rng, a, 8, noise[0]), _album(rng, b, 8, noise[1]), _unit(strays)])
    labels = np.concatenate([np.zeros(8, int), np.ones(8, int), 2 + np.arange(len(strays))])
    n = len(x)
    neighbours = np.array([[j for j in range(n) if j != i] for i in range(n)])
    return x, labels, neighbours


def _direction(d: int, toward_a: float, toward_b: float, off: float) -> np.ndarray:
    v = np.zeros(d)
    v[0], v[1], v[2] = toward_a, toward_b, off
    return v


def _attach(x, labels, neighbours, may_move=None, max_dist=1.5, margin=1.25, spread=10.0, allowed=None):
    may_move = np.ones(len(x), bool) if may_move is None else may_move
    return attach_small_groups(labels, x, neighbours, may_move, max_dist, margin, spread, allowed)


def test_a_stray_near_one_album_joins_it():
    rng = np.random.default_rng(0)
    x, labels, nb = _scene(rng, np.array([_direction(16, 1.0, 0.1, 0.5)]))
    out = _attach(x, labels, nb)
    assert out[16] == 0
    np.testing.assert_array_equal(out[:16], labels[:16])  # the albums themselves do not change


def test_a_stray_between_two_albums_stays_alone():
    """Exactly between: neither its mean distance nor its distance to each album's closest faces
    names one album clearly (a stray only slightly nearer one album's closest faces than the
    other's joins it: test_a_stray_like_one_look_of_an_album_joins_it)."""
    rng = np.random.default_rng(1)
    x, labels, nb = _scene(rng, np.array([_direction(16, 1.0, 1.0, 0.3)]))
    assert _attach(x, labels, nb)[16] == 2  # runner-up within the margin
    assert _attach(x, labels, nb, margin=1.0)[16] in (0, 1)  # without the margin it would join


def test_a_stray_like_one_look_of_an_album_joins_it(monkeypatch):
    """An album of two looks (four faces each, far apart) and one of another person: a stray right
    beside one look is, on average over the album, as far from it as from the other person, but
    its closest faces name the album clearly."""
    import photoface.core.albums.attach as attach_mod

    rng = np.random.default_rng(10)
    e = np.eye(16)
    x = np.concatenate([_album(rng, e[0], 4, 0.08), _album(rng, e[3], 4, 0.08), _album(rng, e[1], 8, 0.08),
                        _unit(np.array([e[0] + 0.5 * e[1]]))])
    labels = np.concatenate([np.zeros(8, int), np.ones(8, int), [2]])
    nb = np.array([[j for j in range(len(x)) if j != i] for i in range(len(x))])
    mean = [((x[16] - x[labels == c]) ** 2).sum(-1).mean() for c in (0, 1)]
    assert 0.9 < mean[0] / mean[1] < 1.1  # the mean alone cannot tell
    assert _attach(x, labels, nb)[16] == 0
    monkeypatch.setattr(attach_mod, "NEAREST_MEMBERS", 8)  # every face of the album: the mean again
    assert _attach(x, labels, nb)[16] == 2


def test_a_far_stray_stays_alone():
    rng = np.random.default_rng(2)
    x, labels, nb = _scene(rng, np.array([_direction(16, 0.3, 0.0, 1.0)]))
    assert _attach(x, labels, nb, max_dist=0.8)[16] == 2
    assert _attach(x, labels, nb, max_dist=2.0)[16] == 0


def test_a_tight_album_takes_only_faces_like_it():
    rng = np.random.default_rng(3)
    stray = _direction(16, 1.0, 0.0, 0.6)
    tight = _scene(rng, np.array([stray]), noise=(0.02, 0.02))
    loose = _scene(rng, np.array([stray]), noise=(0.3, 0.3))
    assert _attach(*tight, spread=1.5)[16] == 2
    assert _attach(*loose, spread=1.5)[16] == 0
    # A person with confirmed faces is judged by distance and margin alone.
    x, labels, nb = tight
    out = attach_small_groups(labels, x, nb, np.ones(len(x), bool), 1.5, 1.25, 1.5, confirmed_groups=np.array([0]))
    assert out[16] == 0


def test_a_fragment_moves_whole_and_fragments_do_not_attract_each_other():
    rng = np.random.default_rng(4)
    near_a = [_direction(16, 1.0, 0.05, 0.4), _direction(16, 1.0, 0.0, 0.45)]
    x, labels, nb = _scene(rng, np.array(near_a + [_direction(16, 0.0, 0.0, 1.0)]))
    labels[17] = labels[16]  # rows 16 and 17 are one fragment
    out = _attach(x, labels, nb)
    assert out[16] == out[17] == 0
    assert out[18] == labels[18]  # a lone stray far from every album is not pulled into the fragment


def test_groups_with_a_decided_face_and_disallowed_moves_stay():
    rng = np.random.default_rng(5)
    x, labels, nb = _scene(rng, np.array([_direction(16, 1.0, 0.1, 0.5), _direction(16, 0.1, 1.0, 0.5)]))
    may_move = np.ones(len(x), bool)
    may_move[16] = False
    out = _attach(x, labels, nb, may_move=may_move)
    assert out[16] == labels[16] and out[17] == 1
    out = _attach(x, labels, nb, allowed=lambda rows, target: target != 1)  # e.g. rejected from 1
    assert out[16] == 0 and out[17] == labels[17]


def test_only_groups_reached_by_the_neighbour_lists_are_candidates():
    rng = np.random.default_rng(6)
    x, labels, nb = _scene(rng, np.array([_direction(16, 1.0, 0.1, 0.5)]))
    nb = nb.copy()
    nb[16] = -1  # a face with no neighbour list (too poor to trust) finds nothing
    assert _attach(x, labels, nb)[16] == labels[16]


def test_small_groups_never_receive():
    rng = np.random.default_rng(7)
    d = 16
    small = _album(rng, np.eye(d)[0], ATTACH_TO_MIN_SIZE - 1, 0.05)
    x = np.concatenate([small, _unit(np.array([_direction(d, 1.0, 0.0, 0.2)]))])
    labels = np.array([0] * len(small) + [1])
    nb = np.array([[j for j in range(len(x)) if j != i] for i in range(len(x))])
    np.testing.assert_array_equal(_attach(x, labels, nb), labels)


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n):
    x = np.ones((n, 4)) / 2
    out = attach_small_groups(np.arange(n), x, np.full((n, 2), -1), np.ones(n, bool), 1.0, 1.2, 1.5)
    assert out.tolist() == list(range(n))


def _attach_one_by_one(labels, x, neighbours, may_move, max_dist, margin, spread):
    """The rule written plainly, one small group at a time: the reference for the vectorised pass."""
    out = labels.copy()
    groups = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    big = {c for c, rows in groups.items() if len(rows) >= ATTACH_TO_MIN_SIZE}

    def nearest_members(row, b):
        listed = [j for j in neighbours[row] if j >= 0]
        if not listed:
            return np.inf
        dist = {j: float(((x[row] - x[j]) ** 2).sum()) for j in listed}
        farthest = max(dist.values())
        own = sorted(dist[j] for j in listed if labels[j] == b)[:NEAREST_MEMBERS]
        return (sum(own) + (NEAREST_MEMBERS - len(own)) * farthest) / NEAREST_MEMBERS

    for c, rows in groups.items():
        if c in big or not may_move[rows].all():
            continue
        near = {int(labels[j]) for j in neighbours[rows].ravel() if j >= 0} & big
        if not near:
            continue
        mean = {b: float(np.mean(((x[rows][:, None] - x[groups[b]][None]) ** 2).sum(-1))) for b in near}
        closest = {b: float(np.mean([nearest_members(r, b) for r in rows])) for b in near}
        for ranking in (closest, mean):  # the mean's choice wins where both choose
            ranked = sorted(ranking, key=lambda b: (ranking[b], b))
            best = ranked[0]
            second = ranking[ranked[1]] if len(ranked) > 1 else np.inf
            members = x[groups[best]]
            own = float(np.mean([((members[i] - members[j]) ** 2).sum()
                                 for i in range(len(members)) for j in range(len(members)) if i != j]))
            if mean[best] < max_dist and second >= margin * ranking[best] and mean[best] < spread * own:
                out[rows] = best
    return out


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_pass_equals_the_rule_written_plainly(seed):
    rng = np.random.default_rng(seed)
    d, n = 8, 120
    centres = _unit(rng.standard_normal((6, d)))
    x = _unit(centres[rng.integers(0, 6, n)] + 0.35 * rng.standard_normal((n, d)))
    labels = rng.integers(0, 40, n)  # a mix of large groups, fragments and singletons
    labels = np.where(rng.random(n) < 0.3, 1000 + np.arange(n), labels)
    dist = ((x[:, None] - x[None]) ** 2).sum(-1)
    neighbours = np.argsort(dist, axis=1)[:, 1:9]
    neighbours[rng.random(neighbours.shape) < 0.2] = -1
    may_move = rng.random(n) < 0.9
    for max_dist, margin, spread in ((1.5, 1.1, 1.5), (1.2, 1.02, 10.0), (4.0, 1.0, 1.2)):
        got = attach_small_groups(labels, x, neighbours, may_move, max_dist, margin, spread)
        want = _attach_one_by_one(labels, x, neighbours, may_move, max_dist, margin, spread)
        np.testing.assert_array_equal(got, want)
        # The engine hands over its lists' distances instead of having them measured again.
        listed = np.take_along_axis(dist, np.maximum(neighbours, 0), axis=1)
        given = attach_small_groups(labels, x, neighbours, may_move, max_dist, margin, spread,
                                    neighbour_dist=np.where(neighbours >= 0, listed, np.inf))
        np.testing.assert_array_equal(given, want)


def _strangers(rng, n: int, d: int = 16) -> np.ndarray:
    """n faces of n different people, far from every album (a library of strangers' singletons)."""
    return _unit(np.concatenate([np.zeros((n, 3)), rng.standard_normal((n, d - 3))], axis=1))


def test_the_library_shape_is_the_share_of_faces_already_in_albums():
    rng = np.random.default_rng(8)
    x, labels, nb = _scene(rng, np.array([_direction(16, 1.0, 0.5, 0.3)]))
    assert family_shaped(labels, nb) == 1.0  # 16 of 17 faces in albums: a family's library
    lonely = np.concatenate([labels, 100 + np.arange(17)])
    nb_lonely = np.concatenate([np.pad(nb, ((0, 0), (0, 1)), constant_values=-1), np.zeros((17, nb.shape[1] + 1), int)])
    assert family_shaped(lonely, nb_lonely) == 0.0  # 16 of 34: mostly strangers
    # Faces without neighbour lists (too poor to trust) do not count either way.
    nb_lonely[17:] = -1
    assert family_shaped(lonely, nb_lonely) == 1.0
    assert family_shaped(np.zeros(0, int), np.zeros((0, 3), int)) == 0.0


def test_loosened_keeps_the_settings_for_strangers_and_loosens_them_for_a_family():
    assert loosened(1.0, 1.25, 1.5, 0.0) == (1.0, 1.25, 1.5)
    reach, margin, spread = loosened(1.0, 1.25, 1.5, 1.0)
    assert reach == pytest.approx(1.2) and margin == pytest.approx(1.1) and spread == pytest.approx(2.0)
    half = loosened(1.0, 1.25, 1.5, 0.5)
    assert 1.0 < half[0] < reach and margin < half[1] < 1.25 and 1.5 < half[2] < spread


def test_a_stray_between_two_albums_joins_the_nearer_in_a_family_but_not_among_strangers():
    """The same stray, 1.15x nearer one album than the other: in a library of two people it is
    one of them; among strangers it may be a stranger who looks like both."""
    rng = np.random.default_rng(9)
    x, labels, nb = _scene(rng, np.array([_direction(16, 1.0, 0.88, 0.3)]))
    d = [((x[16] - x[labels == c]) ** 2).sum(-1).mean() for c in (0, 1)]
    assert 1.1 < d[1] / d[0] < 1.25

    def attach_as_the_engine_does(x, labels, nb):
        max_dist, margin, spread = loosened(1.5, 1.25, 10.0, family_shaped(labels, nb))
        return _attach(x, labels, nb, max_dist=max_dist, margin=margin, spread=spread)

    assert attach_as_the_engine_does(x, labels, nb)[16] == 0
    others = _strangers(rng, 20)
    xs = np.concatenate([x, others])
    ls = np.concatenate([labels, 100 + np.arange(len(others))])
    n = len(xs)
    nbs = np.array([[j for j in range(n) if j != i] for i in range(n)])
    assert attach_as_the_engine_does(xs, ls, nbs)[16] == labels[16]
