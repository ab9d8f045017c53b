"""What the user's decisions say about this library's distances: the vote's reach, calibrated.

Every face the user held (confirmed or accepted) is evidence of how far apart one person's faces
are in this library and under this model; every held face of another person, and every face the
user rejected from a person, of how close two different people come. The nearest-neighbour
distances of the two kinds are measured (one figure per face: the distance to the nearest held
face of the same person, or of the person it is not), and the vote reaches as far as the
distance that best separates them (the largest gap between their cumulative distributions,
Youden's J).

The reach stays between the run's link threshold, which the library's crowding sets before any
decision, and its attach threshold: decisions may widen the vote, never narrow it below what
the grouping does without them, nor past where a stray would join an album. A vote that only
the widened reach allows must also pass the person's own radius test (core/albums/evidence.py)
and be clearly nearer to that person than to anyone else the user named (engine.WIDE_VOTE_MARGIN),
so that a face joins a person on that person's evidence, not on the library's alone.

Under a fine-tuned model the embeddings differ, and so do the distances: the calibration is
measured again for each run, in the run's own embeddings; it holds per library and per model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoface.core.albums.knn import sq_dist

#: Below these counts the evidence is too thin to move the vote's reach.
MIN_SAME = 10
MIN_DIFFERENT = 5
#: Held faces measured at most, per person and in all (a seeded sample past that keeps a run of a
#: library with tens of thousands of confirmed faces under a second).
MAX_PER_PERSON = 500
MAX_TOTAL = 4000


@dataclass(frozen=True)
class Calibration:
    """The vote's reach (squared L2) and the evidence it rests on."""

    reach: float
    same: int        # faces measured against their own person
    different: int   # faces measured against a person they are not
    calibrated: bool  # False: too little evidence, the reach is the run's link threshold


def separating_distance(same: np.ndarray, different: np.ndarray) -> float:
    """The distance t maximising P(same < t) - P(different < t) (ties: the middle of the best run)."""
    points = np.unique(np.concatenate([same, different]))
    below_same = np.searchsorted(np.sort(same), points, side="right") / len(same)
    below_diff = np.searchsorted(np.sort(different), points, side="left") / len(different)
    gain = below_same - below_diff
    best = np.flatnonzero(gain == gain.max())
    # Between the last same-person distance kept and the next point: not on a face's own distance.
    i = best[len(best) // 2]
    return float(points[i] if i + 1 >= len(points) else (points[i] + points[i + 1]) / 2)


def nearest_evidence(x: np.ndarray, held_person: np.ndarray, rejected_rows: list[tuple[int, int]],
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour distances of the user's decisions.

    Args:
        x: (N, D) unit embeddings.
        held_person: (N,) the person holding each row by the user's decision, -1 for none.
        rejected_rows: (row, person) pairs the user rejected.

    Returns:
        (same, different): for each held face, its distance to the nearest other held face of its
        person; for each held face, its distance to the nearest held face of another person, and
        for each rejected face, to the nearest held face of the person it was rejected from.
    """
    rng = np.random.default_rng(seed)
    rows_of: dict[int, np.ndarray] = {}
    persons = np.unique(held_person[held_person >= 0]).tolist()
    cap = min(MAX_PER_PERSON, max(2, MAX_TOTAL // max(len(persons), 1)))
    for p in persons:
        rows = np.flatnonzero(held_person == p)
        rows_of[p] = rng.choice(rows, cap, replace=False) if len(rows) > cap else rows
    same, different = [], []
    if rows_of:
        rows = np.concatenate(list(rows_of.values()))
        who = held_person[rows]
        d = sq_dist(x[rows], x[rows])  # at most MAX_TOTAL squared: one product
        np.fill_diagonal(d, np.inf)
        own = who[:, None] == who[None, :]
        nearest_own = np.where(own, d, np.inf).min(axis=1)
        nearest_other = np.where(own, np.inf, d).min(axis=1)
        same.append(nearest_own[np.isfinite(nearest_own)])
        different.append(nearest_other[np.isfinite(nearest_other)])
    for row, p in rejected_rows:
        if p in rows_of:
            different.append(sq_dist(x[[row]], x[rows_of[p]]).min(axis=1))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
    return cat(same), cat(different)


def calibrate(x: np.ndarray, held_person: np.ndarray, rejected_rows: list[tuple[int, int]],
              floor: float, ceiling: float) -> Calibration:
    """The vote's reach for this run.

    Args:
        x: (N, D) unit embeddings of the run's model.
        held_person: (N,) the person holding each row by the user's decision, -1 for none.
        rejected_rows: (row, person) pairs the user rejected.
        floor: the run's link threshold (the reach without decisions).
        ceiling: the run's attach threshold (the reach never passes it).
    """
    same, different = nearest_evidence(x, held_person, rejected_rows)
    if len(same) < MIN_SAME or len(different) < MIN_DIFFERENT:
        return Calibration(floor, len(same), len(different), False)
    reach = min(max(separating_distance(same, different), floor), max(ceiling, floor))
    return Calibration(reach, len(same), len(different), True)
