"""Several prototypes per person: the eras and looks of the faces the user holds for them.

One mean face per person blurs the child and the adult they became into a face that is neither,
and a face's few nearest held faces are the person's most photographed era, not the one it is
of. So a person's held faces (confirmed and accepted) are first split into eras by photo date
(`ERA_YEARS` a piece, where EXIF has a date; undated faces are an era of their own), and each era
into looks by average-linkage clustering of the embeddings (a group's mean pair distance under
`cut`, the run's link threshold: a look is what one album would hold). Each look is a prototype:

- its centre, the normalised mean of its faces;
- its radius, how far from that centre a new face of the same look lies (squared L2): the
  farthest of its own faces, scaled for the look's size (a face that helped make the mean lies
  nearer to it than a new one: by (m - 1) / m against (m + 1) / m of the face variance, for m
  faces), times `SLACK`. A look of one face has no spread to measure: its radius is `floor` (the
  vote's reach for a single face).

A face's distance to a person is its distance to the person's nearest prototype in that
prototype's radius (`Prototypes.scores`: 1 is the edge of the look), so a face close to one era
counts however many faces the person's other eras have; and the faces of the childhood link to
the adult ones through the years between, each era holding its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoface.core.albums.knn import sq_dist

#: Years a dated era spans (a child's face changes within a few years, an adult's much slower).
ERA_YEARS = 5
#: Held faces a person is measured on (seeded sample past that: a look of 500 faces is as sure).
MAX_PER_PERSON = 500
#: A new face of a look may lie this much farther from its centre than the look's farthest face.
SLACK = 1.0


@dataclass(frozen=True)
class Prototypes:
    """Every person's prototypes, as parallel arrays (row k = one prototype).

    Attributes:
        person: (K,) int64 the person each prototype is of.
        centre: (K, D) float32 unit mean face.
        radius: (K,) float32 squared L2 from the centre within which a new face of the look lies.
        size: (K,) int64 held faces the prototype was made of.
        persons: (P,) int64 the distinct persons, in the order `scores` gives its columns.
    """

    person: np.ndarray
    centre: np.ndarray
    radius: np.ndarray
    size: np.ndarray
    persons: np.ndarray

    def scores(self, x: np.ndarray, min_size: int = 1) -> np.ndarray:
        """(Q, P) float: each face's distance to each person's nearest prototype, over that
        prototype's radius (<= 1: inside one of the person's looks), inf where the person has
        none.

        Args:
            x: (Q, D) float32 unit embeddings of the model the prototypes were made with.
            min_size: only prototypes of at least this many faces count.
        """
        out = np.full((len(x), len(self.persons)), np.inf)
        use = np.flatnonzero(self.size >= min_size)
        if len(use) == 0 or len(x) == 0:
            return out
        scaled = sq_dist(x, self.centre[use]) / np.maximum(self.radius[use], 1e-6)[None, :]
        column = np.searchsorted(self.persons, self.person[use])
        np.minimum.at(out.T, column, scaled.T)
        return out

    def nearest_rows(self, x: np.ndarray, person: int) -> np.ndarray:
        """(Q,) int64: the row of `person`'s prototype each face is nearest to (in radii), -1
        when the person has none."""
        rows = np.flatnonzero(self.person == person)
        if len(rows) == 0:
            return np.full(len(x), -1, np.int64)
        scaled = sq_dist(x, self.centre[rows]) / np.maximum(self.radius[rows], 1e-6)[None, :]
        return rows[np.argmin(scaled, axis=1)]


def years(taken_at: list[str | None]) -> np.ndarray:
    """(N,) float years ('2004-07-01T12:00:00' -> 2004.5), NaN where the date is unknown or unreadable."""
    out = np.full(len(taken_at), np.nan)
    for i, t in enumerate(taken_at):
        try:
            out[i] = int(t[:4]) + (int(t[5:7]) - 1) / 12
        except (TypeError, ValueError, IndexError):
            continue
    return out


def eras(year: np.ndarray) -> np.ndarray:
    """(N,) int64 era of each face: `ERA_YEARS` from the person's first dated photo a piece, -1
    for undated faces (they form one era of their own)."""
    out = np.full(len(year), -1, np.int64)
    dated = np.isfinite(year)
    if dated.any():
        out[dated] = ((year[dated] - year[dated].min()) // ERA_YEARS).astype(np.int64)
    return out


def looks(x: np.ndarray, cut: float) -> np.ndarray:
    """(N,) int64 group of each face: average linkage, groups joined while their mean pair
    distance (squared L2) stays under `cut`."""
    if len(x) < 2:
        return np.zeros(len(x), np.int64)
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    d = sq_dist(x, x).astype(np.float64)
    np.fill_diagonal(d, 0.0)
    tree = linkage(squareform((d + d.T) / 2, checks=False), method="average")
    return fcluster(tree, t=cut, criterion="distance").astype(np.int64)


def build(x: np.ndarray, held_person: np.ndarray, cut: float, floor: float,
          year: np.ndarray | None = None, seed: int = 0) -> Prototypes:
    """Every held person's prototypes.

    Args:
        x: (N, D) float32 unit embeddings.
        held_person: (N,) the person holding each row by the user's decision, -1 for none.
        cut: squared L2, the mean pair distance under which faces make one look (the run's link
            threshold).
        floor: squared L2, the radius of a look of one face.
        year: (N,) float photo year of each row, NaN where unknown (default: none is dated).
        seed: the seed of the sample of a person with more than `MAX_PER_PERSON` held faces.

    Returns:
        Prototypes, ordered by person.
    """
    rng = np.random.default_rng(seed)
    person, centre, radius, size = [], [], [], []
    persons = np.unique(held_person[held_person >= 0])
    for p in persons.tolist():
        rows = np.flatnonzero(held_person == p)
        if len(rows) > MAX_PER_PERSON:
            rows = np.sort(rng.choice(rows, MAX_PER_PERSON, replace=False))
        era = eras(year[rows]) if year is not None else np.full(len(rows), -1, np.int64)
        for e in np.unique(era).tolist():
            in_era = rows[era == e]
            look = looks(x[in_era], cut)
            for g in np.unique(look).tolist():
                members = x[in_era[look == g]]
                c = members.sum(axis=0)
                c = c / max(float(np.linalg.norm(c)), 1e-12)
                person.append(p)
                centre.append(c)
                radius.append(_radius(members, c, floor))
                size.append(len(members))
    dim = x.shape[1] if x.ndim == 2 else 0
    return Prototypes(np.array(person, np.int64), np.array(centre, np.float32).reshape(-1, dim),
                      np.array(radius, np.float32), np.array(size, np.int64), persons.astype(np.int64))


def _radius(members: np.ndarray, centre: np.ndarray, floor: float) -> float:
    """How far from `centre` a new face of the look lies (see the module docstring)."""
    m = len(members)
    if m < 2:
        return floor
    farthest = float(sq_dist(members, centre[None, :]).max())
    return SLACK * farthest * (m + 1) / (m - 1)
