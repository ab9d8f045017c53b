"""A grouping, planned before it is written: what a regroup or a model switch would change.

`update.plan_albums` computes where every movable face would go; nothing is written. The plan
can be summarised for the user ("Bill Clinton: +4 suggested; Unnamed albums: 3 new"), saved to a
file (the window plans in a child process and asks before applying), and applied by `apply_plan`
in one transaction. A full regroup and a model switch are also one entry of the decision log, so
undo puts every face, album and setting back exactly as it was.

Applying is safe against a library that changed after planning: a face is written only if it is
still as the plan found it and still undecided or suggested, so a decision the user made in the
meantime always wins.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photoface.core.errors import StoreError
from photoface.core.albums.review import HELD_STATES
from photoface.core.library import face_states, persons
from photoface.core.library.decisions import Touched, record_decision
from photoface.core.library.store import Library, write_setting
from photoface.core.text import plural

#: Faces in these states are the clustering's to move; every other state is a user's decision.
MOVABLE_STATES = ("undecided", "suggested")


@dataclass
class AlbumPlan:
    """Where a grouping run would put each movable face.

    Attributes:
        model: the model version whose embeddings were grouped.
        full: a full regroup (every undecided or suggested face placed again).
        face_ids: (N,) int64 the faces the run may move.
        before_person, before_state: (N,) their person (-1: none) and state when planned.
        after_person: (N,) int64 where each goes: a person id, -1 for Unsorted, or a code <= -2
            for a new album (one code per album).
        report: the run's `cluster.ClusterReport` (filled in further by `apply_plan`).
        settings: library settings switched in the same transaction (a model switch).
    """

    model: str
    full: bool
    face_ids: np.ndarray
    before_person: np.ndarray
    before_state: np.ndarray
    after_person: np.ndarray
    report: object
    settings: dict = field(default_factory=dict)

    @classmethod
    def empty(cls, model: str, full: bool, report) -> "AlbumPlan":
        none = np.zeros(0, np.int64)
        return cls(model, full, none, none, np.zeros(0, "<U10"), none, report)

    def save(self, path: Path) -> None:
        """Writes the plan (atomically) for another process to apply."""
        from dataclasses import asdict

        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, face_ids=self.face_ids, before_person=self.before_person,
                 before_state=self.before_state, after_person=self.after_person,
                 meta=np.array(json.dumps({"model": self.model, "full": self.full, "settings": self.settings,
                                           "report": asdict(self.report)})))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "AlbumPlan":
        from photoface.core.albums.update import ClusterReport

        try:
            with np.load(path) as z:
                meta = json.loads(str(z["meta"]))
                return cls(meta["model"], bool(meta["full"]), z["face_ids"], z["before_person"],
                           z["before_state"], z["after_person"], ClusterReport(**meta["report"]),
                           meta["settings"])
        except (OSError, ValueError, KeyError) as exc:
            raise StoreError(f"the grouping plan {path} cannot be read ({exc}); regroup again") from exc


@dataclass
class PlanSummary:
    """What a plan changes that the user should see before it happens.

    Attributes:
        named: (person id, name, faces gained, faces lost) of each named person it changes.
        new_albums: unnamed albums it creates.
        albums_gone: unnamed albums it empties.
        to_unsorted, from_unsorted: faces leaving an album for Unsorted, and the other way.
    """

    named: list[tuple[int, str, int, int]]
    new_albums: int
    albums_gone: int
    to_unsorted: int
    from_unsorted: int

    @property
    def needs_confirmation(self) -> bool:
        """A named person would gain or lose faces: ask before applying."""
        return bool(self.named)

    def lines(self) -> list[str]:
        out = []
        for _, name, gained, lost in self.named:
            parts = ([f"+{gained} suggested"] if gained else []) + ([f"−{lost} suggested"] if lost else [])
            out.append(f"{name}: {', '.join(parts)}")
        if self.new_albums or self.albums_gone:
            parts = ([f"{self.new_albums} new"] if self.new_albums else []) + \
                    ([f"{self.albums_gone} gone"] if self.albums_gone else [])
            out.append(f"Unnamed albums: {', '.join(parts)}")
        parts = ([f"{plural(self.from_unsorted, 'face')} placed in albums"] if self.from_unsorted else []) + \
                ([f"{plural(self.to_unsorted, 'face')} back to Unsorted"] if self.to_unsorted else [])
        if parts:
            out.append(f"Unsorted: {', '.join(parts)}")
        return out or ["Nothing changes."]

    def to_dict(self) -> dict:
        return {"named": [list(t) for t in self.named], "new_albums": self.new_albums,
                "albums_gone": self.albums_gone, "to_unsorted": self.to_unsorted,
                "from_unsorted": self.from_unsorted, "lines": self.lines(),
                "needs_confirmation": self.needs_confirmation}


def summarize(library: Library, plan: AlbumPlan) -> PlanSummary:
    """What applying `plan` now would change, per named person and for unnamed albums."""
    before, after = plan.before_person, plan.after_person
    moves = before != after
    names = persons.named_persons(library.con)
    named = []
    for pid in sorted(set(before[moves].tolist()) | set(after[moves].tolist())):
        if pid in names:
            gained = int(((after == pid) & moves).sum())
            lost = int(((before == pid) & moves).sum())
            named.append((pid, names[pid], gained, lost))
    named.sort(key=lambda t: t[1].casefold())
    held = face_states.persons_holding(library.con, HELD_STATES)
    unnamed_before = {p for p in before[before >= 0].tolist() if p not in names}
    still = set(after[after >= 0].tolist()) | held
    return PlanSummary(named=named, new_albums=len(set(after[after <= -2].tolist())),
                       albums_gone=len(unnamed_before - still),
                       to_unsorted=int(((after == -1) & (before >= 0)).sum()),
                       from_unsorted=int(((after != -1) & (before == -1)).sum()))


def apply_plan(library: Library, plan: AlbumPlan, logged: bool, action: str = "regroup",
               params: dict | None = None):
    """Writes a plan in one transaction; `logged` also makes it one undoable decision.

    Faces the user decided on since the plan was made, or that a scan moved meanwhile, are left
    as they are.

    Raises:
        StoreError: the plan was made for another model version than the one it would leave in use.

    Returns:
        the plan's ClusterReport with new_albums, suggested_to_known, albums and unsorted filled in.
    """
    report = plan.report
    with library.transaction() as con:
        now_person, now_state = _current(con, plan.face_ids)
        still = (now_person == plan.before_person) & (now_state == plan.before_state) \
            & np.isin(now_state, MOVABLE_STATES)
        rows = np.flatnonzero(still)
        after = plan.after_person[rows]
        new_state = np.where(after == -1, "undecided", "suggested")
        changes = rows[(after != plan.before_person[rows]) | (new_state != plan.before_state[rows])]
        touched = Touched(faces=set(plan.face_ids[changes].tolist()), settings=set(plan.settings))
        # Albums a run may empty (and `_write_plan` delete): those the moving faces leave, and
        # unnamed ones already empty.
        touched.persons = set(plan.before_person[changes].tolist()) - {-1} | persons.empty_unnamed_albums(con)

        def write(con):
            for key, value in plan.settings.items():
                write_setting(con, key, json.dumps(value))
            if library.model_version() != plan.model:
                raise StoreError("the library's model changed since the faces were grouped; regroup again")
            _write_plan(con, plan, rows, report, touched)

        if logged:
            params = {"faces": int(len(changes)), "full": plan.full, **(params or {})}
            record_decision(con, action, params, touched, write)
        else:
            write(con)
    return report


def _current(con, face_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Person (-1: none) and state of each face now ('' for a face that is gone)."""
    rows = face_states.faces_now(con, face_ids.tolist())
    person = np.array([rows.get(f, (-1, ""))[0] for f in face_ids.tolist()], np.int64)
    state = np.array([rows.get(f, (-1, ""))[1] for f in face_ids.tolist()], dtype="<U10")
    return person, state


def _write_plan(con, plan: AlbumPlan, rows: np.ndarray, report, touched: Touched) -> None:
    now = time.time()
    new_ids: dict[int, int] = {}
    for code in sorted(set(plan.after_person[rows][plan.after_person[rows] <= -2].tolist())):
        new_ids[code] = persons.new_person(con, None, now)
        touched.created_persons.add(new_ids[code])
    report.new_albums = len(new_ids)
    known = face_states.persons_holding(con, HELD_STATES)
    updates = []
    report.suggested_to_known = 0
    for r in rows.tolist():
        a = int(plan.after_person[r])
        person = new_ids.get(a, a) if a != -1 else None
        if person in known and int(plan.before_person[r]) != person:
            report.suggested_to_known += 1
        updates.append((person, "suggested" if person is not None else "undecided", int(plan.face_ids[r])))
    face_states.place_movable_faces(con, updates)
    face_states.mark_held_clustered(con)
    persons.delete_junk_albums(con)
    report.albums = persons.count_persons(con)
    report.unsorted = sum(1 for p, _, _ in updates if p is None)
