"""benchmarks/effort.py and benchmarks/hand_fix.py: the simulated user ends with every labelled
face in its named album, and the counting rules count what they say."""

from __future__ import annotations

import inspect

import numpy as np

from benchmarks import effort
from benchmarks.cluster import _fill
from benchmarks.hand_fix import UNSORTED, count_steps, hand_fix_plan, shown_albums
from photoface.core.learning.versions import active_version
from photoface.core.library.store import Library


def test_clean_albums_need_one_name_each():
    albums = np.array([1, 1, 2, 2, 3])
    ids = np.array(["ann", "ann", "bob", "bob", "cy"])
    assert count_steps(hand_fix_plan(albums, ids)) == {"rename": 3}


def test_unsorted_faces_cost_one_split_per_identity():
    albums = np.full(6, UNSORTED)
    ids = np.array(["ann", "bob", "ann", "cy", "bob", "ann"])
    steps = hand_fix_plan(albums, ids)
    assert count_steps(steps) == {"split": 3}
    assert sorted(len(s.faces) for s in steps) == [1, 2, 3]


def test_fragments_merge_and_strays_move():
    # ann in albums 1 (3 faces, plus one of bob's) and 2; bob in album 3; a face of cy unsorted.
    albums = np.array([1, 1, 1, 1, 2, 2, 3, 3, UNSORTED])
    ids = np.array(["ann", "ann", "ann", "bob", "ann", "ann", "bob", "bob", "cy"])
    steps = hand_fix_plan(albums, ids)
    assert count_steps(steps) == {"rename": 2, "merge": 1, "move": 1, "split": 1}
    assert [s.kind for s in steps][:2] == ["rename", "rename"]


def test_an_album_is_named_after_its_majority_only():
    # bob's only album is mostly ann's, and ann has a bigger one: bob gets a person by a split.
    albums = np.array([1, 1, 1, 2, 2, 2, 2])
    ids = np.array(["ann", "ann", "bob", "ann", "ann", "ann", "ann"])
    steps = hand_fix_plan(albums, ids)
    assert count_steps(steps) == {"rename": 1, "merge": 1, "split": 1}
    assert [s.identity for s in steps if s.kind == "rename"] == ["ann"]


def test_small_groups_are_shown_in_unsorted():
    assert shown_albums(np.array([5, 5, 6, -1, 7, 7]), 2).tolist() == [5, 5, UNSORTED, UNSORTED, 7, 7]


def test_the_constants_are_the_dialogs():
    from photoface.gui.views import review_dialog, same_person

    assert review_dialog.PAGE == effort.REVIEW_PAGE
    assert f"limit={effort.REVIEW_LIMIT}" in inspect.getsource(review_dialog._load_suggestions)
    assert f"limit={effort.SAME_PERSON_LIMIT}" in inspect.getsource(same_person._load_pairs)


def _library_of_look_alikes(lib: Library) -> tuple[np.ndarray, np.ndarray]:
    """4 identities of 15 faces (two of them look alike, some faces far from their own) and 3
    bystanders, one face a photo; returns (labelled face ids, identities)."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((4, 512)).astype(np.float32)
    centres[1] = centres[0] + 0.8 * centres[1]  # a look-alike of identity 0
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    y = np.repeat(np.arange(4), 15)
    sigma = np.where(rng.random(len(y)) < 0.15, 0.06, 0.035).astype(np.float32)
    x = centres[y] + sigma[:, None] * rng.standard_normal((len(y), 512)).astype(np.float32)
    strangers = rng.standard_normal((3, 512)).astype(np.float32)
    x = np.concatenate([x, strangers])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    _fill(lib, x.astype(np.float32), active_version(lib))
    ids = np.array([f for (f,) in lib.con.execute("SELECT id FROM faces ORDER BY id")], np.int64)
    return ids[:len(y)], np.array([f"person {i}" for i in y])


def test_the_user_ends_with_every_labelled_face_in_its_album(tmp_path):
    with Library(tmp_path / "lib") as lib:
        face_ids, identities = _library_of_look_alikes(lib)
        user = effort.EffortUser(lib, face_ids, identities)
        result = user.play(regroup=True)
        assert user.done()
        person = dict(lib.con.execute("SELECT id, person_id FROM faces").fetchall())
        names = dict(lib.con.execute("SELECT id, name FROM persons").fetchall())
        assert all(names[person[int(f)]] == i for f, i in zip(face_ids, identities))
        assert result["actions"] >= len(set(identities))
        assert result["actions"] == sum(result["breakdown"].values())
        assert result["breakdown"]["regroup"] == 1
        assert result["photoface_by_hand"] >= len(set(identities))
        assert 0 <= result["bystanders_in_named_albums"] <= 3
