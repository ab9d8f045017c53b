"""What the album grouping reads from the library (core/albums/update.py and its suggestions).

Reads only: the grouping's writes go through `albums/regroup.apply_plan`. Faces of photos no file
on disk points at (`store.present`), faces marked "not a face" and faces the user dismissed
("not interesting") take no part.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from photoface.core.library.store import Library, present, vectors_from_rows

_PRESENT = present()


@dataclass(frozen=True)
class FaceRows:
    """The faces a grouping run may see, with one model version's embeddings, in face id order.

    Attributes:
        ids: (N,) int64 face ids.
        x: (N, 512) float32 embeddings.
        person: (N,) int64 person id, -1 for none.
        state: (N,) '<U10' face state.
        size_px: (N,) float32 longer side of the face box.
        sharpness: (N,) float32 variance of the Laplacian, NaN where unknown.
        score: (N,) float32 detector score.
        clustered: (N,) bool, already seen by an earlier run.
        photo: (N,) int64 photo ids.
        background: (N,) bool, a bystander of its photo (core/library/background.py).
        taken_at: (N,) object, the photo's EXIF date (ISO 8601) or None.
    """

    ids: np.ndarray
    x: np.ndarray
    person: np.ndarray
    state: np.ndarray
    size_px: np.ndarray
    sharpness: np.ndarray
    score: np.ndarray
    clustered: np.ndarray
    photo: np.ndarray
    background: np.ndarray
    taken_at: np.ndarray


def faces_with_vectors(library: Library, model: str) -> FaceRows:
    """Every face of a present photo, except "not a face" and dismissed ones, that has an
    embedding of `model`."""
    rows = library.con.execute(
        f"""SELECT f.id, e.vec, COALESCE(f.person_id, -1), f.state, f.w, f.h, f.sharpness, f.score, f.clustered,
                   f.photo_id, f.background, (SELECT ph.taken_at FROM photos ph WHERE ph.id = f.photo_id)
            FROM faces f JOIN embeddings e ON e.face_id = f.id AND e.model = ?
            WHERE f.state != 'not_face' AND f.dismissed = 0 AND {_PRESENT}
            ORDER BY f.id""", (model,)).fetchall()
    return FaceRows(
        ids=np.array([r[0] for r in rows], np.int64),
        x=vectors_from_rows(r[1] for r in rows),
        person=np.array([r[2] for r in rows], np.int64),
        state=np.array([r[3] for r in rows], dtype="<U10"),
        size_px=np.array([max(r[4], r[5]) for r in rows], np.float32),
        sharpness=np.array([np.nan if r[6] is None else r[6] for r in rows], np.float32),
        score=np.array([r[7] for r in rows], np.float32),
        clustered=np.array([bool(r[8]) for r in rows], bool),
        photo=np.array([r[9] for r in rows], np.int64),
        background=np.array([bool(r[10]) for r in rows], bool),
        taken_at=np.array([r[11] for r in rows], object))


def rejections(library: Library) -> set[tuple[int, int]]:
    """{(face id, person id)}: every face the user rejected from a person."""
    return set(library.con.execute("SELECT face_id, person_id FROM rejections").fetchall())


def not_same_pairs(library: Library) -> set[tuple[int, int]]:
    """{(a, b)} with a < b: persons the user said are not the same."""
    return set(library.con.execute("SELECT a, b FROM not_same_person").fetchall())


def named_persons(library: Library) -> set[int]:
    return {p for (p,) in library.con.execute("SELECT id FROM persons WHERE name IS NOT NULL")}


def persons_without_held_faces(library: Library) -> dict[int, tuple[bool, bool]]:
    """{person id: (named, hidden)} of the persons with no confirmed or accepted face."""
    return {p: (bool(named), bool(hidden)) for p, named, hidden in library.con.execute(
        "SELECT id, name IS NOT NULL, hidden FROM persons p WHERE NOT EXISTS "
        "(SELECT 1 FROM faces f WHERE f.person_id = p.id AND f.state IN ('confirmed', 'accepted'))")}


def person_vectors(library: Library, model: str, person_id: int,
                   states: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(face ids (N,) int64, vectors (N, 512) float32) of a person's faces in `states`."""
    rows = library.con.execute(
        "SELECT f.id, e.vec FROM faces f JOIN embeddings e ON e.face_id = f.id AND e.model = ? "
        "WHERE f.person_id = ? AND f.state IN (SELECT value FROM json_each(?))",
        (model, person_id, json.dumps(list(states)))).fetchall()
    return np.array([r[0] for r in rows], np.int64), vectors_from_rows(r[1] for r in rows)


def suggestion_candidates(library: Library, model: str,
                          person_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face ids, vectors, background flags) of the faces to ask "is this the person?" about:
    undecided and suggested faces and the person's own accepted ones, never one rejected from the
    person nor one dismissed."""
    rows = library.con.execute(
        f"""SELECT f.id, e.vec, f.background FROM faces f JOIN embeddings e ON e.face_id = f.id AND e.model = ?
            WHERE (f.state IN ('undecided', 'suggested') OR (f.state = 'accepted' AND f.person_id = ?))
              AND f.dismissed = 0 AND NOT EXISTS (SELECT 1 FROM rejections r WHERE r.face_id = f.id AND r.person_id = ?)
              AND {_PRESENT}""",
        (model, person_id, person_id)).fetchall()
    return (np.array([r[0] for r in rows], np.int64), vectors_from_rows(r[1] for r in rows),
            np.array([bool(r[2]) for r in rows], bool))


def album_face_vectors(library: Library, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(person id (N,) int64, person named (N,) bool, vectors (N, 512) float32) of every face
    an album shows (confirmed, accepted, suggested) of a present photo."""
    rows = library.con.execute(
        f"""SELECT f.person_id, p.name IS NOT NULL, e.vec FROM faces f
            JOIN persons p ON p.id = f.person_id
            JOIN embeddings e ON e.face_id = f.id AND e.model = ?
            WHERE f.state IN ('confirmed', 'accepted', 'suggested') AND {_PRESENT}""",
        (model,)).fetchall()
    return (np.array([r[0] for r in rows], np.int64), np.array([bool(r[1]) for r in rows], bool),
            vectors_from_rows(r[2] for r in rows))
