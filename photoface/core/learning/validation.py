"""Does a fine-tuned model help? The offer check, on the albums the app itself would make.

Before and after, on the validation faces only (core/learning/plan.py keeps them out of training):
(1) verification ROC AUC over all pairs of validation faces, and (2) ops-to-clean of the albums
the album engine makes of them (core/albums/engine.py, the very function the app groups with),
the training faces held as confirmed anchors, the validation faces and the faces the user
rejected free, with their photos, quality and the user's rejections; (3) the wrong suggestions
those albums give the user's persons. The new model is offered only if its AUC is at most
`AUC_TOLERANCE` below the current model's, its ops-to-clean is not higher and it makes no more
wrong suggestions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoface.core.albums.engine import (NEW_ALBUM, FacesToGroup, album_labels, group_faces,
                                          neighbour_lists)
from photoface.core.albums.evidence import filter_suggestions
from photoface.core.learning import metrics
from photoface.core.learning.plan import TrainingData

AUC_TOLERANCE = 0.002      # the new model may lose at most this much validation AUC


@dataclass
class Figures:
    """Validation figures of one model: ROC AUC over all pairs of validation faces, ops-to-clean
    of the albums of the validation faces (training faces as confirmed anchors), the number of
    validation faces, and the wrong suggestions those albums give the user's persons: a
    validation face suggested for another person, or a face the user rejected from a person
    that the engine grouped with that person (the rejection alone keeps it out: it measures
    the model, not the rule)."""

    auc: float
    ops_to_clean: int
    faces: int
    wrong_suggestions: int = 0


def validation_albums(x: np.ndarray, anchor: np.ndarray, settings: dict, photo: np.ndarray | None = None,
                      good: np.ndarray | None = None, rejected: set[tuple[int, int]] | None = None,
                      x_gate: np.ndarray | None = None) -> np.ndarray:
    """Albums of faces held in memory, as the app makes them (`update_albums(full=True)`).

    Args:
        x: (N, 512) float32 unit embeddings.
        anchor: (N,) int64 person index >= 0 for faces held by the user, -1 for free ones.
        settings: the library's settings (cluster_* keys, min_album_size).
        photo: (N,) int64 photo ids (default: one photo per face).
        good: (N,) bool, good enough quality (default: all; held faces always are).
        rejected: {(row, person index)} the user rejected.
        x_gate: the shipped model's embeddings of the same faces, for the evidence test of
            suggestions for the persons (core/albums/evidence.py); None: `x` is them (no test).

    Returns:
        (N,) int64: the person index for faces joined to a person, larger numbers for new albums,
        -1 for Unsorted.
    """
    return _grouped(x, anchor, settings, photo, good, rejected, x_gate)[0]


def _grouped(x, anchor, settings, photo=None, good=None, rejected=None, x_gate=None):
    """`validation_albums`, and the same albums were rejections not enforced at the end (a face
    rejected from the person its component holds still shows that person)."""
    n = len(x)
    held = anchor >= 0
    faces = FacesToGroup(ids=np.arange(n, dtype=np.int64), x=np.ascontiguousarray(x, np.float32),
                         anchor=anchor.astype(np.int64), held=held, movable=~held,
                         good=(np.ones(n, bool) if good is None else good) | held,
                         photo=np.arange(n, dtype=np.int64) if photo is None else photo)
    rejected = rejected or set()
    grouping = group_faces(faces, neighbour_lists(faces, int(settings["cluster_k"])), settings, rejected)
    labels = album_labels(grouping, faces, rejected, int(settings["min_album_size"]))
    top = int(anchor.max()) + 1 if held.any() else 0
    labels = np.where(labels <= NEW_ALBUM, top + NEW_ALBUM - labels, labels)  # new albums after the persons
    comp_person = grouping.component_person()
    unenforced = np.where(faces.movable & (comp_person >= 0), comp_person, labels)
    if x_gate is None:  # the shipped model: its grouping is the evidence
        return labels, unenforced
    # A fine-tuned model: every trained person is one the user confirmed, and suggestions for them
    # must show the shipped model's evidence, as in the app.
    persons = set(np.unique(anchor[held]).tolist())
    gate = (x_gate, np.ones(n, bool))
    unenforced = filter_suggestions(faces.x, unenforced, faces.movable, faces.anchor, persons, faces.good, *gate)
    # The evidence test judges each candidate alone, so filtering the enforced albums equals
    # filtering these and then enforcing the rejections.
    return np.where((labels == -1) & faces.movable, -1, unenforced), unenforced


def validation_figures(x: np.ndarray, data: TrainingData, settings: dict,
                       x_neg: np.ndarray | None = None, shipped: tuple | None = None) -> Figures:
    """Figures of one model's embeddings of `data.face_ids` (rows in that order) and, when given,
    of `data.neg_face_ids` (`x_neg`: faces the user rejected, grouped with the rest as free faces).
    `shipped`: (faces, rejected faces) as the shipped model embeds them, for the evidence test
    of a fine-tuned model (None: `x` and `x_neg` are the shipped model's; no test)."""
    val = data.val
    person_ids, codes = np.unique(data.person, return_inverse=True)
    codes = codes.astype(np.int64)
    auc = metrics.roc_auc_same_vs_different(x[val], codes[val])
    n, n_neg = len(x), 0 if x_neg is None else len(x_neg)
    x_all = x if not n_neg else np.concatenate([x, x_neg])
    anchor = np.concatenate([np.where(val, -1, codes), np.full(n_neg, -1, np.int64)])
    # Faces of unknown photos get photo ids no real photo has (negative ones).
    photo = np.concatenate([_or_unique(data.photo, n, 0), _or_unique(data.neg_photo, n_neg, n)])[:n + n_neg]
    good = np.concatenate([_or_true(data.good, n), _or_true(data.neg_good, n_neg)])[:n + n_neg]
    rejected_from = np.searchsorted(person_ids, data.neg_person[:n_neg])
    rejected = {(n + i, int(p)) for i, p in enumerate(rejected_from.tolist())}
    x_gate = None if shipped is None else np.concatenate([shipped[0], shipped[1]]) if n_neg else shipped[0]
    pred, unenforced = _grouped(np.ascontiguousarray(x_all, np.float32), anchor, settings, photo, good,
                                rejected, x_gate)
    ops = metrics.ops_to_clean(codes[val], pred[:n][val])
    known = (pred >= 0) & (pred < len(person_ids))
    wrong = int((known[:n] & val & (pred[:n] != codes)).sum())
    if n_neg:
        wrong += int((unenforced[n:] == rejected_from).sum())
    return Figures(round(float(auc), 5), int(ops), int(val.sum()), wrong)


def _or_unique(photo: np.ndarray | None, n: int, start: int) -> np.ndarray:
    return np.asarray(photo, np.int64) if photo is not None else -1 - np.arange(start, start + n, dtype=np.int64)


def _or_true(good: np.ndarray | None, n: int) -> np.ndarray:
    return np.asarray(good, bool) if good is not None else np.ones(n, bool)


def accept(before: Figures, after: Figures) -> tuple[bool, str]:
    """The rule for offering a new model: AUC not lower by more than 0.002, ops-to-clean not
    higher, and no more wrong suggestions for the user's persons."""
    if after.wrong_suggestions > before.wrong_suggestions:
        return False, (f"not offered: it would suggest {after.wrong_suggestions} wrong faces for the people you "
                       f"confirmed instead of {before.wrong_suggestions}; keeping the current model")
    if after.auc < before.auc - AUC_TOLERANCE:
        return False, (f"not offered: validation AUC would drop from {before.auc:.4f} to {after.auc:.4f}; "
                       f"keeping the current model")
    if after.ops_to_clean > before.ops_to_clean:
        return False, (f"not offered: albums of the test faces would need {after.ops_to_clean} corrections "
                       f"instead of {before.ops_to_clean}; keeping the current model")
    return True, (f"offered: validation AUC {before.auc:.4f} -> {after.auc:.4f}, corrections "
                  f"{before.ops_to_clean} -> {after.ops_to_clean}, wrong suggestions "
                  f"{before.wrong_suggestions} -> {after.wrong_suggestions}")


def best_verify_threshold(x: np.ndarray, codes: np.ndarray) -> float | None:
    """Best-accuracy same/different threshold over the validation pairs (None without both kinds)."""
    from photoface.core.faces.verify import best_threshold

    d_same, d_diff = metrics.pair_distances(x, codes)
    if not len(d_same) or not len(d_diff):
        return None
    # Balanced: as many different pairs as same ones (seeded), else "different" always wins.
    rng = np.random.default_rng(0)
    if len(d_diff) > len(d_same):
        d_diff = rng.choice(d_diff, len(d_same), replace=False)
    d = np.concatenate([d_same, d_diff])
    same = np.concatenate([np.ones(len(d_same), bool), np.zeros(len(d_diff), bool)])
    return round(best_threshold(d, same)[0], 4)
