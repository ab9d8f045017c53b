"""Person albums on a real dataset's faces: random user actions and re-clusters never undo a decision."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photoface.core import cluster
from photoface.core.people import list_people
from photoface.core.pipeline import scan
from photoface.core.review import NameTaken, Review, ReviewError
from photoface.core.store import Library
from tests.core.fakes import face_state

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def clustered_lfw_subset(scanned_set, tmp_path_factory):
    lib_dir, folder = scanned_set("lfw_subset")
    copy = tmp_path_factory.mktemp("albums") / "lib"
    shutil.copytree(lib_dir, copy)
    with Library(copy) as lib:
        cluster.update_albums(lib, full=True)
    return copy, folder


def _decisions(lib):
    confirmed = set(lib.con.execute("SELECT id, person_id FROM faces WHERE state = 'confirmed'").fetchall())
    rejected = set(lib.con.execute("SELECT face_id, person_id FROM rejections").fetchall())
    names = set(lib.con.execute("SELECT id, name FROM persons WHERE name IS NOT NULL").fetchall())
    hidden = {p for (p,) in lib.con.execute("SELECT id FROM persons WHERE hidden = 1")}
    not_face = {f for (f,) in lib.con.execute("SELECT id FROM faces WHERE state = 'not_face'")}
    return confirmed, rejected, names, hidden, not_face


ACTIONS = st.lists(st.tuples(st.sampled_from(["confirm", "reject", "move", "split", "merge", "rename",
                                              "hide", "not_face", "recluster", "recluster_full"]),
                             st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=12)


def _apply(lib, review, action, a, b):
    faces = [f for (f,) in lib.con.execute("SELECT id FROM faces WHERE state != 'not_face' ORDER BY id")]
    persons = [p for (p,) in lib.con.execute("SELECT id FROM persons ORDER BY id")]
    face = faces[a % len(faces)]
    person = persons[b % len(persons)] if persons else None
    try:
        if action == "recluster":
            cluster.update_albums(lib)
        elif action == "recluster_full":
            cluster.update_albums(lib, full=True)
        elif action == "split":
            review.split([face, faces[b % len(faces)]])
        elif person is None:
            return False
        elif action == "confirm":
            review.confirm([face], person)
        elif action == "reject":
            # Half the time from the face's own album: the rejection a user makes, and the one a
            # re-cluster is most tempted to undo.
            (own,) = lib.con.execute("SELECT person_id FROM faces WHERE id = ?", (face,)).fetchone()
            review.reject([face], own if own is not None and b % 2 == 0 else person)
        elif action == "move":
            review.move([face], person)
        elif action == "merge":
            review.merge([persons[a % len(persons)]], person)
        elif action == "rename":
            review.rename(person, f"P{a % 7}")
        elif action == "hide":
            review.set_hidden(person, bool(a % 2))
        elif action == "not_face":
            review.not_a_face([face])
    except (NameTaken, ReviewError):
        return False
    return action.startswith("recluster") is False


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_random_actions_and_reclusters_keep_every_decision_and_undo_is_exact(clustered_lfw_subset, tmp_path_factory, actions):
    src, _ = clustered_lfw_subset
    work = tmp_path_factory.mktemp("prop") / "lib"
    shutil.copytree(src, work)
    with Library(work) as lib:
        review = Review(lib)
        start = face_state(lib)
        done = 0
        for action, a, b in actions:
            before = _decisions(lib)
            decided = _apply(lib, review, action, a, b)
            # No face is ever suggested for a person it was rejected from.
            assert lib.con.execute("SELECT COUNT(*) FROM faces f JOIN rejections r ON r.face_id = f.id "
                                   "AND r.person_id = f.person_id WHERE f.state = 'suggested'").fetchone()[0] == 0
            if not decided:
                # A re-cluster (or a refused action) changes no decision.
                assert _decisions(lib) == before
                if action.startswith("recluster"):
                    done = 0  # undo goes back past a re-cluster only to the decisions, not suggestions
                    start = face_state(lib)
            else:
                done += 1
        for _ in range(done):
            assert review.undo() is not None
        assert face_state(lib) == start


def test_restart_rescan_and_recluster_keep_names_and_confirmations(clustered_lfw_subset, face_models, tmp_path):
    src, folder = clustered_lfw_subset
    work = tmp_path / "lib"
    shutil.copytree(src, work)
    with Library(work) as lib:
        review = Review(lib)
        persons = [p for (p,) in lib.con.execute("SELECT id FROM persons ORDER BY id LIMIT 3")]
        review.rename(persons[0], "Ann")
        faces = [f for (f,) in lib.con.execute("SELECT id FROM faces WHERE person_id = ? LIMIT 2", (persons[1],))]
        review.confirm(faces, persons[1])
        review.rename(persons[1], "Bob")
        review.merge([persons[2]], persons[1])
        kept = _decisions(lib)
    with Library(work) as lib:  # restart
        assert _decisions(lib) == kept
        scan(lib, None, models=face_models)
        cluster.update_albums(lib)
        cluster.update_albums(lib, full=True)
        assert _decisions(lib) == kept
        review = Review(lib)
        assert review.undo()[1] == "merge"
        assert lib.con.execute("SELECT COUNT(*) FROM persons WHERE id = ?", (persons[2],)).fetchone()[0] == 1


def test_faces_rejected_from_their_albums_stay_out_after_reclusters(clustered_lfw_subset, tmp_path):
    src, _ = clustered_lfw_subset
    work = tmp_path / "lib"
    shutil.copytree(src, work)
    with Library(work) as lib:
        # One face out of each of the five biggest albums, unnamed or named: the kind of face that
        # sits right next to the album it was rejected from.
        albums = [p for (p,) in lib.con.execute(
            "SELECT person_id FROM faces WHERE person_id IS NOT NULL GROUP BY person_id "
            "ORDER BY COUNT(*) DESC LIMIT 5")]
        review = Review(lib)
        rejected = []
        for p in albums:
            (face,) = lib.con.execute("SELECT MIN(id) FROM faces WHERE person_id = ?", (p,)).fetchone()
            review.reject([face], p)
            rejected.append((face, p))
        # Naming or hiding confirms nothing, yet a re-cluster keeps the faces with the name and hidden.
        review.rename(albums[0], "Ann")
        review.set_hidden(albums[1], True)
        for full in (True, False, True):
            cluster.update_albums(lib, full=full)
            for face, p in rejected:
                (now,) = lib.con.execute("SELECT person_id FROM faces WHERE id = ?", (face,)).fetchone()
                assert now != p
            sizes = [lib.con.execute("SELECT COUNT(*) FROM faces WHERE person_id = ?", (p,)).fetchone()[0]
                     for p in albums]
            assert min(sizes) >= 5  # the albums themselves are still there
            shown = {p.id for p in list_people(lib)}
            assert albums[0] in shown and albums[1] not in shown
