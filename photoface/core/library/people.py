"""Read-only views of the library for the People screens and the CLI: persons, faces, photos.

Only faces of photos present on disk (some file of an online or offline root points at them)
and not marked "not a face" are shown; faces the user dismissed ("not interesting") only in
`dismissed_faces`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from photoface.core.library.persons import cover_order
from photoface.core.library.store import EMBED_DIM, Library, decode_path, present, vectors_from_rows
from photoface.core.types import Box

_PRESENT = present()
#: States of the faces an album shows: confirmed one by one, accepted with the album, suggested.
_SHOWN = "'confirmed', 'accepted', 'suggested'"

#: What the window calls a person without a name (never itself a name: gui/actions.py).
UNNAMED = "Unnamed"


@dataclass(frozen=True)
class PersonSummary:
    """One person album. `faces` counts its confirmed, accepted and suggested faces of present
    photos; `confirmed` and `accepted` those the user confirmed one by one, or kept with the album."""

    id: int
    name: str | None
    hidden: bool
    faces: int
    confirmed: int
    cover_face_id: int | None
    accepted: int = 0

    @property
    def label(self) -> str:
        return self.name or UNNAMED


@dataclass(frozen=True)
class FaceInfo:
    """A face with what a grid or a photo view needs to show it."""

    id: int
    photo_id: int
    box: Box
    state: str
    person_id: int | None
    person_name: str | None
    score: float
    taken_at: str | None
    path: str | None  # one file of the photo (the first by path), None if none is known
    background: bool = False  # a bystander of its photo (core/library/background.py)


def min_album_size(library: Library) -> int:
    return int(library.get_setting("min_album_size"))


def list_people(library: Library, include_hidden: bool = False, hidden_only: bool = False,
                min_faces: int | None = None) -> list[PersonSummary]:
    """Person albums: named first (by name), then by size (largest first).

    Unnamed persons with fewer than `min_faces` faces (default: the library's minimum album
    size) are left out: their faces are shown in Unsorted instead. Named persons always show.
    """
    floor = min_album_size(library) if min_faces is None else min_faces
    rows = library.con.execute(
        f"""SELECT p.id, p.name, p.hidden,
                   COUNT(f.id), COALESCE(SUM(f.state = 'confirmed'), 0),
                   COALESCE(p.cover_face_id,
                            (SELECT f2.id FROM faces f2 WHERE f2.person_id = p.id
                             AND f2.state IN ({_SHOWN})
                             ORDER BY {cover_order('f2')} LIMIT 1)),
                   COALESCE(SUM(f.state = 'accepted'), 0)
            FROM persons p
            LEFT JOIN faces f ON f.person_id = p.id AND f.state IN ({_SHOWN}) AND {_PRESENT}
            GROUP BY p.id""").fetchall()
    people = [PersonSummary(i, n, bool(h), c, k, cover, a) for i, n, h, c, k, cover, a in rows]
    if hidden_only:
        people = [p for p in people if p.hidden]
    elif not include_hidden:
        people = [p for p in people if not p.hidden]
    people = [p for p in people if p.name is not None or p.faces >= max(floor, 1) or p.confirmed + p.accepted > 0]
    return sorted(people, key=lambda p: (p.name is None, (p.name or "").casefold(), -p.faces, p.id))


def _faces(library: Library, where: str, params: tuple, order: str = "f.id") -> list[FaceInfo]:
    rows = library.con.execute(
        f"""SELECT f.id, f.photo_id, f.x, f.y, f.w, f.h, f.state, f.person_id, p.name, f.score,
                   ph.taken_at,
                   (SELECT l.path FROM locations l WHERE l.photo_id = f.photo_id AND l.status = 'ok'
                    ORDER BY l.path LIMIT 1), f.background
            FROM faces f JOIN photos ph ON ph.id = f.photo_id LEFT JOIN persons p ON p.id = f.person_id
            WHERE {where} ORDER BY {order}""", params).fetchall()
    return [FaceInfo(i, ph, Box(x, y, w, h), st, pid, name, score, taken, decode_path(path) if path else None,
                     bool(bg))
            for i, ph, x, y, w, h, st, pid, name, score, taken, path, bg in rows]


def person_faces(library: Library, person_id: int) -> list[FaceInfo]:
    """Confirmed faces first, then accepted ones, then suggestions; each group by date taken."""
    return _faces(library, f"f.person_id = ? AND f.state IN ({_SHOWN}) AND {_PRESENT}",
                  (person_id,), "f.state = 'confirmed' DESC, f.state = 'accepted' DESC, "
                                "ph.taken_at IS NULL, ph.taken_at, f.id")


def faces_by_id(library: Library, face_ids) -> list[FaceInfo]:
    """These faces, of present photos, in id order."""
    return _faces(library, f"f.id IN (SELECT value FROM json_each(?)) AND {_PRESENT}",
                  (json.dumps([int(f) for f in face_ids]),))


def unsorted_faces(library: Library) -> list[FaceInfo]:
    """Faces in no shown album: undecided ones, and those of unnamed albums below the minimum size;
    background faces last, dismissed ones not at all (`dismissed_faces`)."""
    shown = {p.id for p in list_people(library, include_hidden=True)}
    faces = _faces(library, f"f.state IN ('undecided', 'suggested') AND f.dismissed = 0 AND {_PRESENT}", (),
                   "f.background, f.id")
    return [f for f in faces if f.person_id is None or f.person_id not in shown]


def dismissed_faces(library: Library) -> list[FaceInfo]:
    """Faces the user dismissed as not interesting, of present photos: to look at and restore."""
    return _faces(library, f"f.dismissed = 1 AND f.state != 'not_face' AND {_PRESENT}", ())


def photo_faces(library: Library, photo_id: int) -> list[FaceInfo]:
    """Every face of one photo (for drawing labelled boxes on it), "not a face" included."""
    return _faces(library, "f.photo_id = ?", (photo_id,))


def person_photos(library: Library, person_id: int) -> list[tuple[int, str | None, str | None]]:
    """(photo id, date taken, a path) of a person's photos, sorted by date taken."""
    return [(f.photo_id, f.taken_at, f.path) for f in _unique_photos(person_faces(library, person_id))]


#: "Photos together" modes: every one of the persons, any of them, or all of them and no one else.
SHARED_MODES = ("all", "any", "only")


def shared_photos(library: Library, person_ids: list[int],
                  mode: str = "all") -> list[tuple[int, str | None, str | None]]:
    """(photo id, date taken, a path) of the photos these persons are in, by date taken (unknown last).

    Args:
        person_ids: the persons; a face counts for its person when it is confirmed, accepted or
            suggested, and its photo has a file on disk.
        mode: "all" (each of them is in the photo), "any" (at least one is), or "only" (each of
            them is, and no face of any other person is: no one else recognised; unknown faces
            may be there).
    """
    if mode not in SHARED_MODES:
        raise ValueError(f"mode {mode!r} is not one of {SHARED_MODES}")
    ids = sorted({int(i) for i in person_ids})
    if not ids:
        return []
    wanted = ",".join("?" * len(ids))
    having = "" if mode == "any" else "HAVING COUNT(DISTINCT f.person_id) = ?"
    params: list = [*ids] + ([] if mode == "any" else [len(ids)])
    others = ""
    if mode == "only":
        others = (f"""AND NOT EXISTS (SELECT 1 FROM faces o WHERE o.photo_id = ph.id
                      AND o.state IN ({_SHOWN}) AND o.person_id IS NOT NULL
                      AND o.person_id NOT IN ({wanted}))""")
        params += ids
    rows = library.con.execute(
        f"""SELECT ph.id, ph.taken_at,
                   (SELECT l.path FROM locations l WHERE l.photo_id = ph.id AND l.status = 'ok'
                    ORDER BY l.path LIMIT 1)
            FROM photos ph
            WHERE ph.id IN (SELECT f.photo_id FROM faces f
                            WHERE f.person_id IN ({wanted}) AND f.state IN ({_SHOWN}) AND {_PRESENT}
                            GROUP BY f.photo_id {having})
              {others}
            ORDER BY ph.taken_at IS NULL, ph.taken_at, ph.id""", params).fetchall()
    return [(pid, taken, decode_path(path) if path else None) for pid, taken, path in rows]


def _unique_photos(faces: list[FaceInfo]) -> list[FaceInfo]:
    seen, out = set(), []
    for f in sorted(faces, key=lambda f: (f.taken_at is None, f.taken_at or "", f.photo_id)):
        if f.photo_id not in seen:
            seen.add(f.photo_id)
            out.append(f)
    return out


def person_names(library: Library) -> list[tuple[int, str]]:
    """(id, name) of every named person, by name: for completers."""
    return library.con.execute(
        "SELECT id, name FROM persons WHERE name IS NOT NULL ORDER BY name COLLATE NOCASE").fetchall()


def person_name_and_size(library: Library, person_id: int) -> tuple[str | None, int] | None:
    """(name, confirmed + accepted + suggested faces, of present photos or not) of a person; None
    if there is no such person. For messages such as 'person 6 (Bob, 36 faces)'."""
    return library.con.execute(
        f"SELECT p.name, (SELECT COUNT(*) FROM faces f WHERE f.person_id = p.id "
        f"AND f.state IN ({_SHOWN})) FROM persons p WHERE p.id = ?", (person_id,)).fetchone()


def accepted_count(library: Library, person_id: int) -> int:
    """How many of a person's faces the user kept with its album (accepted)."""
    return library.con.execute("SELECT COUNT(*) FROM faces WHERE person_id = ? AND state = 'accepted'",
                               (person_id,)).fetchone()[0]


def photo_hashes(library: Library) -> dict[int, str]:
    """photo id -> sha256 of every photo."""
    return dict(library.con.execute("SELECT id, sha256 FROM photos").fetchall())


def photo_sizes(library: Library) -> dict[int, tuple[int, int]]:
    """photo id -> (width, height) of the upright image, of every photo."""
    return {pid: (w, h) for pid, w, h in library.con.execute("SELECT id, width, height FROM photos")}


def photo_size(library: Library, photo_id: int) -> tuple[int, int]:
    """(width, height) of one photo's upright image."""
    return library.con.execute("SELECT width, height FROM photos WHERE id = ?", (photo_id,)).fetchone()


def readable_files(library: Library) -> list[tuple[bytes, int]]:
    """(stored path, photo id) of every file the last scan read as a photo, by path."""
    return library.con.execute(
        "SELECT path, photo_id FROM locations WHERE status = 'ok' AND photo_id IS NOT NULL ORDER BY path").fetchall()


# --- for the best-match hints of albums/hints.py ----------------------------------------------

def _references(states: tuple[str, ...], per_person: int) -> tuple[str, tuple]:
    """FROM clause (and its parameters) of the reference faces: each named person's faces in
    `states`, at most `per_person` of them (confirmed first, then the newest)."""
    return ("""FROM (SELECT f.person_id, f.id,
                            ROW_NUMBER() OVER (PARTITION BY f.person_id
                                               ORDER BY f.state = 'confirmed' DESC, f.id DESC) AS n
                     FROM faces f JOIN persons p ON p.id = f.person_id AND p.name IS NOT NULL
                     WHERE f.state IN (SELECT value FROM json_each(?)))
               WHERE n <= ?""", (json.dumps(list(states)), per_person))


def reference_fingerprint(library: Library, states: tuple[str, ...], per_person: int) -> tuple:
    """A value that changes whenever the reference faces (see `reference_vectors`) change: one
    index scan, no vectors read."""
    sql, params = _references(states, per_person)
    return tuple(library.con.execute(
        f"SELECT COUNT(*), TOTAL(id * 1000003.0 + person_id), TOTAL(person_id * person_id) {sql}", params).fetchone())


def reference_vectors(library: Library, model: str, states: tuple[str, ...],
                      per_person: int) -> tuple[np.ndarray, np.ndarray]:
    """(R,) person ids, sorted, and (R, 512) float32 vectors of `model` of the named persons'
    reference faces: their faces in `states`, at most `per_person` each (confirmed first)."""
    sql, params = _references(states, per_person)
    rows = library.con.execute(
        f"""SELECT r.person_id, e.vec FROM (SELECT person_id, id {sql}) r
            JOIN embeddings e ON e.face_id = r.id AND e.model = ? ORDER BY r.person_id""",
        (*params, model)).fetchall()
    person = np.array([r[0] for r in rows], np.int64)
    return person, (vectors_from_rows(r[1] for r in rows) if rows else np.zeros((0, EMBED_DIM), np.float32))


def face_vectors(library: Library, model: str, face_ids: list[int],
                 skip_background: bool = False) -> tuple[list[int], list[int | None], np.ndarray]:
    """(face ids, their person ids, (N, 512) float32 vectors of `model`) of those faces that have
    one; with `skip_background`, only those that are not bystanders of their photo
    (core/library/background.py)."""
    rows = library.con.execute(
        "SELECT f.id, f.person_id, e.vec FROM faces f JOIN embeddings e ON e.face_id = f.id AND e.model = ? "
        "WHERE f.id IN (SELECT value FROM json_each(?))" + (" AND NOT f.background" if skip_background else ""),
        (model, json.dumps([int(i) for i in face_ids]))).fetchall()
    if not rows:
        return [], [], np.zeros((0, EMBED_DIM), np.float32)
    return [r[0] for r in rows], [r[1] for r in rows], vectors_from_rows(r[2] for r in rows)


def rejections_of(library: Library, face_ids: list[int]) -> set[tuple[int, int]]:
    """(face id, person id) of every "not this person" said of these faces."""
    return set(library.con.execute(
        "SELECT face_id, person_id FROM rejections WHERE face_id IN (SELECT value FROM json_each(?))",
        (json.dumps([int(i) for i in face_ids]),)).fetchall())
