"""A hint for faces in no album: the named person each most resembles ("maybe Ann?").

Asked for the few faces a screen shows, not for every unsorted face: one call reads the vectors
of those faces and compares them with at most REFERENCE_FACES held faces per named person, the
way `update.person_suggestions` ranks candidates (mean squared L2 distance to the person's 3
nearest faces), for the CANDIDATES persons whose mean face is nearest (so 10k named persons cost
a (faces × 10k) product, not one with every reference face). The reference vectors are kept
between calls (a scroll asks again every screen) until a decision changes which faces the named
persons hold. Nothing is written: a hint is not a
suggestion until the user acts on it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import numpy as np

from photoface.core.albums.review import HELD_STATES
from photoface.core.albums.update import active_model
from photoface.core.faces.verify import SHIPPED_THRESHOLD
from photoface.core.library.store import EMBED_DIM, Library, vectors_from_rows

#: Held faces compared per named person: its confirmed faces first, then the newest accepted.
#: A person's 3 nearest faces among 100 are nearly always as near as among all of them, and a
#: library with 200 named persons then reads at most 20k vectors (~40 MB) per call.
REFERENCE_FACES = 100
#: Named persons compared face by face, per face: those with the nearest mean face.
CANDIDATES = 8


_REFS_SQL = """FROM (SELECT f.person_id, f.id, f.state,
                         ROW_NUMBER() OVER (PARTITION BY f.person_id
                                            ORDER BY f.state = 'confirmed' DESC, f.id DESC) AS n
                  FROM faces f JOIN persons p ON p.id = f.person_id AND p.name IS NOT NULL
                  WHERE f.state IN (SELECT value FROM json_each(?)))
             WHERE n <= ?"""

@dataclass(frozen=True)
class _References:
    """The named persons' reference faces, grouped by person.

    persons -- (P,) person ids; starts -- (P + 1,) row bounds of each person's faces in `vectors`;
    vectors -- (R, 512) float32; means -- (P, 512) float32 unit mean face of each person.
    """

    persons: np.ndarray
    starts: np.ndarray
    vectors: np.ndarray
    means: np.ndarray


#: (library folder, model) -> (fingerprint, _References) of the last call.
_references: dict[tuple[str, str], tuple[tuple, _References]] = {}
_references_lock = threading.Lock()


def _reference_vectors(library: Library, model: str) -> _References:
    """The named persons' reference faces, read again only when they changed."""
    params = (json.dumps(list(HELD_STATES)), REFERENCE_FACES)
    # Which faces are references, in one index scan and no vectors: any decision that gives or
    # takes a held face (confirm, move, merge, rename, forget, undo, a regroup) changes it.
    fingerprint = library.con.execute(
        f"SELECT COUNT(*), TOTAL(id * 1000003.0 + person_id), TOTAL(person_id * person_id) {_REFS_SQL}",
        params).fetchone()
    key = (str(library.root), model)
    with _references_lock:
        cached = _references.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    rows = library.con.execute(
        f"""SELECT r.person_id, e.vec FROM (SELECT person_id, id {_REFS_SQL}) r
            JOIN embeddings e ON e.face_id = r.id AND e.model = ? ORDER BY r.person_id""",
        (*params, model)).fetchall()
    person = np.array([r[0] for r in rows], np.int64)
    vectors = vectors_from_rows(r[1] for r in rows) if rows else np.zeros((0, EMBED_DIM), np.float32)
    persons, starts = np.unique(person, return_index=True)
    starts = np.append(starts, len(person)).astype(np.int64)
    sums = np.add.reduceat(vectors, starts[:-1], axis=0) if len(persons) else np.zeros((0, EMBED_DIM), np.float32)
    means = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    refs = _References(persons, starts, vectors, means)
    with _references_lock:
        _references[key] = (fingerprint, refs)
    return refs


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
    refs = _reference_vectors(library, model)
    if not len(refs.persons):
        return {}
    names = dict(con.execute("SELECT id, name FROM persons WHERE name IS NOT NULL"))
    rejected = set(con.execute(
        "SELECT face_id, person_id FROM rejections WHERE face_id IN (SELECT value FROM json_each(?))",
        (json.dumps(ids),)).fetchall())
    column = {int(p): j for j, p in enumerate(refs.persons.tolist())}
    q_ids = [r[0] for r in rows]
    q = vectors_from_rows(r[2] for r in rows)
    to_mean = 2.0 - 2.0 * (q @ refs.means.T)  # (faces, persons) squared L2 to each mean face
    for i, (fid, person, _) in enumerate(rows):  # never its own person, nor one it was taken out of
        for pid in [person] + [p for f, p in rejected if f == fid]:
            if pid in column:
                to_mean[i, column[pid]] = np.inf
    near = min(CANDIDATES, len(refs.persons))
    candidates = np.argpartition(to_mean, near - 1, axis=1)[:, :near]
    best = []  # (face row, person column, score)
    for i in range(len(q_ids)):
        scores = []
        for j in candidates[i].tolist():
            if not np.isfinite(to_mean[i, j]):
                continue
            own = refs.vectors[refs.starts[j]:refs.starts[j + 1]]
            d = np.sort(np.maximum(2.0 - 2.0 * (own @ q[i]), 0.0))[:3]
            scores.append((float(d.mean()), j))
        if scores:
            score, j = min(scores)
            best.append((i, j, score))
    out = {}
    for i, j, score in best:
        pid = int(refs.persons[j])
        if score < bound and pid in names:
            out[int(q_ids[i])] = Hint(pid, names[pid], score)
    return out
