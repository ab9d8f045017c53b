"""A hint for faces in no album: the named person each most resembles ("maybe Ann?").

Asked for the few faces a screen shows, not for every unsorted face: one call reads the vectors
of those faces and of at most REFERENCE_FACES held faces per named person, and compares them the
way `update.person_suggestions` ranks candidates (mean squared L2 distance to the person's 3
nearest faces). Nothing is written: a hint is not a suggestion until the user acts on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from photoface.core.albums.review import HELD_STATES
from photoface.core.albums.update import active_model
from photoface.core.faces.verify import SHIPPED_THRESHOLD
from photoface.core.library.store import Library, vectors_from_rows

#: Held faces compared per named person: its confirmed faces first, then the newest accepted.
#: A person's 3 nearest faces among 100 are nearly always as near as among all of them, and a
#: library with 200 named persons then reads at most 20k vectors (~40 MB) per call.
REFERENCE_FACES = 100


@dataclass(frozen=True)
class Hint:
    """The named person a face most resembles, and how far it is (mean squared L2 of its 3 nearest)."""

    person_id: int
    name: str
    distance: float


def match_threshold(library: Library) -> float:
    """Squared L2 under which a face and a person are called the same by `photoface verify`
    (the active model's calibrated threshold; the shipped model's by default)."""
    return float(library.get_setting("verify_thresholds").get(active_model(library), SHIPPED_THRESHOLD))


def best_matches(library: Library, face_ids: list[int], max_dist: float | None = None) -> dict[int, Hint]:
    """face id -> the nearest named person, for the faces with one nearer than `max_dist`.

    Args:
        face_ids: the faces to hint (a screenful; any state, but a face is never matched to a
            person it was rejected from, nor to the person it already belongs to).
        max_dist: squared L2 bound (default: `match_threshold`).

    Returns:
        A dict holding only the faces that got a hint.
    """
    ids = sorted({int(f) for f in face_ids})
    if not ids:
        return {}
    model = active_model(library)
    bound = match_threshold(library) if max_dist is None else float(max_dist)
    con = library.con
    rows = con.execute(
        "SELECT f.id, f.person_id, e.vec FROM faces f JOIN embeddings e ON e.face_id = f.id AND e.model = ? "
        "WHERE f.id IN (SELECT value FROM json_each(?))", (model, json.dumps(ids))).fetchall()
    if not rows:
        return {}
    refs = con.execute(
        """SELECT person_id, name, vec FROM (
               SELECT f.person_id, p.name, e.vec,
                      ROW_NUMBER() OVER (PARTITION BY f.person_id
                                         ORDER BY f.state = 'confirmed' DESC, f.id DESC) AS n
               FROM faces f JOIN persons p ON p.id = f.person_id AND p.name IS NOT NULL
               JOIN embeddings e ON e.face_id = f.id AND e.model = ?
               WHERE f.state IN (SELECT value FROM json_each(?)))
           WHERE n <= ?""", (model, json.dumps(list(HELD_STATES)), REFERENCE_FACES)).fetchall()
    if not refs:
        return {}
    q_ids = np.array([r[0] for r in rows], np.int64)
    q_person = np.array([r[1] if r[1] is not None else -1 for r in rows], np.int64)
    q = vectors_from_rows(r[2] for r in rows)
    ref_person = np.array([r[0] for r in refs], np.int64)
    names = {int(r[0]): r[1] for r in refs}
    ref = vectors_from_rows(r[2] for r in refs)
    d = np.maximum(2.0 - 2.0 * (q @ ref.T), 0.0)  # (faces, reference faces) squared L2
    persons = np.unique(ref_person)
    score = np.full((len(q_ids), len(persons)), np.inf)
    for j, pid in enumerate(persons.tolist()):
        cols = d[:, ref_person == pid]
        near = np.sort(cols, axis=1)[:, :min(3, cols.shape[1])]
        score[:, j] = near.mean(axis=1)
    rejected = set(con.execute(
        "SELECT face_id, person_id FROM rejections WHERE face_id IN (SELECT value FROM json_each(?))",
        (json.dumps(ids),)).fetchall())
    for i, fid in enumerate(q_ids.tolist()):
        for j, pid in enumerate(persons.tolist()):
            if pid == q_person[i] or (fid, pid) in rejected:
                score[i, j] = np.inf
    out = {}
    for i, fid in enumerate(q_ids.tolist()):
        j = int(np.argmin(score[i]))
        if score[i, j] < bound:
            pid = int(persons[j])
            out[fid] = Hint(pid, names[pid], float(score[i, j]))
    return out
