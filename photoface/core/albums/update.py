"""Person albums from embeddings: rank-order clustering that respects every user decision.

Only faces without a decision move: confirmed and accepted faces anchor their person (must-link), two
confirmed persons are never joined (cannot-link through `components_with_cannot_link`), a face
rejected from a person never returns to it, "not a face" takes no part. Each run:

1. neighbour lists of every usable face (exact or HNSW, see core/albums/knn.py), cached in the library
   folder and updated incrementally when faces are added;
2. a vote: an undecided face whose nearest confirmed faces clearly name one person (count and
   margin) is suggested for that person;
3. rank-order edges (Otto et al. 2018) joined in increasing distance under the cannot-link rule
   and an average-linkage rule (two groups join only when their mean pair distance is small, and
   groups of 5+ faces only when their centres are close);
4. stray faces and fragments that no edge reached join the album they clearly belong to (a
   mean-distance threshold, the album's own spread and a margin over the runner-up, core/albums/attach.py);
5. components that reach a person's faces are suggested for that person, other components of at
   least `min_album_size` faces become (or keep) unnamed albums, the rest stay Unsorted;
6. under a fine-tuned model, a suggestion for a named person stays only if, as the shipped model
   sees it, the face is about as close to that person as their own faces are to each other
   (core/albums/evidence.py): a model switch never lowers the bar.

Distance thresholds scale with how crowded the library is (`knn.crowding_scale`, the median
distance to the 50th neighbour, floored at lfw's): among thousands of people a close pair is
often two strangers, among a family's few it rarely is. `benchmarks/cluster.py --sweep` chose the ratios.

Results are suggestions (state 'suggested'), never confirmations. Album ids stay stable: a new
component takes the id of the unnamed album most of its faces came from.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from photoface.core.albums import knn as knn_mod
from photoface.core.albums.attach import attach_small_groups
from photoface.core.albums.constraints import components_with_cannot_link
from photoface.core.errors import Cancelled
from photoface.core.albums.evidence import filter_suggestions
from photoface.core.albums.rank_order import rank_order_edges
from photoface.core.albums.review import HELD_STATES
from photoface.core.library.store import EMBED_DIM, Library

log = logging.getLogger(__name__)

# Vote: a face is suggested for person P when at least VOTE_MIN of its neighbours within
# the run's link threshold (squared L2) are P's held faces and P has VOTE_MARGIN more than the runner-up.
VOTE_MIN = 1
VOTE_MARGIN = 1


@dataclass
class ClusterReport:
    faces_considered: int = 0
    suggested_to_known: int = 0     # faces now suggested for a person with confirmed faces
    new_albums: int = 0
    albums: int = 0
    unsorted: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Thresholds:
    """Squared-L2 thresholds of one run, from the settings and the library's crowding scale."""

    scale: float       # median distance to the 50th neighbour (knn.crowding_scale), floored
    link: float        # a rank-order edge (and a vote) needs a pair closer than this
    album: float       # two groups join only if their mean pair distance is below this
    centre: float      # and, both of 5 faces or more, only if their mean vectors are this close
    attach: float      # a small group joins a large one whose mean pair distance is below this


#: The crowding scale never goes below lfw's (5,749 people, scale 1.15): a smaller one means many
#: photos per person (a face's 50th neighbour is the same person), not a denser crowd of strangers,
#: and scaling down by it split a family's albums into hundreds of pieces.
MIN_CROWDING_SCALE = 1.15


#: An incremental run measures the crowding scale again once the library has this many times the
#: faces it had when the scale was measured (or fewer than RESCALE_BELOW times as many).
RESCALE_ABOVE = 1.25
RESCALE_BELOW = 0.8


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


def active_model(library: Library) -> str:
    return library.model_version()


@dataclass
class _Faces:
    """The faces a run works on, as parallel arrays (row i = one face)."""

    ids: np.ndarray        # (N,) int64 face ids
    x: np.ndarray          # (N, 512) float32
    person: np.ndarray     # (N,) int64 person id or -1
    state: np.ndarray      # (N,) '<U10'
    good: np.ndarray       # (N,) bool: good enough to attract matches
    clustered: np.ndarray  # (N,) bool: already seen by an earlier run
    photo: np.ndarray      # (N,) int64 photo id: two faces of one photo are two people


def _load_faces(library: Library, model: str) -> _Faces:
    s = library.settings()
    rows = library.con.execute(
        """SELECT f.id, e.vec, COALESCE(f.person_id, -1), f.state, f.w, f.h, f.sharpness, f.score, f.clustered,
                  f.photo_id
           FROM faces f JOIN embeddings e ON e.face_id = f.id AND e.model = ?
           WHERE f.state != 'not_face'
             AND EXISTS (SELECT 1 FROM locations l WHERE l.photo_id = f.photo_id AND l.status = 'ok')
           ORDER BY f.id""", (model,)).fetchall()
    n = len(rows)
    x = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(n, EMBED_DIM).copy() if n \
        else np.zeros((0, EMBED_DIM), np.float32)
    size = np.array([max(r[4], r[5]) for r in rows], np.float32)
    sharp = np.array([r[6] if r[6] is not None else 1e9 for r in rows], np.float32)
    score = np.array([r[7] for r in rows], np.float32)
    good = (size >= float(s["min_quality_face_px"])) & (sharp >= float(s["min_quality_sharpness"])) \
        & (score >= float(s["min_quality_score"]))
    return _Faces(
        ids=np.array([r[0] for r in rows], np.int64), x=x,
        person=np.array([r[2] for r in rows], np.int64),
        state=np.array([r[3] for r in rows], dtype="<U10"),
        good=good | np.array([r[3] in HELD_STATES for r in rows], bool),
        clustered=np.array([bool(r[8]) for r in rows], bool),
        photo=np.array([r[9] for r in rows], np.int64))


# --- neighbour lists, cached ----------------------------------------------------------------

def _cache_path(library: Library, model: str, k: int) -> Path:
    tag = hashlib.sha1(f"{model}|{k}".encode()).hexdigest()[:12]
    return library.root / "cache" / f"knn-{tag}.npz"


def _neighbours(library: Library, model: str, ids: np.ndarray, x: np.ndarray, k: int,
                rescale: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Neighbour lists of `x` (rows of `ids`) and the crowding scale, cached together.

    The scale is measured again when the lists are rebuilt, `rescale` is set (a full run) or the
    library has grown or shrunk by a quarter since it was measured; other incremental runs keep
    the cached one, so their thresholds do not drift face by face, yet a slowly growing library
    does not keep the scale of its first run for ever.

    Returns:
        idx rows, dist, rows whose list is new or changed, crowding scale.
    """
    n = len(ids)
    path = _cache_path(library, model, k)
    cached, scale, scale_n = None, None, n
    if path.exists():
        try:
            with np.load(path) as z:
                cached = (z["ids"], z["idx"], z["dist"])
                if "scale_n" in z.files and not rescale:  # caches before scale_n: measure once more
                    scale, scale_n = float(z["scale"]), int(z["scale_n"])
        except (OSError, ValueError, KeyError):
            log.warning("neighbour cache %s is damaged; rebuilding it", path)
    if cached is not None:
        c_ids, c_idx, c_dist = cached
        old_rows = _positions(ids, c_ids)
        keep = old_rows >= 0
        n_new = n - int(keep.sum())
    if cached is None or c_idx.shape[1] != min(k, max(n - 1, 0)) or n_new > max(0.5 * n, 2000) \
            or (len(c_ids) - keep.sum()) > 0.2 * max(len(c_ids), 1):
        idx, dist = knn_mod.knn(x, k)
        changed = np.arange(n)
        scale = None  # a new library, or a much changed one: measure it again
    else:
        # Old faces first (cache order), then the new ones; lists hold row numbers of that order.
        old_pos = old_rows[keep]
        idx_old = _positions(c_ids[keep], c_idx[keep].ravel()).reshape(-1, c_idx.shape[1])
        dist_old = np.where(idx_old >= 0, c_dist[keep], np.inf).astype(np.float32)
        # Faces that left (deleted photos, "not a face") leave holes: close them by re-sorting.
        idx_old, dist_old = knn_mod.merge_neighbours(idx_old, dist_old, np.full((len(idx_old), 1), -1),
                                                     np.full((len(idx_old), 1), np.inf, np.float32))
        new_mask = np.ones(n, bool)
        new_mask[old_pos] = False
        new_pos = np.flatnonzero(new_mask)
        order = np.concatenate([old_pos, new_pos])  # order[j] = row in `ids` of list position j
        if len(new_pos):
            idx_o, dist_o, changed_o = knn_mod.add_points(x[old_pos], idx_old, dist_old, x[new_pos])
            changed_o = np.concatenate([changed_o, np.arange(len(old_pos), n)])
        else:
            idx_o, dist_o, changed_o = idx_old, dist_old, np.zeros(0, np.int64)
        idx = np.where(idx_o >= 0, order[np.maximum(idx_o, 0)], -1)
        dist = dist_o
        inv = np.empty(n, np.int64)
        inv[order] = np.arange(n)
        idx, dist = idx[inv], dist[inv]
        changed = order[changed_o]
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    c_idx_ids = np.where(idx >= 0, ids[np.maximum(idx, 0)], -1)
    if scale is None or not RESCALE_BELOW * scale_n < n < RESCALE_ABOVE * scale_n:
        scale, scale_n = knn_mod.crowding_scale(x), n
    np.savez(tmp, ids=ids, idx=c_idx_ids, dist=dist, scale=np.float64(scale), scale_n=np.int64(scale_n))
    tmp.replace(path)  # atomic: a crash leaves the old cache or the new one
    return idx, dist, np.asarray(changed, np.int64), scale


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index in `ids` of each of `wanted`, -1 where absent (vectorised: caches hold millions)."""
    if len(ids) == 0:
        return np.full(len(wanted), -1, np.int64)
    order = np.argsort(ids, kind="stable")
    pos = order[np.minimum(np.searchsorted(ids, wanted, sorter=order), len(ids) - 1)]
    return np.where(ids[pos] == wanted, pos, -1).astype(np.int64)


# --- the run --------------------------------------------------------------------------------

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
    model = model or active_model(library)
    settings = library.settings()
    k = int(settings["cluster_k"])
    threshold = float(settings["cluster_strictness"])
    min_album = int(settings["min_album_size"])

    def step(i: int) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("clustering cancelled")
        if progress is not None:
            progress(i, 4)

    step(0)
    faces = _load_faces(library, model)
    n = len(faces.ids)
    report.faces_considered = n
    if n == 0:
        return AlbumPlan.empty(model, full, report)
    good_rows = np.flatnonzero(faces.good)
    rest_rows = np.flatnonzero(~faces.good)
    # Neighbour lists do not depend on decisions: even a full run reuses them (rebuilt only when
    # the cache is missing, or too much of the library changed since).
    idx_g, dist_g, changed_g, scale = _neighbours(library, model, faces.ids[good_rows], faces.x[good_rows],
                                                  k, rescale=full)
    limits = thresholds(settings, faces.x[good_rows], scale)
    log.info("clustering %d faces: crowding scale %.3f, link < %.3f, album mean < %.3f",
             n, limits.scale, limits.link, limits.album)
    step(1)

    held = np.isin(faces.state, HELD_STATES)
    free = ~held
    confirmed_here = _held(np.where(~free, faces.person, -1), faces.photo)
    # Incremental: faces no run has seen, plus Unsorted ones (new neighbours may now claim them),
    # plus suggestions for a person the user has since confirmed in the same photo.
    beside_own = (faces.state == "suggested") & np.array(
        [(p, ph) in confirmed_here for p, ph in zip(faces.person.tolist(), faces.photo.tolist())], bool)
    movable = free if full else free & (~faces.clustered | (faces.state == "undecided") | beside_own)
    rejected = _rejections(library)

    # Anchors: confirmed and accepted faces always; in an incremental run, suggestions that stay
    # also anchor.
    anchor = np.where(held, faces.person, -1)
    if not full:
        anchor = np.where((faces.state == "suggested") & ~movable, faces.person, anchor)

    # 1) Vote of the nearest confirmed faces, for every movable face (low-quality ones too).
    # Two faces of one photo are two people, yet web photos hold collages of one person and crowds
    # of tiny faces that all look alike; a photo where the user confirmed a face is certain, though:
    # its other faces are not that person. (Applied to every photo, sports_celebrities fell from
    # 0.885 to 0.851 BCubed F.)
    apart = np.where(np.isin(faces.photo, faces.photo[held]), faces.photo, -1)
    vote = _one_face_per_photo(_vote(faces, good_rows, rest_rows, idx_g, dist_g, movable, rejected, limits.link),
                               anchor, faces.photo)
    step(2)

    # 2) Rank-order edges among good faces, joined under cannot-link.
    rows = None if full else changed_g
    edges_g, _, pair_d = rank_order_edges(idx_g, dist_g, threshold, "approx", max_dist=limits.link, rows=rows)
    edges = good_rows[edges_g] if len(edges_g) else np.zeros((0, 2), np.int64)
    weights = pair_d.astype(np.float64)
    node_anchor = anchor.copy()
    voted = vote >= 0
    node_anchor[voted] = vote[voted]
    must = must_link_chains(node_anchor)  # each person's faces (confirmed, kept or voted) held together
    # Faces fixed in place (not movable, no anchor) take no part: they are not re-decided.
    fixed = ~movable & (node_anchor < 0)
    ok = ~(fixed[edges[:, 0]] | fixed[edges[:, 1]]) if len(edges) else np.zeros(0, bool)
    all_edges = np.concatenate([must, edges[ok]]) if len(must) else edges[ok]
    all_w = np.concatenate([np.zeros(len(must)), weights[ok]]) if len(must) else weights[ok]
    # Persons the user said are different are different anchors already; persons never share one.
    is_must = np.arange(len(all_edges)) < len(must)
    labels = components_with_cannot_link(n, all_edges, all_w, node_anchor, x=faces.x, max_mean_dist=limits.album,
                                         max_centre_dist=limits.centre, must_link=is_must, apart=apart)
    labels = _attach_strays(faces, labels, node_anchor, movable, good_rows, idx_g, rejected, limits, settings,
                            apart)
    step(3)

    assignment = _assign(faces, labels, node_anchor, movable, rejected, min_album, library)
    # Under a fine-tuned model, a named person gains a face only on the evidence the shipped model
    # gives (core/albums/evidence.py): a model switch never lowers the bar.
    shipped = _shipped_vectors(library, model, faces)
    if shipped is not None:
        named = {p for (p,) in library.con.execute("SELECT id FROM persons WHERE name IS NOT NULL")}
        assignment = filter_suggestions(faces.x, assignment, movable, np.where(held, faces.person, -1), named,
                                        faces.good, *shipped)
    report.seconds = time.perf_counter() - t0
    step(4)
    rows = np.flatnonzero(movable)
    return AlbumPlan(model=model, full=full, face_ids=faces.ids[rows], before_person=faces.person[rows],
                     before_state=faces.state[rows], after_person=assignment[rows], report=report)


def _shipped_vectors(library: Library, model: str, faces: _Faces) -> tuple[np.ndarray, np.ndarray] | None:
    """The shipped model's embeddings of the faces (for core/albums/evidence.py), and which rows have one;
    None when `model` is the shipped model (its grouping is the evidence).

    Faces scanned while a fine-tuned model was in use have none: the evidence test judges them
    with the model in use.
    """
    from photoface.core.faces.embed import SHIPPED_WEIGHTS_ID

    shipped = library.model_version(SHIPPED_WEIGHTS_ID)
    if model == shipped:
        return None
    ids, vecs = library.embeddings(shipped, faces.ids.tolist(), present_only=False)
    x_gate = np.zeros_like(faces.x)
    rows = np.searchsorted(faces.ids, ids)
    x_gate[rows] = vecs
    has = np.zeros(len(faces.ids), bool)
    has[rows] = True
    return x_gate, has


def _attach_strays(faces: _Faces, labels, node_anchor, movable, good_rows, idx_g, rejected,
                   limits: Thresholds, settings: dict, apart: np.ndarray) -> np.ndarray:
    """Undecided stray faces and fragments join the album they clearly belong to (core/albums/attach.py).

    Only good faces move or guide (poor ones attract nothing, as in the linking); a fragment never
    joins a person one of its faces was rejected from, nor an album that holds a face of one of
    its photos that must stay apart (`apart`, photo ids or -1).
    """
    neighbours = np.full((len(faces.ids), idx_g.shape[1]), -1, np.int64)
    neighbours[good_rows] = np.where(idx_g >= 0, good_rows[np.maximum(idx_g, 0)], -1)
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

    may_move = movable & (node_anchor < 0) & faces.good
    return attach_small_groups(labels, faces.x, neighbours, may_move, limits.attach,
                               float(settings["cluster_attach_margin"]), float(settings["cluster_attach_spread"]),
                               allowed, confirmed_groups=np.unique(labels[np.isin(faces.state, HELD_STATES)]))


def _rejections(library: Library) -> set[tuple[int, int]]:
    return set(library.con.execute("SELECT face_id, person_id FROM rejections").fetchall())


def _not_same(library: Library) -> set[tuple[int, int]]:
    return set(library.con.execute("SELECT a, b FROM not_same_person").fetchall())


def _vote(faces: _Faces, good_rows, rest_rows, idx_g, dist_g, movable, rejected, max_dist) -> np.ndarray:
    """Person id suggested by the nearest confirmed faces, per face row (-1: no clear winner)."""
    n = len(faces.ids)
    vote = np.full(n, -1, np.int64)
    confirmed = np.isin(faces.state, HELD_STATES)
    if not confirmed.any():
        return vote
    # Neighbour lists in face rows: good faces have them; others query the good ones.
    nb_idx = np.full((n, idx_g.shape[1]), -1, np.int64)
    nb_dist = np.full((n, idx_g.shape[1]), np.inf, np.float32)
    nb_idx[good_rows] = np.where(idx_g >= 0, good_rows[np.maximum(idx_g, 0)], -1)
    nb_dist[good_rows] = dist_g
    need = rest_rows[movable[rest_rows]]
    if len(need) and len(good_rows):
        qi, qd = knn_mod.knn_query(faces.x[good_rows], faces.x[need], idx_g.shape[1])
        nb_idx[need, :qi.shape[1]] = good_rows[qi]
        nb_dist[need, :qi.shape[1]] = qd
    for r in np.flatnonzero(movable):
        counts: dict[int, int] = {}
        for j, d in zip(nb_idx[r], nb_dist[r]):
            if j < 0 or d >= max_dist or not confirmed[j]:
                continue
            p = int(faces.person[j])
            if (int(faces.ids[r]), p) in rejected:
                continue
            counts[p] = counts.get(p, 0) + 1
        if not counts:
            continue
        ranked = sorted(counts.items(), key=lambda t: -t[1])
        best, c1 = ranked[0]
        c2 = ranked[1][1] if len(ranked) > 1 else 0
        if c1 >= VOTE_MIN and c1 - c2 >= VOTE_MARGIN:
            vote[r] = best
    return vote


def _held(person: np.ndarray, photo: np.ndarray) -> set[tuple[int, int]]:
    """{(person, photo)} of the rows with a person (-1: none)."""
    has = person >= 0
    return set(zip(person[has].tolist(), photo[has].tolist()))


def _one_face_per_photo(vote: np.ndarray, anchor: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """Votes without those for a person who already holds a face of that photo.

    `anchor` is the person each face is held by (confirmed, or a suggestion that stays), -1 for
    none. A vote is what chains a face to a person unconditionally (a must-link), so it must not
    give anyone two faces of one photo.
    """
    held = _held(anchor, photo)
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


def _assign(faces: _Faces, labels, node_anchor, movable, rejected, min_album: int,
            library: Library) -> np.ndarray:
    """New person id per face row: a person id, 0 for "a new album", or -1 for Unsorted."""
    n = len(faces.ids)
    out = np.where(movable, -1, faces.person)
    comp_anchor: dict[int, int] = {}
    for r in np.flatnonzero(node_anchor >= 0):
        comp_anchor.setdefault(int(labels[r]), int(node_anchor[r]))
    members: dict[int, list[int]] = {}
    for r in np.flatnonzero(movable):
        members.setdefault(int(labels[r]), []).append(int(r))
    # Persons without a confirmed or accepted face (unnamed albums, but also a named or hidden one
    # whose every face the user took out) are re-used by the component that holds their faces:
    # else a full run would leave a name with no face, or bring a hidden album back into People
    # under a new id.
    reusable = {p: (bool(named), bool(hidden)) for p, named, hidden in library.con.execute(
        "SELECT id, name IS NOT NULL, hidden FROM persons p WHERE NOT EXISTS "
        "(SELECT 1 FROM faces f WHERE f.person_id = p.id AND f.state IN ('confirmed', 'accepted'))")}
    kept_by_user = {p for p, (named, hidden) in reusable.items() if named or hidden}
    olds_all, counts_all = np.unique(faces.person[movable], return_counts=True)
    old_faces = dict(zip(olds_all.tolist(), counts_all.tolist()))
    fixed_in = np.bincount(labels[~movable], minlength=int(labels.max()) + 1 if n else 0)
    fresh = []  # (component, rows, big enough for an album of its own)
    for comp, rows in members.items():
        p = comp_anchor.get(comp)
        if p is not None:
            for r in rows:
                if (int(faces.ids[r]), p) not in rejected:
                    out[r] = p
            continue
        big = len(rows) + int(fixed_in[comp]) >= min_album
        if big or kept_by_user.intersection(faces.person[rows].tolist()):
            fresh.append((comp, rows, big))
    # Stable ids: greedy, each old album to at most one component. A name (or "hidden") goes first
    # with the component that holds most of its faces; a hidden album only to a component it is
    # most of, so as not to hide someone else's faces; then unnamed albums, by overlap.
    overlaps = []
    for i, (comp, rows, big) in enumerate(fresh):
        olds, counts = np.unique(faces.person[rows], return_counts=True)
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

def _person_vectors(library: Library, model: str, person_id: int,
                    states: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(face ids, vectors) of a person's faces in `states`."""
    rows = library.con.execute(
        "SELECT f.id, e.vec FROM faces f JOIN embeddings e ON e.face_id = f.id AND e.model = ? "
        "WHERE f.person_id = ? AND f.state IN (SELECT value FROM json_each(?))",
        (model, person_id, json.dumps(list(states)))).fetchall()
    ids = np.array([r[0] for r in rows], np.int64)
    if not rows:
        return ids, np.zeros((0, EMBED_DIM), np.float32)
    return ids, np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), EMBED_DIM)


def person_suggestions(library: Library, person_id: int, limit: int = 60) -> list[tuple[int, float]]:
    """(face id, distance) of the faces to ask "Is this NAME?" about, most likely first.

    Candidates are the undecided and suggested faces, and the person's own accepted faces (kept
    with the album, not yet confirmed one by one). The distance is the mean squared L2 distance to
    the person's 3 nearest confirmed faces (its accepted, then all its faces when none is
    confirmed; a face is never compared with itself). Rejected faces are never offered;
    answering re-ranks.
    """
    model = active_model(library)
    for states in (("confirmed",), HELD_STATES, ("confirmed", "accepted", "suggested")):
        ref_ids, ref = _person_vectors(library, model, person_id, states)
        if len(ref):
            break
    else:
        return []
    rows = library.con.execute(
        """SELECT f.id, e.vec FROM faces f JOIN embeddings e ON e.face_id = f.id AND e.model = ?
           WHERE (f.state IN ('undecided', 'suggested') OR (f.state = 'accepted' AND f.person_id = ?))
             AND NOT EXISTS (SELECT 1 FROM rejections r WHERE r.face_id = f.id AND r.person_id = ?)
             AND EXISTS (SELECT 1 FROM locations l WHERE l.photo_id = f.photo_id AND l.status = 'ok')""",
        (model, person_id, person_id)).fetchall()
    if not rows:
        return []
    ids = np.array([r[0] for r in rows], np.int64)
    x = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), EMBED_DIM)
    d = np.maximum(2.0 - 2.0 * (x @ ref.T), 0.0)
    d[ids[:, None] == ref_ids[None, :]] = np.inf  # not itself
    near = min(3, len(ref))
    nearest = np.sort(d, axis=1)[:, :near]
    finite = np.isfinite(nearest)
    score = np.where(finite.any(axis=1), np.where(finite, nearest, 0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1),
                     np.inf)
    order = np.argsort(score, kind="stable")[:limit]
    return [(int(ids[i]), float(score[i])) for i in order if np.isfinite(score[i])]


def merge_suggestions(library: Library, limit: int = 20, max_dist: float = 1.0) -> list[tuple[int, int, float]]:
    """(person a, person b, distance) pairs that are probably one person, best first.

    Distance is squared L2 between the persons' normalised mean faces; pairs the user said are
    not the same, and pairs of two persons that both have a name, are never offered.
    """
    model = active_model(library)
    rows = library.con.execute(
        """SELECT f.person_id, p.name IS NOT NULL, e.vec FROM faces f
           JOIN persons p ON p.id = f.person_id
           JOIN embeddings e ON e.face_id = f.id AND e.model = ?
           WHERE f.state IN ('confirmed', 'accepted', 'suggested')
             AND EXISTS (SELECT 1 FROM locations l WHERE l.photo_id = f.photo_id AND l.status = 'ok')""",
        (model,)).fetchall()
    if not rows:
        return []
    person = np.array([r[0] for r in rows], np.int64)
    x = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), EMBED_DIM)
    ids, inv = np.unique(person, return_inverse=True)
    if len(ids) < 2:
        return []
    sums = np.zeros((len(ids), EMBED_DIM), np.float64)
    np.add.at(sums, inv, x)
    m = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    named = np.zeros(len(ids), bool)
    named[inv] = np.array([bool(r[1]) for r in rows])
    nb_i, nb_d = knn_mod.knn(m, min(10, len(ids) - 1))
    not_same = _not_same(library)
    pairs = {}
    for i, (row_i, row_d) in enumerate(zip(nb_i, nb_d)):
        for j, d in zip(row_i, row_d):
            if j < 0 or d >= max_dist or (named[i] and named[j]):
                continue
            a, b = sorted((int(ids[i]), int(ids[j])))
            if (a, b) not in not_same:
                pairs[(a, b)] = float(d)
    return sorted(((a, b, d) for (a, b), d in pairs.items()), key=lambda t: t[2])[:limit]
