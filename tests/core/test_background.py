"""Bystanders (issue 16 part 4): which faces are background, how the grouping treats them, and
the "dismiss background faces" action with its undo."""

import shutil

import numpy as np
import pytest

from photoface.core.albums import engine
from photoface.core.albums import update as cluster
from photoface.core.albums.review import Review, ReviewError
from photoface.core.learning.evaluation import labelled_faces
from photoface.core.learning.versions import active_version
from photoface.core.library import background, people
from photoface.core.library.store import Library
from tests.core.fakes import MODEL, fill_library, identity_vectors
from tests.core.fakes import face_state as _review_state


@pytest.fixture
def lib(tmp_path):
    library = Library(tmp_path / "lib")
    library.set_setting("active_weights", MODEL.split(":")[0])
    yield library
    library.close()


def face_state(lib) -> dict:
    """What the review actions may change, with each face's "dismissed" flag."""
    return {**_review_state(lib), "dismissed": lib.con.execute("SELECT id, dismissed FROM faces ORDER BY id").fetchall()}


def _set_background(lib, face_ids):
    with lib.transaction() as con:
        con.executemany("UPDATE faces SET background = 1 WHERE id = ?", ((f,) for f in face_ids))


# --- the rule, on a real scanned library --------------------------------------------------------

@pytest.mark.model
def test_the_rule_marks_bystanders_of_a_real_set_and_never_its_labelled_faces(scanned_set, tmp_path):
    lib_dir, folder = scanned_set("lfw_subset")
    shutil.copytree(lib_dir, tmp_path / "lib")
    with Library(tmp_path / "lib") as lib:
        labelled = {int(f) for f in labelled_faces(lib, str(folder), active_version(lib)).face_ids}
        marked = {f for (f,) in lib.con.execute("SELECT id FROM faces WHERE background = 1")}
        faces = {f for (f,) in lib.con.execute("SELECT id FROM faces")}
        # What the scan stored is what the rule says now (one definition).
        assert marked == {i for i, *rules in background.rule_marks(lib.con) if any(rules)}
        # lfw_subset: 47 faces are not their photo's subject; the rule marks most of them, no subject.
        bystanders = faces - labelled
        assert len(marked & bystanders) >= 0.4 * len(bystanders)
        assert not marked & labelled
        # A photo's only face is never background.
        alone = {f for (f,) in lib.con.execute(
            "SELECT MIN(id) FROM faces GROUP BY photo_id HAVING COUNT(*) = 1")}
        assert not alone & marked


# --- the engine ---------------------------------------------------------------------------------

def test_background_faces_seed_no_album(lib):
    # Two tight groups of 4: one of main faces, one of bystanders (e.g. a crowd behind the subject).
    x, _ = identity_vectors(2, 4, noise=0.2)
    ids = fill_library(lib, x)
    _set_background(lib, ids[4:])
    cluster.update_albums(lib, full=True)
    persons = [p for (p,) in lib.con.execute("SELECT person_id FROM faces ORDER BY id")]
    assert persons[0] is not None and len(set(persons[:4])) == 1
    assert persons[4:] == [None] * 4          # no junk album of bystanders
    listed = [f.id for f in people.unsorted_faces(lib)]
    assert listed == ids[4:]


def _faces(x, anchor, background):
    n = len(x)
    held = anchor >= 0
    return engine.FacesToGroup(ids=np.arange(n, dtype=np.int64) + 100, x=x.astype(np.float32), anchor=anchor,
                               held=held, movable=~held, good=held | ~background,
                               photo=np.arange(n, dtype=np.int64), background=background & ~held)


def _unit(v):
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def test_a_background_face_joins_a_named_person_only_on_strong_evidence():
    rng = np.random.default_rng(1)
    ann, bob = _unit(rng.normal(size=(2, 512)))

    def near(c, d2, k=1):
        # Unit vectors at squared distance ~d2 from c.
        noise = _unit(rng.normal(size=(k, 512)) - (rng.normal(size=(k, 512)) @ c)[:, None] * c)
        a = 1 - d2 / 2
        return _unit(a * c + np.sqrt(max(1 - a * a, 0)) * noise)

    held_ann = near(ann, 0.05, 3)
    held_bob = near(bob, 0.05, 3)
    limits = engine.Thresholds(1.15, 1.0, 1.5, 1.0, 1.5)

    def vote(face, background=True):
        x = np.concatenate([held_ann, held_bob, face[None]])
        anchor = np.array([7, 7, 7, 8, 8, 8, -1])
        faces = _faces(x, anchor, np.array([False] * 6 + [background]))
        lists = engine.neighbour_lists(faces, 5)
        return engine._vote(faces, lists.idx, lists.dist, set(), limits.link)[6]

    close_to_ann = near(ann, 0.3)[0]
    assert vote(close_to_ann) == 7                       # close to three of Ann's, to no one else
    loose = near(ann, 0.9)[0]                            # within the link threshold, but not within 0.8 of it
    assert vote(loose, background=False) == 7            # a main face would be suggested
    assert vote(loose) == -1                             # a bystander is not
    between = _unit(ann + bob)                           # near both Ann's and Bob's held faces
    assert vote(between) == -1


def test_a_confirmed_background_face_is_held_like_any_other(lib):
    x, _ = identity_vectors(1, 4, noise=0.2)
    ids = fill_library(lib, x)
    _set_background(lib, ids[3:])
    r = Review(lib)
    ann = r.split(ids[3:], "Ann")
    cluster.update_albums(lib, full=True)
    assert lib.con.execute("SELECT person_id, state FROM faces WHERE id = ?", (ids[3],)).fetchone() == (ann, "confirmed")
    # Held, it guides its person: the other faces join Ann.
    assert {p for (p,) in lib.con.execute("SELECT person_id FROM faces")} == {ann}


# --- dismiss, undo, redo ------------------------------------------------------------------------

def test_dismissing_background_faces_is_one_undoable_decision_apart_from_not_a_face(lib):
    x, _ = identity_vectors(2, 4, noise=0.2)
    ids = fill_library(lib, x)
    _set_background(lib, ids[4:7])
    cluster.update_albums(lib, full=True)
    r = Review(lib)
    r.not_a_face([ids[0]])
    before = face_state(lib)
    listed = [f.id for f in people.unsorted_faces(lib)]
    assert listed[-3:] == ids[4:7]                       # background faces last
    r.dismiss_background(listed)                         # the view's faces: only its background ones go
    after = face_state(lib)
    assert r.history()[-1][1:3] == ("dismiss_background", {"faces": ids[4:7]})
    assert [f.id for f in people.unsorted_faces(lib)] == listed[:-3]
    assert [f.id for f in people.dismissed_faces(lib)] == ids[4:7]
    states = dict(lib.con.execute("SELECT id, state FROM faces").fetchall())
    assert states[ids[0]] == "not_face" and all(states[f] == "undecided" for f in ids[4:7])  # not "not a face"
    assert r.undo()[1] == "dismiss_background"
    assert face_state(lib) == before
    assert r.redo()[1] == "dismiss_background"
    assert face_state(lib) == after
    cluster.update_albums(lib, full=True)                # dismissed faces are not grouped
    assert all(lib.con.execute("SELECT person_id FROM faces WHERE id = ?", (f,)).fetchone()[0] is None
               for f in ids[4:7])
    r.restore_dismissed([ids[4]])
    assert [f.id for f in people.dismissed_faces(lib)] == ids[5:7]
    with pytest.raises(ReviewError):
        r.dismiss_background(ids[:4])                    # no background face among them
    with pytest.raises(ReviewError):
        r.restore_dismissed(ids[:4])
    r.split([ids[5]], "Eve")                             # acting on a dismissed face brings it back
    assert [f.id for f in people.dismissed_faces(lib)] == [ids[6]]


def test_is_this_name_asks_about_bystanders_last(lib):
    """A page of "Is this NAME?" answered with "yes to all" must not be a page of bystanders: they
    come after every other candidate, however near they are."""
    x, _ = identity_vectors(1, 10, noise=0.3)
    ids = fill_library(lib, x)
    review = Review(lib)
    pid = review.split(ids[:4], "Ann")
    near = cluster.person_suggestions(lib, pid)
    assert len(near) == 6
    _set_background(lib, [near[0][0], near[1][0]])  # the two nearest are bystanders now
    order = [f for f, _ in cluster.person_suggestions(lib, pid)]
    assert order[-2:] == [near[0][0], near[1][0]] and set(order) == {f for f, _ in near}
