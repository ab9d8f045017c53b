"""Review actions: what each leaves behind, and undo/redo that is exact and survives restarts."""

import pytest

from photoface.core.albums.review import NameTaken, Review, ReviewError
from photoface.core.library import persons
from photoface.core.library.store import Library
from tests.core.fakes import face_state, fill_library, identity_vectors


@pytest.fixture
def lib(tmp_path):
    library = Library(tmp_path / "lib")
    fill_library(library, identity_vectors(3, 4)[0])
    yield library
    library.close()


def _person_of(lib, fid):
    return lib.con.execute("SELECT person_id, state FROM faces WHERE id = ?", (fid,)).fetchone()


def test_split_confirm_reject_move_leave_the_constraints_of_the_table(lib):
    r = Review(lib)
    p = r.split([1, 2], "Ann")
    assert _person_of(lib, 1) == (p, "confirmed")
    r.confirm([3], p)
    assert _person_of(lib, 3) == (p, "confirmed")
    r.reject([3], p)
    assert _person_of(lib, 3) == (None, "undecided")
    assert lib.con.execute("SELECT 1 FROM rejections WHERE face_id = 3 AND person_id = ?", (p,)).fetchone()
    q = r.split([5, 6])
    r.move([2], q)
    assert _person_of(lib, 2) == (q, "confirmed")
    assert lib.con.execute("SELECT 1 FROM rejections WHERE face_id = 2 AND person_id = ?", (p,)).fetchone()
    r.confirm([3], p)  # an explicit confirmation lifts the earlier rejection
    assert not lib.con.execute("SELECT 1 FROM rejections WHERE face_id = 3 AND person_id = ?", (p,)).fetchone()


def test_merge_moves_faces_and_rejections_and_keeps_target_name(lib):
    r = Review(lib)
    a = r.split([1, 2], "Ann")
    b = r.split([3])
    r.reject([4], b)
    r.merge([b], a)
    assert _person_of(lib, 3) == (a, "confirmed")
    assert lib.con.execute("SELECT 1 FROM rejections WHERE face_id = 4 AND person_id = ?", (a,)).fetchone()
    assert lib.con.execute("SELECT COUNT(*) FROM persons").fetchone()[0] == 1
    c = r.split([5])
    d = r.split([6], "Dan")
    r.merge([d], c)  # an unnamed target takes the source's name
    assert lib.con.execute("SELECT name FROM persons WHERE id = ?", (c,)).fetchone()[0] == "Dan"


def test_merge_and_move_keep_the_face_the_target_showed(lib):
    # The source's bigger confirmed face would have become the merged person's tile: the person
    # the user merged into looked like someone else at a glance.
    r = Review(lib)
    a = r.split([1], "Ann")
    b = r.split([3])
    with lib.transaction() as con:
        con.execute("UPDATE faces SET w = w * 10 WHERE id = 3")
    assert persons.shown_cover(lib.con, a) == 1 and persons.shown_cover(lib.con, b) == 3
    r.merge([b], a)
    assert persons.shown_cover(lib.con, a) == 1
    r.undo()
    assert lib.con.execute("SELECT cover_face_id FROM persons WHERE id = ?", (a,)).fetchone()[0] is None
    # A face moved in keeps it too (a new user saw the dropped face become the album's picture).
    r.move([3], a)
    assert persons.shown_cover(lib.con, a) == 1


def test_redo_of_a_merge_that_hands_the_name_on(lib):
    # The source still holds the name when redo names the target: it must lose it first.
    r = Review(lib)
    c = r.split([5])
    d = r.split([6], "Dan")
    r.merge([d], c)
    r.undo()
    assert lib.con.execute("SELECT name FROM persons WHERE id = ?", (d,)).fetchone()[0] == "Dan"
    assert r.redo() is not None
    assert lib.con.execute("SELECT id, name FROM persons WHERE id IN (?, ?)", (c, d)).fetchall() == [(c, "Dan")]
    assert _person_of(lib, 6) == (c, "confirmed")


def test_names_are_unique_and_renaming_to_a_taken_name_offers_merge(lib):
    r = Review(lib)
    a = r.split([1], "Ann")
    b = r.split([2])
    with pytest.raises(NameTaken) as info:
        r.rename(b, "  ann ")
    assert info.value.person_id == a
    r.rename(b, "Bea")
    r.rename(b, "")
    assert lib.con.execute("SELECT name FROM persons WHERE id = ?", (b,)).fetchone()[0] is None


def test_not_a_face_hide_and_errors(lib):
    r = Review(lib)
    a = r.split([1, 2], "Ann")
    r.not_a_face([2])
    assert _person_of(lib, 2) == (None, "not_face")
    r.set_hidden(a)
    assert lib.con.execute("SELECT hidden FROM persons WHERE id = ?", (a,)).fetchone()[0] == 1
    with pytest.raises(ReviewError):
        r.confirm([1], 999)
    with pytest.raises(ReviewError):
        r.merge([a], a)


def test_undo_of_every_action_restores_the_exact_state_and_redo_reapplies(lib):
    r = Review(lib)
    states = [face_state(lib)]
    a = r.split([1, 2], "Ann"); states.append(face_state(lib))
    b = r.split([5, 6], "Bob"); states.append(face_state(lib))
    r.confirm([3], a); states.append(face_state(lib))
    r.move([3], b); states.append(face_state(lib))
    r.reject([5], b); states.append(face_state(lib))
    r.not_same_person(a, b); states.append(face_state(lib))
    r.rename(a, "Anna"); states.append(face_state(lib))
    r.set_hidden(b); states.append(face_state(lib))
    r.not_a_face([7]); states.append(face_state(lib))
    r.merge([b], a); states.append(face_state(lib))
    r.forget_person(a); states.append(face_state(lib))
    for expected in reversed(states[:-1]):
        assert r.undo() is not None
        assert face_state(lib) == expected
    assert r.undo() is None
    for expected in states[1:]:
        assert r.redo() is not None
        assert face_state(lib) == expected
    assert r.redo() is None


def test_undo_survives_a_restart_and_a_new_action_ends_the_redo_history(tmp_path):
    with Library(tmp_path / "lib") as lib:
        fill_library(lib, identity_vectors(2, 3)[0])
        r = Review(lib)
        before = face_state(lib)
        r.split([1, 2], "Ann")
        r.rename(1, "Anne")
    with Library(tmp_path / "lib") as lib:
        r = Review(lib)
        assert r.undo()[1] == "rename"
        assert lib.con.execute("SELECT name FROM persons").fetchone()[0] == "Ann"
        r.confirm([3], 1)
        assert r.redo() is None  # the undone rename is gone, as in any editor
        r.undo(); r.undo()
        assert face_state(lib) == before


def test_a_decision_in_words_names_what_it_did_and_to_whom():
    from photoface.core.albums.review import describe_decision

    names = {4: "Ann", 7: "Bob"}
    assert describe_decision("confirm", {"faces": [1, 2, 3], "person": 4}, names) == "Confirm (3 faces as Ann)"
    assert describe_decision("reject", {"faces": [1], "person": 9}, names) == \
        "Not This Person (1 face from an unnamed person)"
    assert describe_decision("move", {"faces": [5, 6], "person": 7}, names) == "Move (2 faces to Bob)"
    assert describe_decision("merge", {"sources": [3], "target": 4}, names) == "Merge 1 person into Ann"
    assert describe_decision("split", {"faces": [8], "name": "Cy"}, names) == "New Person Cy from 1 face"
    assert describe_decision("rename", {"person": 4, "name": "Ann"}, names) == "Rename to Ann"
    assert describe_decision("dismiss_background", {"faces": [1, 2]}, names) == "Dismiss Background Faces (2 faces)"
    assert describe_decision("regroup", {}, names) == "Regroup Faces"
