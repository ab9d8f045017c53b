"""The album engine: one pure function from faces and the user's decisions to person albums.

`group_faces` is the grouping the app runs (core/albums/update.py loads the library, calls it,
gives albums stable ids and writes), and the grouping fine-tuning is validated on
(core/learning/validation.py) and `benchmarks/` measure: one implementation, so what is measured
is what the app does. No SQL, no files: arrays in, arrays out.

A run, over the faces it may move (`FacesToGroup.movable`):

1. a vote: a face whose nearest held faces clearly name one person (count and margin, under the
   run's link threshold, never a person it was rejected from, never a second face of a photo for
   a person) is tied to that person; the user's decisions may widen its reach up to the attach
   threshold (core/albums/calibration.py), a face reached only that way passing the person's own
   radius test (core/albums/evidence.py); a face neither reaches is tied to the person inside one
   of whose looks or eras it lies, clearly nearer to it than to anyone else's
   (core/albums/prototypes.py); a background face (a bystander of its photo) only on strong
   evidence (BACKGROUND_VOTE_*), and it is never `good`: it forms no link and attracts nothing,
   so bystanders seed no album;
2. rank-order edges (Otto et al. 2018) among good faces, joined in increasing distance with
   must-links holding each person's faces together, under the cannot-link rule (persons never
   share a component, two faces of a photo where the user held a face stay apart) and an
   average-linkage rule (core/albums/constraints.py);
3. stray faces and fragments join the album they clearly belong to (core/albums/attach.py),
   never a person one of their faces was rejected from;
4. `album_labels`: a component that holds a person is suggested for that person (except to the
   faces rejected from them), other components of at least `min_album_size` faces are new
   albums, the rest stay Unsorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoface.core.albums import knn as knn_mod
from photoface.core.albums import evidence, prototypes, same_person
from photoface.core.albums.attach import attach_small_groups, family_shaped, loosened
from photoface.core.albums.calibration import calibrate
from photoface.core.albums.constraints import components_with_cannot_link
from photoface.core.albums.rank_order import rank_order_edges

# Vote: a face is suggested for person P when at least VOTE_MIN of its neighbours within
# the run's link threshold (squared L2) are P's held faces and P has VOTE_MARGIN more than the runner-up.
VOTE_MIN = 1
VOTE_MARGIN = 1
#: A face the calibrated (wider) reach alone gives a person must be this many times farther from
#: anyone else's held faces than from that person's own (a ratio test, as the attach pass's).
WIDE_VOTE_MARGIN = 1.25

# A background face is suggested for P only when at least BACKGROUND_VOTE_MIN of P's held faces
# are within BACKGROUND_VOTE_RATIO x the link threshold and no other person's held face is within
# the link threshold: a blurred bystander lies close to everyone (its embedding carries little
# identity), so one near neighbour is no evidence, two close ones of one person and none of
# another are.
BACKGROUND_VOTE_MIN = 2
BACKGROUND_VOTE_RATIO = 0.8

#: The prototype vote: a face inside one of P's looks (prototypes.Prototypes.scores <= 1) whose
#: next person is this many times farther, in their own looks' radii.
PROTOTYPE_VOTE_MARGIN = 1.25
#: Looks of fewer held faces vote no one in (a look of one or two is a photo, not a look: on
#: japanese_actors one-face looks voted 13 faces of a stranger into a named person); they still
#: count as the runner-up.
PROTOTYPE_MIN_FACES = 3

#: The crowding scale never goes below lfw's (5,749 people, scale 1.15): a smaller one means many
#: photos per person (a face's 50th neighbour is the same person), not a denser crowd of strangers,
#: and scaling down by it split a family's albums into hundreds of pieces.
MIN_CROWDING_SCALE = 1.15

#: `album_labels` code of the first new album: component c is NEW_ALBUM - c (codes <= -2, as in
#: `regroup.AlbumPlan.after_person`).
NEW_ALBUM = -2


@dataclass(frozen=True)
class Thresholds:
    """Squared-L2 thresholds of one run, from the settings and the library's crowding scale."""

    scale: float       # same_person.library_scale, floored
    link: float        # a rank-order edge (and a vote) needs a pair closer than this
    album: float       # two groups join only if their mean pair distance is below this
    centre: float      # and, both of 5 faces or more, only if their mean vectors are this close
    attach: float      # a small group joins a large one whose mean pair distance is below this


def thresholds(settings: dict, x: np.ndarray, scale: float | None = None) -> Thresholds:
    """The run's distance thresholds.

    Args:
        settings: the library's settings (cluster_max_dist and the cluster_*_ratio keys).
        x: (N, 512) float32 unit embeddings of the faces being clustered.
        scale: their crowding scale when already known (default: measured on `x`).

    Returns:
        Thresholds, each a ratio times max(crowding scale, MIN_CROWDING_SCALE).
    """
    measured = knn_mod.crowding_scale(x) if scale is None else scale
    scale = max(measured, MIN_CROWDING_SCALE)
    link = min(float(settings["cluster_max_dist"]), float(settings["cluster_link_ratio"]) * scale)
    return Thresholds(scale, link, float(settings["cluster_album_ratio"]) * scale,
                      float(settings["cluster_centre_ratio"]) * scale,
                      float(settings["cluster_attach_ratio"]) * scale)


def good_quality(size_px: np.ndarray, sharpness: np.ndarray, score: np.ndarray, settings: dict) -> np.ndarray:
    """(N,) bool: faces good enough to attract matches (the min_quality_* settings).

    Args:
        size_px: (N,) longer side of each face box, pixels.
        sharpness: (N,) variance of the Laplacian of the crop (NaN: unknown, counts as sharp).
        score: (N,) detector score.
    """
    sharp = np.where(np.isnan(sharpness), np.inf, sharpness)
    return (size_px >= float(settings["min_quality_face_px"])) & (sharp >= float(settings["min_quality_sharpness"])) \
        & (score >= float(settings["min_quality_score"]))


@dataclass(frozen=True)
class FacesToGroup:
    """The faces of one run, as parallel arrays (row i = one face).

    Attributes:
        ids: (N,) int64 face ids (rejections name faces by id).
        x: (N, 512) float32 unit embeddings.
        anchor: (N,) int64 the person each face is tied to before the run: held faces, and in an
            incremental run the suggestions that stay; -1 for none.
        held: (N,) bool, confirmed or accepted by the user: they vote, and a photo holding one
            keeps its faces apart.
        movable: (N,) bool, the faces the run places.
        good: (N,) bool, good enough to attract matches (`good_quality`, not background; held
            faces always are).
        photo: (N,) int64 photo ids: two faces of one photo are two people.
        background: (N,) bool, bystanders of their photo (core/library/background.py): they join
            a person only on strong evidence; None: none is.
        year: (N,) float year each face's photo was taken (prototypes.years), NaN where unknown;
            None: none is known.
    """

    ids: np.ndarray
    x: np.ndarray
    anchor: np.ndarray
    held: np.ndarray
    movable: np.ndarray
    good: np.ndarray
    photo: np.ndarray
    background: np.ndarray | None = None
    year: np.ndarray | None = None

    @property
    def good_rows(self) -> np.ndarray:
        return np.flatnonzero(self.good)


@dataclass(frozen=True)
class NeighbourLists:
    """Neighbour lists of the good faces (`FacesToGroup.good_rows`, in that order).

    Attributes:
        idx: (G, k) int64 positions among the good faces, -1 for none.
        dist: (G, k) float32 squared L2 distances.
        scale: the good faces' scale (same_person.library_scale).
        changed: positions whose list is new or changed since the last run; None: all (a full run).
    """

    idx: np.ndarray
    dist: np.ndarray
    scale: float
    changed: np.ndarray | None = None


def neighbour_lists(faces: FacesToGroup, k: int) -> NeighbourLists:
    """Exact neighbour lists of the good faces, measured now (no cache: validation, tests)."""
    x_good = faces.x[faces.good_rows]
    idx, dist = knn_mod.knn(x_good, k)
    return NeighbourLists(idx, dist, same_person.library_scale(x_good, dist))


@dataclass(frozen=True)
class Grouping:
    """What `group_faces` found.

    Attributes:
        component: (N,) int64 component of each face (faces of one album share one).
        anchor: (N,) int64 the person each face is tied to: its `FacesToGroup.anchor` or the
            person its vote named; -1 for none.
        limits: the run's thresholds.
    """

    component: np.ndarray
    anchor: np.ndarray
    limits: Thresholds

    def component_person(self) -> np.ndarray:
        """(N,) the person each face's component holds, -1 for none (cannot-links keep it to one)."""
        if len(self.component) == 0:
            return np.zeros(0, np.int64)
        person_of = np.full(int(self.component.max()) + 1, -1, np.int64)
        tied = self.anchor >= 0
        person_of[self.component[tied]] = self.anchor[tied]
        return person_of[self.component]


def group_faces(faces: FacesToGroup, neighbours: NeighbourLists, settings: dict,
                rejected: set[tuple[int, int]]) -> Grouping:
    """Groups the movable faces around the user's decisions: the vote, rank-order links under
    must- and cannot-links, and the attach pass (see the module docstring).

    Args:
        faces: the run's faces.
        neighbours: lists of the good faces.
        settings: the library's settings (cluster_* keys).
        rejected: {(face id, person id)} the user rejected.

    Returns:
        Grouping; `album_labels` turns it into albums.
    """
    n = len(faces.ids)
    good_rows = faces.good_rows
    idx_g, dist_g = neighbours.idx, neighbours.dist
    limits = thresholds(settings, faces.x[good_rows], neighbours.scale)
    # 1) Vote of the nearest held faces, for every movable face (low-quality ones too).
    # Two faces of one photo are two people, yet web photos hold collages of one person and crowds
    # of tiny faces that all look alike; a photo where the user confirmed a face is certain, though:
    # its other faces are not that person. (Applied to every photo, sports_celebrities fell from
    # 0.885 to 0.851 BCubed F.)
    apart = np.where(np.isin(faces.photo, faces.photo[faces.held]), faces.photo, -1)
    vote = _prototype_vote(faces, _calibrated_vote(faces, idx_g, dist_g, rejected, limits), idx_g, dist_g,
                           rejected, limits)
    vote = _one_face_per_photo(vote, faces.anchor, faces.photo)

    # 2) Rank-order edges among good faces, joined under cannot-link.
    edges_g, _, pair_d = rank_order_edges(idx_g, dist_g, float(settings["cluster_strictness"]), "approx",
                                          max_dist=limits.link, rows=neighbours.changed)
    edges = good_rows[edges_g] if len(edges_g) else np.zeros((0, 2), np.int64)
    weights = pair_d.astype(np.float64)
    node_anchor = faces.anchor.copy()
    voted = vote >= 0
    node_anchor[voted] = vote[voted]
    must = must_link_chains(node_anchor)  # each person's faces (confirmed, kept or voted) held together
    # Faces fixed in place (not movable, no anchor) take no part: they are not re-decided.
    fixed = ~faces.movable & (node_anchor < 0)
    ok = ~(fixed[edges[:, 0]] | fixed[edges[:, 1]]) if len(edges) else np.zeros(0, bool)
    all_edges = np.concatenate([must, edges[ok]]) if len(must) else edges[ok]
    all_w = np.concatenate([np.zeros(len(must)), weights[ok]]) if len(must) else weights[ok]
    # Persons the user said are different are different anchors already; persons never share one.
    is_must = np.arange(len(all_edges)) < len(must)
    labels = components_with_cannot_link(n, all_edges, all_w, node_anchor, x=faces.x, max_mean_dist=limits.album,
                                         max_centre_dist=limits.centre, must_link=is_must, apart=apart)
    labels = attach_strays(faces, labels, node_anchor, idx_g, rejected, limits, settings, apart, dist_g)
    return Grouping(labels, node_anchor, limits)


def album_labels(grouping: Grouping, faces: FacesToGroup, rejected: set[tuple[int, int]],
                 min_album: int) -> np.ndarray:
    """Albums of the movable faces, before stable ids.

    Returns:
        (N,) int64: for a movable face, the person its component holds (-1 when the user rejected
        the face from that person), else NEW_ALBUM - component for a component of at least
        `min_album` faces, else -1 (Unsorted); other faces keep their `FacesToGroup.anchor`.
    """
    comp = grouping.component
    person = grouping.component_person()
    sizes = np.bincount(comp, minlength=int(comp.max()) + 1 if len(comp) else 0)
    out = np.where(faces.movable, -1, faces.anchor)
    for r in np.flatnonzero(faces.movable).tolist():
        p = int(person[r])
        if p >= 0:
            if (int(faces.ids[r]), p) not in rejected:
                out[r] = p
        elif sizes[comp[r]] >= min_album:
            out[r] = NEW_ALBUM - int(comp[r])
    return out


def attach_strays(faces: FacesToGroup, labels: np.ndarray, node_anchor: np.ndarray, idx_g: np.ndarray,
                  rejected: set[tuple[int, int]], limits: Thresholds, settings: dict, apart: np.ndarray,
                  dist_g: np.ndarray | None = None) -> np.ndarray:
    """Undecided stray faces and fragments join the album they clearly belong to (core/albums/attach.py).

    Only good faces move or guide (poor ones attract nothing, as in the linking); a fragment never
    joins a person one of its faces was rejected from, nor an album that holds a face of one of
    its photos that must stay apart (`apart`, photo ids or -1).
    """
    good_rows = faces.good_rows
    neighbours = np.full((len(faces.ids), idx_g.shape[1]), -1, np.int64)
    neighbours[good_rows] = np.where(idx_g >= 0, good_rows[np.maximum(idx_g, 0)], -1)
    neighbour_dist = None
    if dist_g is not None:
        neighbour_dist = np.full(neighbours.shape, np.inf, np.float32)
        neighbour_dist[good_rows] = np.where(idx_g >= 0, dist_g, np.inf)
    comp_person = {int(labels[r]): int(node_anchor[r]) for r in np.flatnonzero(node_anchor >= 0)}
    kept_apart = apart >= 0
    in_group_photo = set(zip(labels[kept_apart].tolist(), apart[kept_apart].tolist()))

    def allowed(rows: np.ndarray, target: int) -> bool:
        claims = {(target, int(apart[r])) for r in rows if apart[r] >= 0}
        if not claims.isdisjoint(in_group_photo):
            return False
        p = comp_person.get(target)
        if p is not None and any((int(faces.ids[r]), p) in rejected for r in rows):
            return False
        in_group_photo.update(claims)  # a later group from the same photo may not join this album too
        return True

    may_move = faces.movable & (node_anchor < 0) & faces.good
    # The settings are for a library of strangers; a family's library loosens them (attach.py).
    max_dist, margin, spread = loosened(limits.attach, float(settings["cluster_attach_margin"]),
                                        float(settings["cluster_attach_spread"]), family_shaped(labels, neighbours))
    return attach_small_groups(labels, faces.x, neighbours, may_move, max_dist, margin, spread,
                               allowed, confirmed_groups=np.unique(labels[faces.held]), neighbour_dist=neighbour_dist)


def _calibrated_vote(faces: FacesToGroup, idx_g, dist_g, rejected, limits: Thresholds) -> np.ndarray:
    """The vote, reaching as far as the user's decisions show this library's people are apart
    (core/albums/calibration.py); a face that only the wider reach gives a person must also lie
    within that person's own radius (core/albums/evidence.py)."""
    held_person = np.where(faces.held, faces.anchor, -1)
    row_of = {int(f): r for r, f in enumerate(faces.ids.tolist())}
    rejected_rows = [(row_of[f], p) for f, p in rejected if f in row_of]
    cal = calibrate(faces.x, held_person, rejected_rows, limits.link, limits.attach)
    vote = _vote(faces, idx_g, dist_g, rejected, limits.link)
    if cal.reach <= limits.link:
        return vote
    wide = _vote(faces, idx_g, dist_g, rejected, cal.reach)
    # Bystanders keep the strict bar: the wider reach is for the faces a person's photos are of.
    background = faces.background if faces.background is not None else np.zeros(len(vote), bool)
    extra = (vote < 0) & (wide >= 0) & ~background
    others = held_person >= 0
    for p in np.unique(wide[extra]).tolist():
        held = np.flatnonzero(held_person == p)
        if len(held) < evidence.MIN_HELD:
            continue  # no radius to check against: the wider reach is not for this person yet
        rows = np.flatnonzero(extra & (wide == p))
        ok = evidence.passes(faces.x, rows, held, faces.good)
        # And clearly nearer to P than to anyone else the user named: a new face of a person with
        # one confirmed photo is not pulled into a look-alike who has many (found in the window).
        ok &= _nearest_other_ratio(faces.x, rows, held,
                                   np.flatnonzero(others & (held_person != p))) >= WIDE_VOTE_MARGIN
        vote[rows[ok]] = p
    return vote


def _prototype_vote(faces: FacesToGroup, vote: np.ndarray, idx_g, dist_g, rejected, limits: Thresholds) -> np.ndarray:
    """The vote, plus the faces no held face reached that lie inside one of a person's looks or
    eras (core/albums/prototypes.py): a new face of a person's childhood is theirs though their
    adult faces fill its neighbour lists, or lie too far for the nearest held faces to name them.

    Each look is measured in its own radius, and the next person's nearest look must be
    PROTOTYPE_VOTE_MARGIN times farther in theirs. Only good faces (a poor one has no neighbour
    list to check), and bystanders keep the strict bar.
    """
    held_person = np.where(faces.held, faces.anchor, -1)
    background = faces.background if faces.background is not None else np.zeros(len(vote), bool)
    rows = np.flatnonzero(faces.movable & faces.good & (vote < 0) & ~background)
    if not len(rows) or not (held_person >= 0).any():
        return vote
    protos = prototypes.build(faces.x, held_person, cut=limits.album, floor=limits.link, year=faces.year)
    scores = protos.scores(faces.x[rows], PROTOTYPE_MIN_FACES)
    rivals = protos.scores(faces.x[rows])
    column = {int(p): j for j, p in enumerate(protos.persons.tolist())}
    row_of = {int(f): i for i, f in enumerate(faces.ids[rows].tolist())}
    for f, p in rejected:
        if f in row_of and p in column:
            scores[row_of[f], column[p]] = np.inf
            rivals[row_of[f], column[p]] = np.inf
    who = np.argmin(scores, axis=1)
    best = scores[np.arange(len(rows)), who]
    rivals[np.arange(len(rows)), who] = np.inf
    runner_up = rivals.min(axis=1)
    ok = (best <= 1.0) & (runner_up >= PROTOTYPE_VOTE_MARGIN * best)
    # And the face's own neighbourhood touches the person: one of its listed neighbours within the
    # attach threshold is a held face of theirs. A stranger's list is its own faces; without this
    # test the faces of people nobody named joined the named look nearest to them (benchmarks.
    # finetune's simulated user, looks 1.2 times wider: 132 faces of unseen people on
    # japanese_actors, 139 on the seven shared sets, against 8).
    good_rows = faces.good_rows
    position = np.full(len(faces.ids), -1, np.int64)
    position[good_rows] = np.arange(len(good_rows))
    for i in np.flatnonzero(ok).tolist():
        g = position[rows[i]]
        near = (idx_g[g] >= 0) & (dist_g[g] < limits.attach)
        ok[i] = bool(np.any(held_person[good_rows[idx_g[g][near]]] == protos.persons[who[i]]))
    out = vote.copy()
    out[rows[ok]] = protos.persons[who[ok]]
    return out


def _nearest_other_ratio(x: np.ndarray, rows: np.ndarray, own: np.ndarray, other: np.ndarray) -> np.ndarray:
    """For each row: its distance to the nearest held face of anyone else over its mean distance
    to its 3 nearest held faces of its own person (inf when nobody else is held)."""
    near_own = evidence.mean_nearest(knn_mod.sq_dist(x[rows], x[own]), evidence.NEAREST)
    if len(other) == 0:
        return np.full(len(rows), np.inf)
    near_other = knn_mod.sq_dist(x[rows], x[other]).min(axis=1)
    return near_other / np.maximum(near_own, 1e-6)


def _vote(faces: FacesToGroup, idx_g, dist_g, rejected, max_dist) -> np.ndarray:
    """Person id suggested by the nearest held faces, per face row (-1: no clear winner)."""
    n = len(faces.ids)
    vote = np.full(n, -1, np.int64)
    held = faces.held
    if not held.any():
        return vote
    good_rows = faces.good_rows
    rest_rows = np.flatnonzero(~faces.good)
    # Neighbour lists in face rows: good faces have them; others query the good ones.
    nb_idx = np.full((n, idx_g.shape[1]), -1, np.int64)
    nb_dist = np.full((n, idx_g.shape[1]), np.inf, np.float32)
    nb_idx[good_rows] = np.where(idx_g >= 0, good_rows[np.maximum(idx_g, 0)], -1)
    nb_dist[good_rows] = dist_g
    need = rest_rows[faces.movable[rest_rows]]
    if len(need) and len(good_rows):
        qi, qd = knn_mod.knn_query(faces.x[good_rows], faces.x[need], idx_g.shape[1])
        nb_idx[need, :qi.shape[1]] = good_rows[qi]
        nb_dist[need, :qi.shape[1]] = qd
    background = faces.background if faces.background is not None else np.zeros(n, bool)
    for r in np.flatnonzero(faces.movable):
        counts: dict[int, int] = {}
        close: dict[int, int] = {}
        for j, d in zip(nb_idx[r], nb_dist[r]):
            if j < 0 or d >= max_dist or not held[j]:
                continue
            p = int(faces.anchor[j])
            if (int(faces.ids[r]), p) in rejected:
                continue
            counts[p] = counts.get(p, 0) + 1
            if d < BACKGROUND_VOTE_RATIO * max_dist:
                close[p] = close.get(p, 0) + 1
        if not counts:
            continue
        if background[r]:
            if len(counts) == 1 and close.get(next(iter(counts)), 0) >= BACKGROUND_VOTE_MIN:
                vote[r] = next(iter(counts))
            continue
        ranked = sorted(counts.items(), key=lambda t: -t[1])
        best, c1 = ranked[0]
        c2 = ranked[1][1] if len(ranked) > 1 else 0
        if c1 >= VOTE_MIN and c1 - c2 >= VOTE_MARGIN:
            vote[r] = best
    return vote


def held_pairs(person: np.ndarray, photo: np.ndarray) -> set[tuple[int, int]]:
    """{(person, photo)} of the rows with a person (-1: none)."""
    has = person >= 0
    return set(zip(person[has].tolist(), photo[has].tolist()))


def _one_face_per_photo(vote: np.ndarray, anchor: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """Votes without those for a person who already holds a face of that photo.

    `anchor` is the person each face is held by (confirmed, or a suggestion that stays), -1 for
    none. A vote is what chains a face to a person unconditionally (a must-link), so it must not
    give anyone two faces of one photo.
    """
    held = held_pairs(anchor, photo)
    out = vote.copy()
    for r in np.flatnonzero(vote >= 0).tolist():
        if (int(vote[r]), int(photo[r])) in held:
            out[r] = -1
    return out


def must_link_chains(person: np.ndarray) -> np.ndarray:
    """(E, 2) edges chaining the rows of each person (-1: none) together, for must-links."""
    rows = np.flatnonzero(person >= 0)
    rows = rows[np.argsort(person[rows], kind="stable")]  # each person's rows together, in order
    same = person[rows[1:]] == person[rows[:-1]]
    return np.stack([rows[:-1][same], rows[1:][same]], axis=1).astype(np.int64)
