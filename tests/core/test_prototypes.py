"""Several prototypes per person (issue 16 part 3): looks and eras of a person's held faces, and
the vote that lets a face close to one era of a person join them."""

import numpy as np

from photoface.core.albums import engine, prototypes

LIMITS = engine.Thresholds(1.15, 0.55, 1.0, 0.35, 1.15)


def _unit(v):
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _near(rng, c, d2, k=1):
    """k unit vectors at squared L2 distance d2 from the unit vector c."""
    noise = rng.normal(size=(k, len(c)))
    noise = _unit(noise - (noise @ c)[:, None] * c)
    a = 1 - d2 / 2
    return _unit(a * c + np.sqrt(max(1 - a * a, 0)) * noise)


def _between(a, b, t):
    """The unit vector a share t of the way from a to b (on the great circle)."""
    return _unit((1 - t) * a + t * b)


def _child_and_adult(rng):
    """Ann's eras: 12 adult faces, 4 of her childhood far from them (squared L2 ~1.6 between the
    eras' centres) and spread wider (0.45 from their centre), 2 teenage faces between; Bob, 12
    faces elsewhere."""
    adult, other = _unit(rng.normal(size=(2, 512)))
    child = _between(adult, _unit(rng.normal(size=512)), 0.9)
    bob = _between(adult, other, 0.8)
    held = np.concatenate([_near(rng, adult, 0.3, 12), _near(rng, child, 0.45, 4),
                           _near(rng, _between(adult, child, 0.5), 0.3, 2), _near(rng, bob, 0.3, 12)])
    person = np.array([7] * 18 + [8] * 12)
    year = np.concatenate([np.full(12, 2015.0), np.full(4, 1990.0), np.full(2, 2002.0), np.full(12, np.nan)])
    return adult, child, bob, held, person, year


def test_years_read_exif_dates_and_leave_unknown_ones_nan():
    got = prototypes.years(["2004-07-01T12:00:00", None, "", "19xx"])
    assert got[0] == 2004.5 and np.isnan(got[1:]).all()


def test_eras_split_dated_faces_and_keep_undated_ones_apart():
    year = np.array([1990.0, 1991.0, 1996.0, np.nan, 2014.0])
    assert prototypes.eras(year).tolist() == [0, 0, 1, -1, 4]
    assert prototypes.eras(np.full(2, np.nan)).tolist() == [-1, -1]


def test_one_look_photographed_twenty_years_apart_is_two_prototypes():
    rng = np.random.default_rng(0)
    c = _unit(rng.normal(size=512))
    x = _near(rng, c, 0.3, 8)
    person = np.zeros(8, np.int64)
    assert len(prototypes.build(x, person, cut=1.0, floor=0.75).person) == 1
    year = np.array([1990.0] * 4 + [2010.0] * 4)
    dated = prototypes.build(x, person, cut=1.0, floor=0.75, year=year)
    assert len(dated.person) == 2 and dated.size.tolist() == [4, 4]


def test_a_person_with_two_eras_has_a_prototype_for_each_and_a_face_near_either_is_inside():
    rng = np.random.default_rng(1)
    adult, child, bob, held, person, year = _child_and_adult(rng)
    protos = prototypes.build(held, person, cut=LIMITS.album, floor=LIMITS.link, year=year)
    ann = protos.person == 7
    assert ann.sum() >= 3 and sorted(protos.size[ann].tolist())[-2:] == [4, 12]
    faces = np.concatenate([_near(rng, child, 0.2), _near(rng, adult, 0.2), _unit(adult + child)[None]])
    scores = protos.scores(faces)
    assert (scores[:2, 0] <= 1).all() and (scores[:2, 1] > 1.25).all()
    # The mean of all of Ann's faces lies near the adult ones: the child's face is far from it.
    mean = _unit(held[person == 7].sum(axis=0))
    assert float(((faces[0] - mean) ** 2).sum()) > float(((faces[0] - child) ** 2).sum()) + 0.2


def test_a_person_with_few_held_faces():
    rng = np.random.default_rng(2)
    c = _unit(rng.normal(size=512))
    one = prototypes.build(_near(rng, c, 0.3, 1), np.zeros(1, np.int64), cut=1.0, floor=0.75)
    assert one.size.tolist() == [1] and one.radius.tolist() == [0.75]     # no spread: the floor
    for n in (2, 3):
        protos = prototypes.build(_near(rng, c, 0.3, n), np.zeros(n, np.int64), cut=1.0, floor=0.75)
        assert protos.size.tolist() == [n]
        assert protos.scores(_near(rng, c, 0.2))[0, 0] <= 1.0               # a new face of the look
        assert protos.scores(_unit(rng.normal(size=(1, 512))))[0, 0] > 1.0  # a stranger
        assert protos.scores(_near(rng, c, 0.3), min_size=4)[0, 0] == np.inf


def test_no_held_faces_no_prototypes_and_no_vote():
    x = _unit(np.random.default_rng(3).normal(size=(5, 512)))
    protos = prototypes.build(x, np.full(5, -1), cut=1.0, floor=0.75)
    assert len(protos.person) == 0 and protos.scores(x).shape == (5, 0)
    faces = _faces(x, np.full(5, -1))
    lists = engine.neighbour_lists(faces, 4)
    vote = np.full(5, -1)
    assert engine._prototype_vote(faces, vote, lists.idx, lists.dist, set(), LIMITS).tolist() == [-1] * 5


def _faces(x, anchor, year=None):
    n = len(x)
    held = anchor >= 0
    return engine.FacesToGroup(ids=np.arange(n, dtype=np.int64) + 100, x=x, anchor=anchor, held=held,
                               movable=~held, good=np.ones(n, bool), photo=np.arange(n, dtype=np.int64),
                               year=year)


def test_a_new_childhood_face_is_voted_to_its_person_and_a_stranger_between_her_eras_is_not():
    rng = np.random.default_rng(4)
    adult, child, bob, held, person, year = _child_and_adult(rng)
    # New, undecided: three faces of Ann as a child, each nearer the centre of her childhood faces
    # than any of those faces is (her childhood photos differ more from each other than from
    # their mean); and a stranger halfway between Ann's child and adult faces.
    session = _near(rng, child, 0.2, 3)
    stranger = _near(rng, _between(adult, child, 0.5), 0.6)
    x = np.concatenate([held, session, stranger])
    anchor = np.concatenate([person, np.full(4, -1)])
    faces = _faces(x, anchor, np.concatenate([year, np.full(4, np.nan)]))
    lists = engine.neighbour_lists(faces, 5)
    plain = engine._vote(faces, lists.idx, lists.dist, set(), LIMITS.link)
    assert (plain[30:] == -1).all()                   # no held face within the link threshold
    vote = engine._prototype_vote(faces, plain, lists.idx, lists.dist, set(), LIMITS)
    assert vote[30:33].tolist() == [7] * 3            # inside Ann's childhood look
    assert vote[33] == -1                             # not inside any of her looks
    # Never a person the face was rejected from.
    rejected = {(int(faces.ids[30]), 7)}
    assert engine._prototype_vote(faces, plain, lists.idx, lists.dist, rejected, LIMITS)[30] == -1


def test_a_stranger_whose_neighbours_are_his_own_faces_is_not_voted_to_the_nearest_look():
    rng = np.random.default_rng(5)
    adult, child, bob, held, person, year = _child_and_adult(rng)
    # Six photos of a stranger as close to Ann's adult look as her own new faces would be, but
    # a tight group: their lists hold each other and no held face within the attach threshold.
    group = _near(rng, _near(rng, adult, 1.3)[0], 0.05, 6)
    x = np.concatenate([held, group])
    faces = _faces(x, np.concatenate([person, np.full(6, -1)]))
    lists = engine.neighbour_lists(faces, 5)
    plain = np.full(len(x), -1)
    assert (engine._prototype_vote(faces, plain, lists.idx, lists.dist, set(), LIMITS)[30:] == -1).all()
