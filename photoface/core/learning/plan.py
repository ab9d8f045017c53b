"""What fine-tuning learns from: the confirmed faces, split into training and validation faces.

Every person (named or not) with at least 2 confirmed faces takes part; each person's confirmed
faces are split, seeded by face id, into training and validation faces. A face rejected from a
person (and confirmed for nobody) is a known negative of that person.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from photoface.core.albums.engine import good_quality
from photoface.core.errors import PhotofaceError
from photoface.core.library.learning_rows import confirmed_faces, face_facts, rejections
from photoface.core.library.store import Library

MIN_PERSONS = 2
MIN_FACES = 2              # confirmed faces a person needs to take part


class NotEnoughToLearn(PhotofaceError):
    """Too few confirmed faces to fine-tune; the message says what the user can do."""


@dataclass
class TrainingData:
    """The confirmed faces a fine-tuning run uses, and their split.

    Attributes:
        face_ids: (N,) int64 confirmed faces of persons with >= 2 confirmed faces.
        person: (N,) int64 their person ids.
        val: (N,) bool, True for validation faces (never trained on).
        neg_face_ids: (M,) int64 faces rejected from a person and confirmed for nobody.
        neg_person: (M,) int64 the person each of those was rejected from.
        seed: seed of the split.
        photo, neg_photo: (N,), (M,) int64 photo ids of those faces (None: unknown, one photo each).
        good, neg_good: (N,), (M,) bool, good enough to attract matches by the library's quality
            floors (None: all are).
    """

    face_ids: np.ndarray
    person: np.ndarray
    val: np.ndarray
    neg_face_ids: np.ndarray
    neg_person: np.ndarray
    seed: int = 0
    photo: np.ndarray | None = None
    neg_photo: np.ndarray | None = None
    good: np.ndarray | None = None
    neg_good: np.ndarray | None = None

    @property
    def persons(self) -> int:
        return int(len(np.unique(self.person)))

    def summary(self) -> dict:
        """Counts for reports and info.json."""
        return {"persons": self.persons, "confirmed_faces": int(len(self.face_ids)),
                "train_faces": int((~self.val).sum()), "val_faces": int(self.val.sum()),
                "val_persons": int(len(np.unique(self.person[self.val]))),
                "rejected_faces": int(len(self.neg_face_ids)), "split_seed": self.seed}


def _split_rank(face_id: int, seed: int) -> str:
    # A face's place in the split depends only on its id and the seed: later runs, with more
    # confirmations, keep earlier validation faces in validation.
    return hashlib.sha256(f"{seed}:{face_id}".encode()).hexdigest()


def plan_training(library: Library, val_fraction: float = 0.25, seed: int = 0) -> TrainingData:
    """Collects the confirmed faces to learn from and splits them into training and validation.

    Per person with n >= 2 confirmed faces, round(n * val_fraction) of them (at most n - 2, so that
    2 stay for training) go to validation, chosen by a seeded hash of the face id.

    Raises:
        NotEnoughToLearn: fewer than 2 persons with 2 confirmed faces, or too few to validate
            (no two validation faces of one person).
    """
    rows = confirmed_faces(library)
    by_person: dict[int, list[int]] = {}
    for fid, pid in rows:
        by_person.setdefault(int(pid), []).append(int(fid))
    persons = {p: f for p, f in by_person.items() if len(f) >= MIN_FACES}
    if len(persons) < MIN_PERSONS:
        raise NotEnoughToLearn(
            f"Learning needs at least {MIN_PERSONS} people with {MIN_FACES} or more confirmed faces "
            f"each; this library has {len(persons)}. Confirm a few more faces of different people "
            f"and try again.")
    face_ids, person, val = [], [], []
    for p in sorted(persons):
        faces = sorted(persons[p], key=lambda f: _split_rank(f, seed))
        n_val = min(int(round(len(faces) * val_fraction)), len(faces) - MIN_FACES)
        for i, f in enumerate(faces):
            face_ids.append(f)
            person.append(p)
            val.append(i < n_val)
    val_a = np.array(val, bool)
    person_a = np.array(person, np.int64)
    _, val_counts = np.unique(person_a[val_a], return_counts=True)
    if not (val_counts >= 2).any() or len(val_counts) < 2:
        raise NotEnoughToLearn(
            "Too few confirmed faces to check whether learning helps: at least two people need "
            f"about {math.ceil(2 / max(val_fraction, 1e-6)) + 2} or more confirmed faces "
            "(some are kept aside to test the new model). Confirm more faces and try again.")
    confirmed = {f for f, _ in rows}
    neg = [(f, p) for f, p in rejections(library) if f not in confirmed and p in persons]
    face_ids_a = np.array(face_ids, np.int64)
    neg_ids = np.array([f for f, _ in neg], np.int64)
    # Validation groups these faces as the app would group them: it needs their photos (two faces
    # of one photo are two people) and their quality.
    settings = library.settings()
    facts, neg_facts = face_facts(library, face_ids_a), face_facts(library, neg_ids)
    return TrainingData(
        face_ids=face_ids_a, person=person_a, val=val_a, neg_face_ids=neg_ids,
        neg_person=np.array([p for _, p in neg], np.int64), seed=seed,
        photo=facts.photo, neg_photo=neg_facts.photo,
        good=good_quality(facts.size_px, facts.sharpness, facts.score, settings),
        neg_good=good_quality(neg_facts.size_px, neg_facts.sharpness, neg_facts.score, settings))

