"""Person albums on a real dataset's faces: whatever the user did survives every regroup, scan,
model switch and restart, and undo puts everything back exactly."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photoface.core.albums import update as cluster
from photoface.core.learning import versions as models
from photoface.core.learning.evaluation import labelled_faces
from photoface.core.learning.finetune import finetune
from photoface.core.library.people import list_people
from photoface.core.library.ingest import scan
from photoface.core.learning.reembed import reembed
from photoface.core.albums.review import NameTaken, Review, ReviewError
from photoface.core.library.store import Library

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def clustered_lfw_subset(scanned_set, tmp_path_factory):
    lib_dir, folder = scanned_set("lfw_subset")
    copy = tmp_path_factory.mktemp("albums") / "lib"
    shutil.copytree(lib_dir, copy)
    with Library(copy) as lib:
        cluster.update_albums(lib, full=True)
    return copy, folder


@pytest.fixture(scope="module")
def property_library(clustered_lfw_subset, datasets_dir, tmp_path_factory):
    """lfw_subset in albums, three people named and confirmed, a short fine-tuned model with every
    face already embedded by it (so switching models in an example costs no network pass), and
    a folder of new photos (five_celebrity_faces, a few) for incremental scans.

    Returns:
        (library folder, folder of new photos, the fine-tuned model's id).
    """
    src, folder = clustered_lfw_subset
    work = tmp_path_factory.mktemp("property") / "lib"
    shutil.copytree(src, work)
    new_photos = tmp_path_factory.mktemp("new-photos")
    for person in ("ben_afflek", "madonna"):
        for photo in sorted((datasets_dir / "five_celebrity_faces" / person).iterdir())[:3]:
            shutil.copy(photo, new_photos / f"{person}-{photo.name}")
    with Library(work) as lib:
        lf = labelled_faces(lib, str(folder), models.active_version(lib))
        names, counts = np.unique(lf.identities, return_counts=True)
        review = Review(lib)
        for name in sorted(names[counts >= 8])[:3]:
            review.split([int(f) for f in lf.face_ids[lf.identities == name][:6]], name)
        result = finetune(lib, steps=10, blocks=0, persons_per_batch=3, faces_per_person=3,
                          learning_rate=1e-3, eval_every=5, patience=2, save_rejected=True, keep="last")
        assert result.model_id is not None
        reembed(lib, result.model_id)
        cluster.update_albums(lib, full=True)
    return work, new_photos, result.model_id


def _state(lib) -> dict:
    """Everything undo must restore: faces' person and state, persons, rejections, pairs, model."""
    return {
        "faces": lib.con.execute("SELECT id, person_id, state FROM faces ORDER BY id").fetchall(),
        "persons": lib.con.execute("SELECT id, name, hidden FROM persons ORDER BY id").fetchall(),
        "rejections": lib.con.execute("SELECT face_id, person_id FROM rejections ORDER BY 1, 2").fetchall(),
        "not_same": lib.con.execute("SELECT a, b FROM not_same_person ORDER BY 1, 2").fetchall(),
        "model": lib.get_setting("active_weights"),
    }


def _held(lib) -> dict[int, tuple[int, str]]:
    """Faces the user put somewhere: face -> (person, confirmed or accepted)."""
    return {f: (p, s) for f, p, s in lib.con.execute(
        "SELECT id, person_id, state FROM faces WHERE state IN ('confirmed', 'accepted')")}


def _names(lib) -> dict[int, tuple[str | None, int]]:
    return {p: (n, h) for p, n, h in lib.con.execute("SELECT id, name, hidden FROM persons WHERE name IS NOT NULL "
                                                      "OR hidden = 1")}


def _shown(lib, persons) -> set[int]:
    """Faces the persons' albums show that stay when they are kept together: decided ones, and
    suggestions none of them rejected."""
    marks = ",".join("?" * len(persons))
    return {f for (f,) in lib.con.execute(
        f"SELECT id FROM faces f WHERE person_id IN ({marks}) AND (state IN ('confirmed', 'accepted') OR "
        f"(state = 'suggested' AND NOT EXISTS (SELECT 1 FROM rejections r WHERE r.face_id = f.id "
        f"AND r.person_id IN ({marks}))))", [*persons, *persons])}


ACTIONS = ("confirm", "reject", "move", "split", "merge", "rename", "same_yes", "same_no", "hide", "not_face",
           "regroup", "recluster", "scan", "switch_model", "undo", "redo", "restart")
STEPS = st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 10**6), st.integers(0, 10**6)),
                 min_size=1, max_size=12)


class Run:
    """One random session over a library: applies actions and tracks where the user put faces."""

    def __init__(self, lib_dir, new_photos, model_id, face_models):
        self.lib_dir, self.new_photos, self.model_id, self.face_models = lib_dir, new_photos, model_id, face_models
        self.lib = Library(lib_dir)
        self.review = Review(self.lib)
        self.expected = _held(self.lib)  # face -> (person, state), what the user last decided
        self.undo_states: list[dict] = []  # state before each decision still undoable, in order
        self.redo_states: list[dict] = []  # state after each undone decision, next one last

    def close(self):
        self.lib.close()

    def step(self, action: str, a: int, b: int) -> str:
        """Applies one step; returns 'user' (a decision), 'program' (regroup, scan, switch, restart),
        'undo'/'redo', or 'refused'."""
        lib, review = self.lib, self.review
        faces = [f for (f,) in lib.con.execute("SELECT id FROM faces WHERE state != 'not_face' ORDER BY id")]
        # Persons with the most faces first, and most actions on the eight biggest: the albums
        # whose suggestions a careless program would lose.
        persons = [p for (p,) in lib.con.execute(
            "SELECT p.id FROM persons p LEFT JOIN faces f ON f.person_id = p.id AND f.state != 'not_face' "
            "GROUP BY p.id ORDER BY COUNT(f.id) DESC, p.id")]
        face = faces[a % len(faces)]
        person = persons[b % min(len(persons), 8)] if persons else None
        before = _state(lib)
        if action == "restart":
            self.lib.close()
            self.lib = Library(self.lib_dir)
            self.review = Review(self.lib)
            return "program"
        if action == "recluster":
            cluster.update_albums(lib)
            return self._unlogged()
        if action == "scan":
            lib.add_root(self.new_photos)
            scan(lib, None, models=self.face_models)
            cluster.update_albums(lib)
            return self._unlogged()
        if action in ("undo", "redo"):
            done = review.undo() if action == "undo" else review.redo()
            if done is None:
                assert not (self.undo_states if action == "undo" else self.redo_states)
                return "refused"
            if action == "undo" and self.undo_states:
                assert _state(lib) == self.undo_states.pop()
                self.redo_states.append(before)
            elif action == "redo" and self.redo_states:
                assert _state(lib) == self.redo_states.pop()
                self.undo_states.append(before)
            self.expected = _held(lib)  # the user's word now is the restored one
            return action
        try:
            if action == "regroup":
                cluster.update_albums(lib, full=True)
            elif action == "switch_model":
                target = self.model_id if lib.get_setting("active_weights") == "shipped" else "shipped"
                models.activate_model(lib, target)
            elif action == "split":
                chosen = {face, faces[b % len(faces)]}
                new = review.split(chosen)
                self.expected.update({f: (new, "confirmed") for f in chosen})
            elif person is None:
                return "refused"
            elif action == "confirm":
                review.confirm([face], person)
                self.expected[face] = (person, "confirmed")
            elif action == "reject":
                (own,) = lib.con.execute("SELECT person_id FROM faces WHERE id = ?", (face,)).fetchone()
                target = own if own is not None and b % 2 == 0 else person
                review.reject([face], target)
                if self.expected.get(face, (None,))[0] == target:
                    del self.expected[face]
            elif action == "move":
                review.move([face], person)
                self.expected[face] = (person, "confirmed")
            elif action in ("merge", "same_yes"):
                source = persons[a % len(persons)]
                shown = _shown(lib, {source, person})
                review.merge([source], person)
                self._kept(shown, person)
            elif action == "same_no":
                review.not_same_person(persons[a % len(persons)], person)
            elif action == "rename":
                shown = _shown(lib, {person})
                review.rename(person, f"P{a % 7}")
                self._kept(shown, person)
            elif action == "hide":
                hide = bool(a % 2)
                shown = _shown(lib, {person})
                review.set_hidden(person, hide)
                if hide:
                    self._kept(shown, person)
            elif action == "not_face":
                review.not_a_face([face])
                self.expected.pop(face, None)
        except (NameTaken, ReviewError):
            assert _state(lib) == before  # a refused action changes nothing
            return "refused"
        self.undo_states.append(before)
        self.redo_states.clear()
        return "program" if action in ("regroup", "switch_model") else "user"

    def _kept(self, shown: set[int], person: int) -> None:
        for f in shown:
            state = self.expected.get(f, (None, "accepted"))[1]
            self.expected[f] = (person, state)

    def _unlogged(self) -> str:
        # Not a decision: undo goes back past it only to the decisions, so exact-state checks of
        # what came before it stop here.
        self.undo_states.clear()
        self.redo_states.clear()
        return "program"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_random_sessions_never_undo_the_user_and_undo_is_exact(property_library, face_models, tmp_path_factory,
                                                               steps):
    src, new_photos, model_id = property_library
    work = tmp_path_factory.mktemp("prop") / "lib"
    shutil.copytree(src, work)
    run = Run(work, new_photos, model_id, face_models)
    try:
        for action, a, b in steps:
            names_before = _names(run.lib)
            kind = run.step(action, a, b)
            lib = run.lib
            # Every confirmed or accepted face is where the user last put it, and nothing else is held.
            assert _held(lib) == run.expected, (action, kind)
            if kind == "program":
                assert _names(lib) == names_before  # names and hidden albums are the user's
            # No face is ever suggested for a person it was rejected from.
            assert lib.con.execute("SELECT COUNT(*) FROM faces f JOIN rejections r ON r.face_id = f.id "
                                   "AND r.person_id = f.person_id WHERE f.state = 'suggested'").fetchone()[0] == 0
        # Undo every step still on record: each restores exactly the state before it.
        while run.undo_states:
            assert run.step("undo", 0, 0) == "undo"
    finally:
        run.close()


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
        kept = _held(lib), _names(lib)
    with Library(work) as lib:  # restart
        assert (_held(lib), _names(lib)) == kept
        scan(lib, None, models=face_models)
        cluster.update_albums(lib)
        cluster.update_albums(lib, full=True)
        assert (_held(lib), _names(lib)) == kept
        review = Review(lib)
        assert review.undo()[1] == "regroup"
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
        # Naming or hiding keeps the album's faces with the name, and hidden.
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
