"""What learning reads from and writes to the library, besides embeddings (core/learning/).

Training faces (confirmed ones, the faces rejected from a person, the faces the user never
touched and those of them suggested for the user's persons, where and how well each was seen),
every face (to calibrate the INT8 model on) and the faces a model version still lacks, the
deletion of a version's embeddings, and the located photos that labelled datasets are matched
against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from photoface.core.library.store import Library, present


def confirmed_faces(library: Library) -> list[tuple[int, int]]:
    """(face id, person id) of every confirmed face, in face id order."""
    return library.con.execute(
        "SELECT id, person_id FROM faces WHERE state = 'confirmed' AND person_id IS NOT NULL "
        "ORDER BY id").fetchall()


def rejections(library: Library) -> list[tuple[int, int]]:
    """(face id, person id) of every rejection, in that order."""
    return library.con.execute("SELECT face_id, person_id FROM rejections ORDER BY face_id, person_id").fetchall()


def untouched_faces(library: Library) -> list[int]:
    """Ids of the present faces the user never touched, in id order: undecided or suggested
    (neither accepted, confirmed nor marked "not a face") and rejected from nobody."""
    return [f for (f,) in library.con.execute(
        "SELECT f.id FROM faces f WHERE f.state IN ('undecided', 'suggested') AND NOT EXISTS "
        "(SELECT 1 FROM rejections r WHERE r.face_id = f.id) AND " + present() + " ORDER BY f.id")]


def suggested_for_confirmed_persons(library: Library) -> dict[int, int]:
    """{face id: person id} of the faces the engine suggests (not the user) for a person the user
    confirmed faces of."""
    return dict(library.con.execute(
        "SELECT f.id, f.person_id FROM faces f WHERE f.state = 'suggested' AND EXISTS "
        "(SELECT 1 FROM faces c WHERE c.person_id = f.person_id AND c.state = 'confirmed')").fetchall())


@dataclass(frozen=True)
class FaceFacts:
    """Where and how well some faces were seen, in the order asked.

    Attributes:
        photo: (N,) int64 photo ids.
        size_px: (N,) float32 longer side of the face box.
        sharpness: (N,) float32 variance of the Laplacian, NaN where unknown.
        score: (N,) float32 detector score.
    """

    photo: np.ndarray
    size_px: np.ndarray
    sharpness: np.ndarray
    score: np.ndarray


def face_facts(library: Library, face_ids: np.ndarray) -> FaceFacts:
    """FaceFacts of `face_ids` (each must exist)."""
    rows = {r[0]: r[1:] for r in library.con.execute(
        "SELECT id, photo_id, w, h, sharpness, score FROM faces WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps([int(f) for f in face_ids]),))}
    facts = [rows[int(f)] for f in face_ids]
    return FaceFacts(photo=np.array([r[0] for r in facts], np.int64),
                     size_px=np.array([max(r[1], r[2]) for r in facts], np.float32),
                     sharpness=np.array([np.nan if r[3] is None else r[3] for r in facts], np.float32),
                     score=np.array([r[4] for r in facts], np.float32))


def every_face(library: Library) -> list[int]:
    """Ids of every face (of any state, present or not), in id order."""
    return [f for (f,) in library.con.execute("SELECT id FROM faces ORDER BY id")]


def faces_missing(library: Library, version: str) -> list[int]:
    """Ids of every face (of any state, present or not) without an embedding of `version`."""
    return [f for (f,) in library.con.execute(
        "SELECT f.id FROM faces f WHERE NOT EXISTS "
        "(SELECT 1 FROM embeddings e WHERE e.face_id = f.id AND e.model = ?) ORDER BY f.id", (version,))]


def delete_embeddings_of_weights(library: Library, weights_id: str) -> None:
    """Deletes every embedding of a weights id, whatever its preprocessing (one transaction)."""
    with library.transaction() as con:
        # Model ids are hex, no LIKE wildcards.
        con.execute("DELETE FROM embeddings WHERE model LIKE ?", (f"{weights_id}:%",))


def located_photos(library: Library) -> list[tuple[bytes, int, int, int]]:
    """(stored path, photo id, width, height) of every file the last scan read, by path."""
    return library.con.execute(
        "SELECT l.path, p.id, p.width, p.height FROM locations l JOIN photos p ON p.id = l.photo_id "
        "WHERE l.status = 'ok' ORDER BY l.path").fetchall()
