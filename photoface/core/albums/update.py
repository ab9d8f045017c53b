"""Person albums from embeddings: rank-order clustering that respects every user decision.

Only faces without a decision move: confirmed and accepted faces anchor their person (must-link), two
confirmed persons are never joined (cannot-link through `components_with_cannot_link`), a face
rejected from a person never returns to it, "not a face" takes no part. Each run:

1. loads the faces and decisions (core/library/grouping.py) and the neighbour lists of every usable
   face (exact or HNSW, see core/albums/knn.py), cached in the library folder and updated
   incrementally when faces are added (core/albums/neighbour_cache.py);
2. calls the album engine (core/albums/engine.py, the one grouping, which fine-tuning's validation
   and `benchmarks/` call too): a vote of the nearest confirmed faces, rank-order edges under
   must- and cannot-links and an average-linkage rule, strays attached to the album they clearly
   belong to; components that reach a person's faces are suggested for that person, other
   components of at least `min_album_size` faces become (or keep) unnamed albums, the rest stay
   Unsorted;
3. gives the albums stable ids: a new component takes the id of the unnamed album most of its faces
   came from;
4. under a fine-tuned model, a suggestion for a named person stays only if, as the shipped model
   sees it, the face is about as close to that person as their own faces are to each other
   (core/albums/evidence.py): a model switch never lowers the bar.

Distance thresholds scale with the library (`same_person.library_scale`: how crowded it is, the
median distance to the 50th neighbour, or where a two-component mixture of its neighbour
distances puts "same person", whichever is larger; floored at lfw's): among thousands of people
a close pair is often two strangers, among a family's few it rarely is. `benchmarks/cluster.py
--sweep` chose the ratios.

Results are suggestions (state 'suggested'), never confirmations, written by
core/albums/regroup.py. The model version grouped is the library's active one
(`Library.model_version`, switched by core/learning/versions.py).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from photoface.core.albums import knn as knn_mod
from photoface.core.albums import neighbour_cache, prototypes
from photoface.core.albums.engine import (NEW_ALBUM, FacesToGroup, Grouping, NeighbourLists, album_labels,
                                          good_quality, group_faces, held_pairs)
from photoface.core.albums.evidence import filter_suggestions
from photoface.core.albums.review import HELD_STATES
from photoface.core.errors import Cancelled
from photoface.core.library import grouping as rows_of
from photoface.core.library.store import EMBED_DIM, Library

log = logging.getLogger(__name__)


@dataclass
class ClusterReport:
    faces_considered: int = 0
    suggested_to_known: int = 0     # faces now suggested for a person with confirmed faces
    new_albums: int = 0
    albums: int = 0
    unsorted: int = 0
    seconds: float = 0.0


def update_albums(library: Library, full: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: threading.Event | None = None) -> ClusterReport:
    """Groups undecided faces into person albums (suggestions only; decisions are never changed).

    Incremental by default: faces no run has seen join existing albums or form new ones, and
    earlier suggestions stay. With full=True every face without a decision is placed again
    (album ids are kept where their faces stay together), and the change is one entry of the
    decision log ("Regroup Faces"), so undo restores the albums exactly as they were.
    """
    from photoface.core.albums.regroup import apply_plan

    plan = plan_albums(library, full=full, progress=progress, cancel=cancel)
    return apply_plan(library, plan, logged=full)


def plan_albums(library: Library, full: bool = False,
                progress: Callable[[int, int], None] | None = None,
                cancel: threading.Event | None = None, model: str | None = None):
    """What `update_albums` would do, computed and not written (see core/albums/regroup.py).

    Args:
        model: the model version whose embeddings to group (default: the active one); a model
            switch plans with the new version before it switches.

    Returns:
        a `regroup.AlbumPlan`.
    """
    from photoface.core.albums.regroup import AlbumPlan

    t0 = time.perf_counter()
    report = ClusterReport()
    model = model or library.model_version()
    settings = library.settings()

    def step(i: int) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("clustering cancelled")
        if progress is not None:
            progress(i, 4)

    step(0)
    loaded = rows_of.faces_with_vectors(library, model)
    report.faces_considered = len(loaded.ids)
    if len(loaded.ids) == 0:
        return AlbumPlan.empty(model, full, report)
    faces = _faces_to_group(loaded, settings, full)
    good_rows = faces.good_rows
    # Neighbour lists do not depend on decisions: even a full run reuses them (rebuilt only when
    # the cache is missing, or too much of the library changed since).
    idx_g, dist_g, changed_g, scale = neighbour_cache.neighbours(
        library, model, faces.ids[good_rows], faces.x[good_rows], int(settings["cluster_k"]), rescale=full)
    step(1)
    rejected = rows_of.rejections(library)
    step(2)
    grouping = group_faces(faces, NeighbourLists(idx_g, dist_g, scale, None if full else changed_g),
                           settings, rejected)
    log.info("clustered %d faces: scale %.3f, link < %.3f, album mean < %.3f",
             len(faces.ids), grouping.limits.scale, grouping.limits.link, grouping.limits.album)
    step(3)

    assignment = _assign(loaded.person, faces, grouping, rejected, int(settings["min_album_size"]), library)
    # Under a fine-tuned model, a named person gains a face only on the evidence the shipped model
    # gives (core/albums/evidence.py): a model switch never lowers the bar.
    shipped = _shipped_vectors(library, model, faces.ids)
    if shipped is not None:
        assignment = filter_suggestions(faces.x, assignment, faces.movable, np.where(faces.held, faces.anchor, -1),
                                        rows_of.named_persons(library), faces.good, *shipped)
    report.seconds = time.perf_counter() - t0
    step(4)
    rows = np.flatnonzero(faces.movable)
    return AlbumPlan(model=model, full=full, face_ids=faces.ids[rows], before_person=loaded.person[rows],
                     before_state=loaded.state[rows], after_person=assignment[rows], report=report)


def _faces_to_group(loaded: rows_of.FaceRows, settings: dict, full: bool) -> FacesToGroup:
    """The engine's view of the loaded faces: which are held, which move, which anchor."""
    held = np.isin(loaded.state, HELD_STATES)
    free = ~held
    confirmed_here = held_pairs(np.where(held, loaded.person, -1), loaded.photo)
    # Incremental: faces no run has seen, plus Unsorted ones (new neighbours may now claim them),
    # plus suggestions for a person the user has since confirmed in the same photo.
    beside_own = (loaded.state == "suggested") & np.array(
        [(p, ph) in confirmed_here for p, ph in zip(loaded.person.tolist(), loaded.photo.tolist())], bool)
    movable = free if full else free & (~loaded.clustered | (loaded.state == "undecided") | beside_own)
    # Anchors: confirmed and accepted faces always; in an incremental run, suggestions that stay
    # also anchor.
    anchor = np.where(held, loaded.person, -1)
    if not full:
        anchor = np.where((loaded.state == "suggested") & ~movable, loaded.person, anchor)
    # Bystanders attract no matches (they would seed albums of background faces); a face the
    # user holds always does.
    good = (good_quality(loaded.size_px, loaded.sharpness, loaded.score, settings) & ~loaded.background) | held
    return FacesToGroup(ids=loaded.ids, x=loaded.x, anchor=anchor, held=held, movable=movable, good=good,
                        photo=loaded.photo, background=loaded.background & ~held,
                        year=prototypes.years(loaded.taken_at.tolist()))


def _shipped_vectors(library: Library, model: str, face_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The shipped model's embeddings of the faces (for core/albums/evidence.py), and which rows have one;
    None when `model` is the shipped model (its grouping is the evidence).

    Faces scanned while a fine-tuned model was in use have none: the evidence test judges them
    with the model in use.
    """
    from photoface.core.faces.embed import SHIPPED_WEIGHTS_ID

    shipped = library.model_version(SHIPPED_WEIGHTS_ID)
    if model == shipped:
        return None
    ids, vecs = library.embeddings(shipped, face_ids.tolist(), present_only=False)
    x_gate = np.zeros((len(face_ids), EMBED_DIM), np.float32)
    rows = np.searchsorted(face_ids, ids)
    x_gate[rows] = vecs
    has = np.zeros(len(face_ids), bool)
    has[rows] = True
    return x_gate, has


def _assign(person: np.ndarray, faces: FacesToGroup, grouping: Grouping, rejected, min_album: int,
            library: Library) -> np.ndarray:
    """New person id per face row: a person id, a code <= -2 for "a new album", or -1 for Unsorted.

    The engine's albums (`album_labels`), with stable ids: a component without a person takes
    the id of an old album it holds most of. `person` is each face's person id now (-1: none).
    """
    movable = faces.movable
    albums = album_labels(grouping, faces, rejected, min_album)
    out = np.where(movable, -1, person)
    anchored = movable & (grouping.component_person() >= 0)
    out[anchored] = albums[anchored]
    members: dict[int, list[int]] = {}
    for r in np.flatnonzero(movable & ~anchored):
        members.setdefault(int(grouping.component[r]), []).append(int(r))
    # Persons without a confirmed or accepted face (unnamed albums, but also a named or hidden one
    # whose every face the user took out) are re-used by the component that holds their faces:
    # else a full run would leave a name with no face, or bring a hidden album back into People
    # under a new id.
    reusable = rows_of.persons_without_held_faces(library)
    kept_by_user = {p for p, (named, hidden) in reusable.items() if named or hidden}
    olds_all, counts_all = np.unique(person[movable], return_counts=True)
    old_faces = dict(zip(olds_all.tolist(), counts_all.tolist()))
    fresh = []  # (component, rows, big enough for an album of its own)
    for comp, rows in members.items():
        big = bool(albums[rows[0]] <= NEW_ALBUM)
        if big or kept_by_user.intersection(person[rows].tolist()):
            fresh.append((comp, rows, big))
    # Stable ids: greedy, each old album to at most one component. A name (or "hidden") goes first
    # with the component that holds most of its faces; a hidden album only to a component it is
    # most of, so as not to hide someone else's faces; then unnamed albums, by overlap.
    overlaps = []
    for i, (comp, rows, big) in enumerate(fresh):
        olds, counts = np.unique(person[rows], return_counts=True)
        for old, c in zip(olds.tolist(), counts.tolist()):
            if old not in reusable or (not big and old not in kept_by_user):
                continue
            hidden = reusable[old][1]
            first = old in kept_by_user and 2 * c >= old_faces[old] and (not hidden or 2 * c >= len(rows))
            overlaps.append((0 if first else 1, -c, i, old))
    taken_old, comp_person = set(), {}
    for _, _, i, old in sorted(overlaps):
        if i not in comp_person and old not in taken_old:
            comp_person[i] = old
            taken_old.add(old)
    for i, (comp, rows, big) in enumerate(fresh):
        old = comp_person.get(i)
        if old is None:
            if big:
                out[rows] = -(2 + i)  # a new album, numbered later
            continue
        # The old album's id comes back by overlap, not by a decision: faces the user rejected
        # from it stay in Unsorted, however close they are.
        out[[r for r in rows if (int(faces.ids[r]), old) not in rejected]] = old
    return out


# --- suggestions ----------------------------------------------------------------------------

def person_suggestions(library: Library, person_id: int, limit: int = 60) -> list[tuple[int, float]]:
    """(face id, distance) of the faces to ask "Is this NAME?" about, most likely first.

    Candidates are the undecided and suggested faces, and the person's own accepted faces (kept
    with the album, not yet confirmed one by one); background faces of their photos come last. The distance is the mean squared L2 distance to
    the person's 3 nearest confirmed faces (its accepted, then all its faces when none is
    confirmed; a face is never compared with itself). Rejected faces are never offered;
    answering re-ranks.
    """
    model = library.model_version()
    for states in (("confirmed",), HELD_STATES, ("confirmed", "accepted", "suggested")):
        ref_ids, ref = rows_of.person_vectors(library, model, person_id, states)
        if len(ref):
            break
    else:
        return []
    ids, x, background = rows_of.suggestion_candidates(library, model, person_id)
    if not len(ids):
        return []
    d = knn_mod.sq_dist(x, ref)
    d[ids[:, None] == ref_ids[None, :]] = np.inf  # not itself
    near = min(3, len(ref))
    nearest = np.sort(d, axis=1)[:, :near]
    finite = np.isfinite(nearest)
    score = np.where(finite.any(axis=1), np.where(finite, nearest, 0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1),
                     np.inf)
    # Bystanders last: "yes to the page" must not sweep a page of blurred strangers into the
    # person (a new user's walkthrough: page 2 of "Is this NAME?" was five background faces).
    order = np.lexsort((score, background))[:limit]
    return [(int(ids[i]), float(score[i])) for i in order if np.isfinite(score[i])]


def merge_suggestions(library: Library, limit: int = 20, max_dist: float = 1.0) -> list[tuple[int, int, float]]:
    """(person a, person b, distance) pairs that are probably one person, best first.

    Distance is squared L2 between the persons' normalised mean faces; pairs the user said are
    not the same, and pairs of two persons that both have a name, are never offered.
    """
    person, face_named, x = rows_of.album_face_vectors(library, library.model_version())
    if not len(person):
        return []
    ids, inv = np.unique(person, return_inverse=True)
    if len(ids) < 2:
        return []
    sums = np.zeros((len(ids), EMBED_DIM), np.float64)
    np.add.at(sums, inv, x)
    m = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    named = np.zeros(len(ids), bool)
    named[inv] = face_named
    nb_i, nb_d = knn_mod.knn(m, min(10, len(ids) - 1))
    not_same = rows_of.not_same_pairs(library)
    pairs = {}
    for i, (row_i, row_d) in enumerate(zip(nb_i, nb_d)):
        for j, d in zip(row_i, row_d):
            if j < 0 or d >= max_dist or (named[i] and named[j]):
                continue
            a, b = sorted((int(ids[i]), int(ids[j])))
            if (a, b) not in not_same:
                pairs[(a, b)] = float(d)
    return sorted(((a, b, d) for (a, b), d in pairs.items()), key=lambda t: t[2])[:limit]
