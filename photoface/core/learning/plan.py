"""What fine-tuning learns from: the confirmed faces, split into training and validation faces.

Every person (named or not) with at least 2 confirmed faces takes part; each person's confirmed
faces are split, seeded by face id, into training and validation faces. A face rejected from a
person (and confirmed for nobody) is a known negative of that person.

Two more sets keep strangers safe (issue 16, "learning that does not forget"):
- held-out persons: when the library has enough persons, the two with the fewest confirmed faces
  (of those with at least `HOLDOUT_MIN_FACES`) stay out of training altogether, and the offer
  check measures on them how well the new model tells apart people it never learnt;
- strangers: up to `MAX_STRANGERS` faces the user never touched, whose shipped-model embeddings
  training keeps (distillation, core/learning/triplet.py). Faces the engine suggests for a person
  the user confirmed are left out: they are mostly that person's other photos, the very faces
  training should move towards the confirmed ones. Distilling them too (at weight 16, four family
  sets x 3 seeds, benchmarks/finetune.py --strangers untouched) cut the known people's AUC gain
  from +0.061 to +0.040 and was no safer for strangers (worst TAR at FAR 1e-3 -0.027, not -0.009).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from photoface.core.albums.engine import good_quality
from photoface.core.albums.evidence import MIN_HELD, NEAREST, mean_nearest
from photoface.core.albums.knn import sq_dist
from photoface.core.errors import PhotofaceError
from photoface.core.library.learning_rows import (confirmed_faces, face_facts, rejections,
                                                  suggested_for_confirmed_persons, untouched_faces)
from photoface.core.library.store import Library

MIN_PERSONS = 2
MIN_FACES = 2              # confirmed faces a person needs to take part
# Held out of training for the stranger check: 2 persons, so that the check has pairs of
# different people it never learnt; 4 faces each at least, else their AUC is a handful of pairs;
# only when 4 persons qualify, so that at least 2 are left to learn from.
HOLDOUT_PERSONS = 2
HOLDOUT_MIN_FACES = 4
HOLDOUT_MIN_PERSONS = 4
#: A suggested face counts as its person's (and is not distilled) within this many times the 75th
#: percentile of the person's confirmed faces' mean distance to their nearest others (`_claimed`).
CLAIM_SLACK = 1.25
CLAIM_PERCENTILE = 75
# Faces never touched that training keeps near the shipped model: 512 costs about as much
# feature time as 256 confirmed faces (both views), and is plenty for a mean over 64 a step.
MAX_STRANGERS = 512


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
        holdout_face_ids, holdout_person: (H,) int64 confirmed faces of the held-out persons and
            their person ids (empty: too few persons to hold any out; see `holdout_note`).
        stranger_face_ids: (S,) int64 faces the user never touched, for distillation.
        holdout_note: why no person is held out ("" when some are).
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
    holdout_face_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    holdout_person: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    stranger_face_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    holdout_note: str = ""

    @property
    def persons(self) -> int:
        return int(len(np.unique(self.person)))

    def summary(self) -> dict:
        """Counts for reports and info.json."""
        return {"persons": self.persons, "confirmed_faces": int(len(self.face_ids)),
                "train_faces": int((~self.val).sum()), "val_faces": int(self.val.sum()),
                "val_persons": int(len(np.unique(self.person[self.val]))),
                "rejected_faces": int(len(self.neg_face_ids)), "split_seed": self.seed,
                "holdout_persons": int(len(np.unique(self.holdout_person))),
                "holdout_faces": int(len(self.holdout_face_ids)),
                "stranger_faces": int(len(self.stranger_face_ids))}


def _split_rank(face_id: int, seed: int) -> str:
    # A face's place in the split depends only on its id and the seed: later runs, with more
    # confirmations, keep earlier validation faces in validation.
    return hashlib.sha256(f"{seed}:{face_id}".encode()).hexdigest()


def plan_training(library: Library, val_fraction: float = 0.25, seed: int = 0,
                  hold_out: bool = True, strangers: str = "unclaimed") -> TrainingData:
    """Collects the confirmed faces to learn from and splits them into training and validation,
    holds out persons for the stranger check (when `hold_out` and there are enough) and samples
    the untouched faces to distil on: with `strangers` "unclaimed" those not suggested for a
    person the user confirmed, with "untouched" all of them.

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
    held, note = _held_out(persons, seed) if hold_out else (set(), "no person was held out")
    split = _split({p: f for p, f in persons.items() if p not in held}, val_fraction, seed) if held else None
    if split is None:  # none held out, or too few left to validate: every person trains
        held, note = (set(), note or "too few people would be left to learn from and validate")
        split = _split(persons, val_fraction, seed)
    if split is None:
        raise NotEnoughToLearn(
            "Too few confirmed faces to check whether learning helps: at least two people need "
            f"about {math.ceil(2 / max(val_fraction, 1e-6)) + 2} or more confirmed faces "
            "(some are kept aside to test the new model). Confirm more faces and try again.")
    face_ids_a, person_a, val_a = split
    persons = {p: f for p, f in persons.items() if p not in held}
    confirmed = {f for f, _ in rows}
    neg = [(f, p) for f, p in rejections(library) if f not in confirmed and p in persons]
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
        neg_good=good_quality(neg_facts.size_px, neg_facts.sharpness, neg_facts.score, settings),
        holdout_face_ids=np.array([f for p in sorted(held) for f in sorted(by_person[p])], np.int64),
        holdout_person=np.array([p for p in sorted(held) for _ in by_person[p]], np.int64),
        stranger_face_ids=_strangers(library, seed, strangers), holdout_note=note)


def _held_out(persons: dict[int, list[int]], seed: int) -> tuple[set[int], str]:
    """The persons kept out of training for the stranger check, and why none are ("" if some).

    The ones with the fewest confirmed faces (of at least HOLDOUT_MIN_FACES) go: training learns
    least from them, and the check needs none of the user's favourite people. The offered model
    is the one the check measured, so they stay out of it too (a second run on every person
    would offer a model no check had seen)."""
    eligible = [p for p, f in persons.items() if len(f) >= HOLDOUT_MIN_FACES]
    if len(eligible) < HOLDOUT_MIN_PERSONS:
        return set(), (f"it needs {HOLDOUT_MIN_PERSONS} people with {HOLDOUT_MIN_FACES} or more confirmed "
                       f"faces, this library has {len(eligible)}")
    eligible.sort(key=lambda p: (len(persons[p]), _split_rank(p, seed)))
    return set(eligible[:HOLDOUT_PERSONS]), ""


def _split(persons: dict[int, list[int]], val_fraction: float,
           seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(face ids, person ids, validation flags) of `persons`' faces; None if too few validate.

    Per person with n faces, round(n * val_fraction) of them (at most n - 2, so that 2 stay for
    training) go to validation, chosen by a seeded hash of the face id."""
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
        return None
    return np.array(face_ids, np.int64), person_a, val_a


def _claimed(library: Library, suggested: dict[int, int]) -> set[int]:
    """The suggested faces ({face: person}) that lie inside their person's core: a mean distance to
    the person's `NEAREST` nearest confirmed faces within CLAIM_SLACK times the 75th percentile of
    the same figure among the confirmed faces themselves (persons with fewer than MIN_HELD
    confirmed faces claim every suggestion: too few to measure a core).

    A suggestion is the grouping's guess; where it merged a stranger's whole album into a known
    person, those faces are no more that person's than any other stranger's, and they need
    distilling most. On japanese_actors (seed 3 of benchmarks/finetune.py) the grouping suggested
    68 faces of the two people held out of training for one known person; this core keeps 3 of
    them claimed, and 79 of the 86 faces truly theirs.
    """
    if not suggested:
        return set()
    confirmed = confirmed_faces(library)
    ids, x = library.embeddings(library.model_version(), face_ids=list(suggested) + [f for f, _ in confirmed],
                                present_only=False)
    row = {int(f): i for i, f in enumerate(ids)}
    by_person: dict[int, list[int]] = {}
    for f, p in confirmed:
        if f in row:
            by_person.setdefault(int(p), []).append(row[f])
    suggested_to: dict[int, list[int]] = {}
    for f, p in suggested.items():
        if f in row:
            suggested_to.setdefault(int(p), []).append(f)
    claimed = set()
    for person, faces in suggested_to.items():
        own = by_person.get(person, [])
        if len(own) < MIN_HELD:
            claimed.update(faces)
            continue
        d = sq_dist(x[own], x[own])
        np.fill_diagonal(d, np.inf)
        core = CLAIM_SLACK * float(np.percentile(mean_nearest(d, NEAREST), CLAIM_PERCENTILE))
        near = mean_nearest(sq_dist(x[[row[f] for f in faces]], x[own]), NEAREST)
        claimed.update(f for f, n in zip(faces, near.tolist()) if n <= core)
    return claimed


def _strangers(library: Library, seed: int, which: str) -> np.ndarray:
    """Up to MAX_STRANGERS faces the user never touched ("unclaimed": and not suggested for a
    person the user confirmed), a seeded sample, in id order."""
    if which not in ("unclaimed", "untouched"):
        raise ValueError(f"strangers must be 'unclaimed' or 'untouched', got {which!r}")
    faces = untouched_faces(library)
    if which == "unclaimed":
        claimed = _claimed(library, suggested_for_confirmed_persons(library))
        faces = [f for f in faces if f not in claimed]
    if len(faces) > MAX_STRANGERS:
        faces = sorted(faces, key=lambda f: _split_rank(f, seed))[:MAX_STRANGERS]
    return np.array(sorted(faces), np.int64)

