"""A user who knows the truth fixes albums by hand, with renames, merges and moves only.

The counting rules, shared by every labelling `benchmarks.effort` measures (the oracle baselines'
albums, and what is left of photoface's after its suggestions):

- Albums are what the window shows: a group of at least `min_album_size` faces (every face
  counts, bystanders too) or a named person; smaller groups and unsorted faces are in Unsorted.
- rename: an identity names the album with most of its faces among the albums it is the majority
  of (greedy over (album, identity) cells, largest first, one name per album). A user names an
  album after the person most of it shows: an identity that is the majority of no free album gets
  its person from its first selection moved to a new name (a split) instead.
- merge: every other album holding labelled faces is dropped onto the person of its majority
  identity (one action; its other faces come along, to be moved out below).
- move: then, in each album and in Unsorted, the faces of each identity that does not belong
  there are selected together and moved to their person: one action per (album, identity), a
  split when that identity has no person yet.

Bystanders (faces without a label) are never acted on and never decide a majority.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

UNSORTED = -1


@dataclass(frozen=True)
class Step:
    """One action of the user.

    Attributes:
        kind -- "rename", "merge", "move" or "split".
        identity -- whose person the step names, grows or creates.
        album -- the album renamed or merged, or the one the moved faces leave (UNSORTED: -1).
        faces -- positions, in the arrays given to `hand_fix_plan`, of the faces moved.
    """

    kind: str
    identity: str
    album: int
    faces: tuple[int, ...] = ()


def shown_albums(groups: np.ndarray, min_album_size: int) -> np.ndarray:
    """Groups as the window shows them: groups of fewer than `min_album_size` faces and negative
    labels (noise) become UNSORTED.

    Args:
        groups: (N,) int labels of every face of a library (not only the labelled ones).
    """
    groups = np.asarray(groups, np.int64)
    ids, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    small = (counts < min_album_size) | (ids < 0)
    return np.where(small[inverse], UNSORTED, groups)


def majority(albums: np.ndarray, identities: np.ndarray) -> dict[int, tuple[str, int]]:
    """{album: (identity with most faces in it, that count)}, ties to the first name."""
    cells = Counter(zip(albums.tolist(), identities.tolist()))
    out: dict[int, tuple[str, int]] = {}
    for (album, ident), n in sorted(cells.items(), key=lambda c: (c[0][0], -c[1], c[0][1])):
        if album != UNSORTED and album not in out:
            out[album] = (ident, n)
    return out


def names_to_give(albums: np.ndarray, identities: np.ndarray, named: dict[int, str]) -> dict[str, int]:
    """{identity: the unnamed album the user names after it} (the greedy rule above)."""
    has = set(named.values())
    top = majority(albums, identities)
    cells = Counter(zip(albums.tolist(), identities.tolist()))
    give: dict[str, int] = {}
    for (album, ident), _ in sorted(cells.items(), key=lambda c: (-c[1], c[0][0], c[0][1])):
        if album == UNSORTED or album in named or album in give.values() or ident in has or ident in give:
            continue
        if top[album][0] == ident:
            give[ident] = album
    return give


def hand_fix_plan(albums: np.ndarray, identities: np.ndarray, named: dict[int, str] | None = None) -> list[Step]:
    """The actions that put every labelled face in its identity's named album.

    Args:
        albums: (N,) int album shown for each labelled face (UNSORTED: -1), e.g. from `shown_albums`.
        identities: (N,) str identity of each labelled face.
        named: {album: identity} of the albums already named (a person has one name).

    Returns:
        The steps in order: renames, merges, then moves and splits.
    """
    albums = np.asarray(albums, np.int64)
    identities = np.asarray(identities).astype(str)
    named = dict(named or {})
    steps = [Step("rename", ident, album) for ident, album in sorted(names_to_give(albums, identities, named).items())]
    owner = {**named, **{s.album: s.identity for s in steps}}
    home = {ident: album for album, ident in owner.items()}
    current = albums.copy()
    top = majority(albums, identities)
    for album in sorted(top):
        if album in owner:
            continue
        # Its majority identity has a person: the greedy gave it this album otherwise.
        ident = top[album][0]
        steps.append(Step("merge", ident, album))
        current[current == album] = home[ident]
    fresh = -2  # albums the plan's splits create
    for album in sorted(set(current.tolist()), key=lambda a: (a == UNSORTED, a)):
        here = np.flatnonzero(current == album)
        for ident in sorted(set(identities[here].tolist()) - {owner.get(album)}):
            faces = tuple(int(i) for i in here[identities[here] == ident])
            if ident in home:
                steps.append(Step("move", ident, album, faces))
            else:
                steps.append(Step("split", ident, album, faces))
                home[ident], owner[fresh] = fresh, ident
                fresh -= 1
            current[list(faces)] = home[ident]
    return steps


def count_steps(steps: list[Step]) -> dict[str, int]:
    """{kind: how many} of a plan."""
    return dict(Counter(s.kind for s in steps))


def faces_moved(steps: list[Step]) -> int:
    """How many faces the plan's moves and splits select (one action may select hundreds: the
    counting rules make a multi-selection one action, so this shows what they hide)."""
    return sum(len(s.faces) for s in steps)
