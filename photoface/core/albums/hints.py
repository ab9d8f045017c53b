"""A hint for faces in no album: the named person each most resembles ("maybe Ann?").

Asked for the few faces a screen shows, not for every unsorted face: one call reads the vectors
of those faces and compares them with at most REFERENCE_FACES held faces per named person, the
way `update.person_suggestions` ranks candidates (mean squared L2 distance to the person's 3
nearest faces), for the CANDIDATES persons whose mean face is nearest (so 10k named persons cost
a (faces × 10k) product, not one with every reference face). The reference vectors are kept
between calls (a scroll asks again every screen) until a decision changes which faces the named
persons hold. The queries are library/people.py's. Nothing is written: a hint is not a suggestion
until the user acts on it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from photoface.core.albums.evidence import NEAREST, mean_nearest
from photoface.core.albums.knn import sq_dist
from photoface.core.albums.review import HELD_STATES
from photoface.core.faces.verify import SHIPPED_THRESHOLD
from photoface.core.library import people
from photoface.core.library.persons import named_persons
from photoface.core.library.store import EMBED_DIM, Library

#: Held faces compared per named person: its confirmed faces first, then the newest accepted.
#: A person's 3 nearest faces among 100 are nearly always as near as among all of them, and a
#: library with 200 named persons then reads at most 20k vectors (~40 MB), once per change.
REFERENCE_FACES = 100
#: Named persons compared face by face, per face: those with the nearest mean face.
CANDIDATES = 8
#: A hint names a person only when the next candidate is at least this many times farther, and
#: never for a bystander of its photo (core/library/background.py). Measured on the five
#: family-shaped sets and lfw_subset, each album named after the identity most of its faces have
#: and every face left outside a named album hinted: with the verify threshold alone, 40 hints
#: named the right person, 32 someone else, and 186 fell on unlabelled faces (a photo's other
#: people; 115 of them flagged as bystanders); with this rule, 28 right, 16 wrong, 29 unlabelled
#: and no bystander. A wrong name on a stranger costs the user more than a missing one: a face
#: with no hint is still one click from any name.
MARGIN = 1.1


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
    # Any decision that gives or takes a held face (confirm, move, merge, rename, forget, undo, a
    # regroup) changes the fingerprint.
    fingerprint = people.reference_fingerprint(library, HELD_STATES, REFERENCE_FACES)
    key = (str(library.root), model)
    with _references_lock:
        cached = _references.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    person, vectors = people.reference_vectors(library, model, HELD_STATES, REFERENCE_FACES)
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
    return float(library.get_setting("verify_thresholds").get(library.model_version(), SHIPPED_THRESHOLD))


def best_matches(library: Library, face_ids: list[int], max_dist: float | None = None) -> dict[int, Hint]:
    """face id -> the nearest named person, for the faces with one nearer than `max_dist` and the
    next named person MARGIN times farther; bystanders of their photo get none.

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
    model = library.model_version()
    bound = match_threshold(library) if max_dist is None else float(max_dist)
    q_ids, q_person, q = people.face_vectors(library, model, ids, skip_background=True)
    if not q_ids:
        return {}
    refs = _reference_vectors(library, model)
    if not len(refs.persons):
        return {}
    names = named_persons(library.con)
    rejected = people.rejections_of(library, ids)
    column = {int(p): j for j, p in enumerate(refs.persons.tolist())}
    to_mean = sq_dist(q, refs.means)  # (faces, persons) squared L2 to each mean face
    for i, (fid, person) in enumerate(zip(q_ids, q_person)):  # not its own person, nor one it left
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
            scores.append((float(mean_nearest(sq_dist(q[i:i + 1], own), NEAREST)[0]), j))
        scores = [s for s in scores if int(refs.persons[s[1]]) in names]
        if scores:
            scores.sort()
            score, j = scores[0]
            runner_up = scores[1][0] if len(scores) > 1 else np.inf
            if score < bound and runner_up >= MARGIN * score:
                best.append((i, j, score))
    out = {}
    for i, j, score in best:
        pid = int(refs.persons[j])
        out[int(q_ids[i])] = Hint(pid, names[pid], score)
    return out
