"""The user's corrections: each one transaction and one entry in the decision log, undoable.

Every action records, in `decisions`, the rows it touched as they were before and after
(face person/state, person rows, rejections, "not the same person" pairs). Undo writes the
"before" rows back and redo the "after" rows, so both are exact and survive restarts.

What each action leaves behind (the constraints clustering must respect). "Accepted" faces are
the ones the user saw in a person's album and kept there: held like confirmed faces (no regroup,
incremental run, model switch or re-scan moves one), shown as not individually confirmed.

| action                          | what it leaves                                                   |
|---------------------------------|------------------------------------------------------------------|
| name (or rename) P              | P's suggested faces accepted for P                               |
| merge P into Q                  | every face then shown in P and Q accepted (or confirmed) for Q;  |
| (menu, drag, rename onto a      | P's rejections and "not the same" pairs apply to Q               |
| taken name, "Same person?" yes) |                                                                  |
| hide P                          | P's suggested faces accepted for P (they stay with it, hidden)   |
| confirm faces for P             | confirmed for P (must-link)                                      |
| reject faces from P             | cannot-link to P; the faces become undecided                     |
| move faces to P                 | confirmed for P, rejected from the person they left              |
| split into new P                | confirmed for P, rejected from the old person                    |
| not a face                      | the face leaves every album and clustering                       |
| "Same person?" no (P, Q)        | P and Q are never suggested as one person again                  |
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from photoface.core.errors import PhotofaceError
from photoface.core.library.store import Library, write_setting


class ReviewError(PhotofaceError):
    """An action that cannot be done as asked (unknown person, nothing to undo, …)."""


class NameTaken(ReviewError):
    """Renaming to a name another person has: the caller should offer to merge."""

    def __init__(self, name: str, person_id: int):
        self.name, self.person_id = name, person_id
        super().__init__(f"the name {name!r} is taken by person {person_id}; merge them instead?")


@dataclass
class Touched:
    """The rows an action changes; snapshots of exactly these make undo exact."""

    faces: set[int] = field(default_factory=set)
    persons: set[int] = field(default_factory=set)
    rejections: set[tuple[int, int]] = field(default_factory=set)
    not_same: set[tuple[int, int]] = field(default_factory=set)
    created_persons: set[int] = field(default_factory=set)  # did not exist before the action
    settings: set[str] = field(default_factory=set)  # library settings (a model switch)


def _snapshot(con: sqlite3.Connection, t: Touched) -> dict:
    # One query for the faces: a regroup touches tens of thousands of them.
    faces = {str(fid): [person, state] for fid, person, state in con.execute(
        "SELECT id, person_id, state FROM faces WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(sorted(t.faces)),))}
    found = {pid: list(row) for pid, *row in con.execute(
        "SELECT id, name, hidden, cover_face_id, created_at FROM persons WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(t.persons)),))}
    persons = {str(pid): found.get(pid) for pid in sorted(t.persons)}
    rejections = [[f, p, con.execute("SELECT 1 FROM rejections WHERE face_id = ? AND person_id = ?",
                                     (f, p)).fetchone() is not None] for f, p in sorted(t.rejections)]
    not_same = [[a, b, con.execute("SELECT 1 FROM not_same_person WHERE a = ? AND b = ?",
                                   (a, b)).fetchone() is not None] for a, b in sorted(t.not_same)]
    settings = {}
    for key in sorted(t.settings):
        row = con.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        settings[key] = row[0] if row else None
    return {"faces": faces, "persons": persons, "rejections": rejections, "not_same": not_same,
            "settings": settings}


def _restore(con: sqlite3.Connection, snap: dict) -> None:
    # Persons that must exist come first (faces point at them), persons that must not, last.
    for pid, row in snap["persons"].items():
        if row is not None:
            name, hidden, cover, created = row
            con.execute("INSERT INTO persons(id, name, hidden, cover_face_id, created_at) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET name = excluded.name, hidden = excluded.hidden, "
                        "cover_face_id = excluded.cover_face_id", (int(pid), None, hidden, cover, created))
    # Names last among persons: a swap of names must not collide half-way.
    for pid, row in snap["persons"].items():
        if row is not None:
            con.execute("UPDATE persons SET name = ? WHERE id = ?", (row[0], int(pid)))
    con.executemany("UPDATE faces SET person_id = ?, state = ? WHERE id = ?",
                    [(person_id, state, int(fid)) for fid, (person_id, state) in snap["faces"].items()])
    for key, value in snap.get("settings", {}).items():  # decisions before settings were logged have none
        if value is None:
            con.execute("DELETE FROM settings WHERE key = ?", (key,))
        else:
            write_setting(con, key, value)
    for f, p, present in snap["rejections"]:
        if present:
            con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) "
                        "SELECT ?, ? WHERE EXISTS (SELECT 1 FROM faces WHERE id = ?) "
                        "AND EXISTS (SELECT 1 FROM persons WHERE id = ?)", (f, p, f, p))
        else:
            con.execute("DELETE FROM rejections WHERE face_id = ? AND person_id = ?", (f, p))
    for a, b, present in snap["not_same"]:
        if present:
            con.execute("INSERT OR IGNORE INTO not_same_person(a, b) SELECT ?, ? WHERE "
                        "(SELECT COUNT(*) FROM persons WHERE id IN (?, ?)) = 2", (a, b, a, b))
        else:
            con.execute("DELETE FROM not_same_person WHERE a = ? AND b = ?", (a, b))
    for pid, row in snap["persons"].items():
        if row is None:
            con.execute("DELETE FROM persons WHERE id = ?", (int(pid),))


def record_decision(con: sqlite3.Connection, action: str, params: dict, touched: Touched,
                    apply: Callable[[sqlite3.Connection], Any]) -> tuple[Any, int]:
    """Applies a change inside the caller's transaction and logs it as one undoable decision.

    The rows in `touched` are snapshotted before and after `apply(con)`; undo and redo restore
    exactly those snapshots. `apply` may add to `touched.created_persons` and to `params`
    (both are read after it runs).

    Returns:
        (what `apply` returned, the decision id).
    """
    before = _snapshot(con, touched)
    result = apply(con)
    touched.persons |= touched.created_persons
    after = _snapshot(con, touched)
    before["persons"].update({str(p): None for p in touched.created_persons})
    # A new decision ends the redo history, as in every editor.
    con.execute("DELETE FROM decisions WHERE undone = 1")
    cur = con.execute("INSERT INTO decisions(at, action, params, before, after) VALUES (?, ?, ?, ?, ?)",
                      (time.time(), action, json.dumps(params), json.dumps(before), json.dumps(after)))
    return result, cur.lastrowid


#: What each logged action is called in menus ("Undo Merge") and messages.
ACTION_NAMES = {
    "confirm": "Confirm", "reject": "Not This Person", "move": "Move", "split": "New Person",
    "merge": "Merge", "rename": "Rename", "create": "New Person", "hide": "Hide",
    "unhide": "Show", "cover": "Set Cover", "not_face": "Not a Face", "not_same": "Not the Same",
    "forget": "Forget Person", "regroup": "Regroup Faces", "use_model": "Switch Model",
    "import_xmp": "Import Names",
}


def describe_action(action: str) -> str:
    """A logged action's name for people ("merge" -> "Merge")."""
    return ACTION_NAMES.get(action, action.replace("_", " ").title())


#: States of faces held in their person by a decision of the user: clustering never moves them.
HELD_STATES = ("confirmed", "accepted")


def _suggested_of(con: sqlite3.Connection, person_ids: Iterable[int]) -> set[int]:
    ids = json.dumps(sorted({int(p) for p in person_ids}))
    return {f for (f,) in con.execute("SELECT id FROM faces WHERE state = 'suggested' "
                                      "AND person_id IN (SELECT value FROM json_each(?))", (ids,))}


def _accept(con: sqlite3.Connection, face_ids: Iterable[int], person_id: int) -> None:
    """The user kept these suggested faces as `person_id`: they become accepted for it."""
    con.execute("UPDATE faces SET person_id = ?, state = 'accepted' WHERE state = 'suggested' "
                "AND id IN (SELECT value FROM json_each(?))", (person_id, json.dumps(sorted(face_ids))))


class Review:
    """The review actions over one library. Each public method is one transaction and one
    decision, and returns the decision id (or a new person id where it says so)."""

    def __init__(self, library: Library):
        self.library = library
        self.con = library.con

    # --- recording ------------------------------------------------------------------------

    def _do(self, action: str, params: dict, touched: Touched, apply) -> int:
        """Applies the change as one transaction and one decision (see `record_decision`)."""
        with self.library.transaction() as con:
            result, decision_id = record_decision(con, action, params, touched, apply)
            return result if result is not None else decision_id

    def _faces(self, face_ids: Iterable[int]) -> list[tuple[int, int | None, str]]:
        ids = sorted({int(f) for f in face_ids})
        if not ids:
            raise ReviewError("no faces given")
        rows = []
        for fid in ids:
            row = self.con.execute("SELECT id, person_id, state FROM faces WHERE id = ?", (fid,)).fetchone()
            if row is None:
                raise ReviewError(f"no face {fid}")
            rows.append(row)
        return rows

    def _require_person(self, person_id: int) -> None:
        if self.con.execute("SELECT 1 FROM persons WHERE id = ?", (person_id,)).fetchone() is None:
            raise ReviewError(f"no person {person_id}")

    def _rejections_of(self, person_id: int) -> list[int]:
        return [f for (f,) in self.con.execute("SELECT face_id FROM rejections WHERE person_id = ?", (person_id,))]

    # --- actions --------------------------------------------------------------------------

    def confirm(self, face_ids: Iterable[int], person_id: int) -> int:
        """These faces are person_id (must-link); a rejection of them from that person is lifted."""
        self._require_person(person_id)
        faces = self._faces(face_ids)
        t = Touched(faces={f for f, _, _ in faces}, rejections={(f, person_id) for f, _, _ in faces})

        def apply(con):
            for fid, _, _ in faces:
                con.execute("UPDATE faces SET person_id = ?, state = 'confirmed' WHERE id = ?", (person_id, fid))
                con.execute("DELETE FROM rejections WHERE face_id = ? AND person_id = ?", (fid, person_id))

        return self._do("confirm", {"faces": [f for f, _, _ in faces], "person": person_id}, t, apply)

    def reject(self, face_ids: Iterable[int], person_id: int) -> int:
        """These faces are not person_id (cannot-link); they become undecided."""
        self._require_person(person_id)
        faces = self._faces(face_ids)
        t = Touched(faces={f for f, _, _ in faces}, rejections={(f, person_id) for f, _, _ in faces})

        def apply(con):
            for fid, current, _ in faces:
                con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) VALUES (?, ?)", (fid, person_id))
                if current == person_id:
                    con.execute("UPDATE faces SET person_id = NULL, state = 'undecided' WHERE id = ?", (fid,))

        return self._do("reject", {"faces": [f for f, _, _ in faces], "person": person_id}, t, apply)

    def move(self, face_ids: Iterable[int], person_id: int) -> int:
        """Confirmed for person_id, rejected from the person each face left."""
        self._require_person(person_id)
        faces = self._faces(face_ids)
        t = Touched(faces={f for f, _, _ in faces},
                     rejections={(f, p) for f, p, _ in faces if p is not None} | {(f, person_id) for f, _, _ in faces})

        def apply(con):
            self._move(con, faces, person_id)

        return self._do("move", {"faces": [f for f, _, _ in faces], "person": person_id}, t, apply)

    @staticmethod
    def _move(con, faces, person_id: int) -> None:
        for fid, old, _ in faces:
            if old is not None and old != person_id:
                con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) VALUES (?, ?)", (fid, old))
            con.execute("DELETE FROM rejections WHERE face_id = ? AND person_id = ?", (fid, person_id))
            con.execute("UPDATE faces SET person_id = ?, state = 'confirmed' WHERE id = ?", (person_id, fid))

    def split(self, face_ids: Iterable[int], name: str | None = None) -> int:
        """A new person from these faces (confirmed), rejected from their old person.

        Returns:
            The new person's id.
        """
        faces = self._faces(face_ids)
        name = clean_name(name)
        if name is not None:
            self._check_name_free(name, None)
        t = Touched(faces={f for f, _, _ in faces},
                     rejections={(f, p) for f, p, _ in faces if p is not None})

        def apply(con):
            new_id = con.execute("INSERT INTO persons(name, created_at) VALUES (?, ?)", (name, time.time())).lastrowid
            t.created_persons.add(new_id)
            self._move(con, faces, new_id)
            return new_id

        return self._do("split", {"faces": [f for f, _, _ in faces], "name": name}, t, apply)

    def merge(self, sources: Iterable[int], target: int) -> int:
        """Merges persons into `target`: confirmed faces stay confirmed, every suggested face of
        both becomes accepted for target, their rejections apply to target, and the sources are
        removed. Target keeps its name; an unnamed target takes the first source's name."""
        self._require_person(target)
        sources = sorted({int(s) for s in sources} - {target})
        if not sources:
            raise ReviewError("nothing to merge")
        for s in sources:
            self._require_person(s)
        faces = [f for s in sources for (f,) in self.con.execute("SELECT id FROM faces WHERE person_id = ?", (s,))]
        rejected = {(f, s) for s in sources for f in self._rejections_of(s)}
        pairs = {tuple(r) for s in sources for r in self.con.execute(
            "SELECT a, b FROM not_same_person WHERE a = ? OR b = ?", (s, s))}
        new_pairs = {tuple(sorted((target, b if a == s else a))) for s in sources for a, b in pairs
                     if s in (a, b)} - {(target, target)}
        new_pairs = {p for p in new_pairs if p[0] != p[1] and p[0] not in sources and p[1] not in sources}
        shown = _suggested_of(self.con, [target, *sources])
        t = Touched(faces=set(faces) | shown, persons={target, *sources},
                     rejections=rejected | {(f, target) for f, _ in rejected}, not_same=pairs | new_pairs)

        def apply(con):
            (tname,) = con.execute("SELECT name FROM persons WHERE id = ?", (target,)).fetchone()
            first_name = None
            for s in sources:
                (sname,) = con.execute("SELECT name FROM persons WHERE id = ?", (s,)).fetchone()
                first_name = first_name or sname
                con.execute("UPDATE faces SET person_id = ? WHERE person_id = ?", (target, s))
                con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) "
                            "SELECT face_id, ? FROM rejections WHERE person_id = ?", (target, s))
            for a, b in new_pairs:
                con.execute("INSERT OR IGNORE INTO not_same_person(a, b) VALUES (?, ?)", (a, b))
            for s in sources:
                con.execute("DELETE FROM persons WHERE id = ?", (s,))
            if tname is None and first_name is not None:
                con.execute("UPDATE persons SET name = ? WHERE id = ?", (first_name, target))
            # A face rejected from the merged person but confirmed for it stays confirmed (the
            # confirmation is the later, explicit word); suggestions that are now rejected go.
            con.execute("UPDATE faces SET person_id = NULL, state = 'undecided' WHERE person_id = ? "
                        "AND state = 'suggested' AND id IN (SELECT face_id FROM rejections WHERE person_id = ?)",
                        (target, target))
            # What the user saw in both albums and joined is now theirs: a regroup keeps it together.
            _accept(con, shown, target)

        return self._do("merge", {"sources": sources, "target": target}, t, apply)

    def rename(self, person_id: int, name: str | None) -> int:
        """Names (or, with None/"", unnames) a person; naming accepts the faces its album shows.

        Raises:
            NameTaken: another person has the name (the caller should offer to merge).
        """
        self._require_person(person_id)
        name = clean_name(name)
        if name is not None:
            self._check_name_free(name, person_id)
        shown = _suggested_of(self.con, [person_id]) if name is not None else set()
        t = Touched(faces=shown, persons={person_id})

        def apply(con):
            con.execute("UPDATE persons SET name = ? WHERE id = ?", (name, person_id))
            _accept(con, shown, person_id)

        return self._do("rename", {"person": person_id, "name": name}, t, apply)

    def create_person(self, name: str) -> int:
        """A new, empty, named person (for moving faces to someone not yet in the library)."""
        name = clean_name(name)
        if name is None:
            raise ReviewError("a new person needs a name")
        self._check_name_free(name, None)
        t = Touched()

        def apply(con):
            new_id = con.execute("INSERT INTO persons(name, created_at) VALUES (?, ?)", (name, time.time())).lastrowid
            t.created_persons.add(new_id)
            return new_id

        return self._do("create", {"name": name}, t, apply)

    def set_hidden(self, person_ids: int | Iterable[int], hidden: bool = True) -> int:
        """Hides (or shows) one or several persons (one decision); hiding keeps the faces each
        album shows with it."""
        ids = sorted({int(person_ids)} if isinstance(person_ids, int) else {int(p) for p in person_ids})
        if not ids:
            raise ReviewError("no person given")
        for pid in ids:
            self._require_person(pid)
        shown = {pid: _suggested_of(self.con, [pid]) if hidden else set() for pid in ids}
        t = Touched(faces=set().union(*shown.values()), persons=set(ids))

        def apply(con):
            for pid in ids:
                con.execute("UPDATE persons SET hidden = ? WHERE id = ?", (int(hidden), pid))
                _accept(con, shown[pid], pid)

        params = {"person": ids[0]} if len(ids) == 1 else {"persons": ids}
        return self._do("hide" if hidden else "unhide", params, t, apply)

    def set_cover(self, person_id: int, face_id: int) -> int:
        self._require_person(person_id)
        t = Touched(persons={person_id})

        def apply(con):
            con.execute("UPDATE persons SET cover_face_id = ? WHERE id = ?", (face_id, person_id))

        return self._do("cover", {"person": person_id, "face": face_id}, t, apply)

    def not_a_face(self, face_ids: Iterable[int]) -> int:
        """These detections are not faces: they leave every album and all clustering."""
        faces = self._faces(face_ids)
        t = Touched(faces={f for f, _, _ in faces})

        def apply(con):
            for fid, _, _ in faces:
                con.execute("UPDATE faces SET person_id = NULL, state = 'not_face' WHERE id = ?", (fid,))

        return self._do("not_face", {"faces": [f for f, _, _ in faces]}, t, apply)

    def not_same_person(self, a: int, b: int) -> int:
        """A "no" to "Same person?": a and b are never suggested as one again."""
        self._require_person(a)
        self._require_person(b)
        pair = (min(a, b), max(a, b))
        if pair[0] == pair[1]:
            raise ReviewError("a person is always the same as itself")
        t = Touched(not_same={pair})

        def apply(con):
            con.execute("INSERT OR IGNORE INTO not_same_person(a, b) VALUES (?, ?)", pair)

        return self._do("not_same", {"persons": list(pair)}, t, apply)

    def forget_person(self, person_id: int) -> int:
        """Removes a person: its faces become undecided and its rejections go (undoable)."""
        self._require_person(person_id)
        faces = [f for (f,) in self.con.execute("SELECT id FROM faces WHERE person_id = ?", (person_id,))]
        rejected = {(f, person_id) for f in self._rejections_of(person_id)}
        pairs = {tuple(r) for r in self.con.execute(
            "SELECT a, b FROM not_same_person WHERE a = ? OR b = ?", (person_id, person_id))}
        t = Touched(faces=set(faces), persons={person_id}, rejections=rejected, not_same=pairs)

        def apply(con):
            con.execute("UPDATE faces SET person_id = NULL, state = 'undecided' WHERE person_id = ?", (person_id,))
            con.execute("DELETE FROM persons WHERE id = ?", (person_id,))

        return self._do("forget", {"person": person_id}, t, apply)

    # --- undo / redo ----------------------------------------------------------------------

    def undo(self) -> tuple[int, str] | None:
        """Undoes the latest decision. Returns (decision id, action) or None if there is none."""
        return self._replay(undo=True)

    def redo(self) -> tuple[int, str] | None:
        """Redoes the earliest undone decision. Returns (decision id, action) or None."""
        return self._replay(undo=False)

    def _replay(self, undo: bool) -> tuple[int, str] | None:
        # Undo writes back the latest live decision's "before" rows; redo the earliest undone one's "after".
        snapshot, order = ("before", "DESC") if undo else ("after", "ASC")
        with self.library.transaction() as con:
            row = con.execute(f"SELECT id, action, {snapshot} FROM decisions WHERE undone = ? "
                              f"ORDER BY id {order} LIMIT 1", (0 if undo else 1,)).fetchone()
            if row is None:
                return None
            _restore(con, json.loads(row[2]))
            con.execute("UPDATE decisions SET undone = ? WHERE id = ?", (1 if undo else 0, row[0]))
            return row[0], row[1]

    def next_undo(self) -> str | None:
        """The action `undo` would take back now (None: nothing to undo)."""
        row = self.con.execute("SELECT action FROM decisions WHERE undone = 0 ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def next_redo(self) -> str | None:
        """The action `redo` would do again now (None: nothing to redo)."""
        row = self.con.execute("SELECT action FROM decisions WHERE undone = 1 ORDER BY id ASC LIMIT 1").fetchone()
        return row[0] if row else None

    def history(self) -> list[tuple[int, str, dict, bool]]:
        """(id, action, params, undone) of every logged decision, oldest first."""
        return [(i, a, json.loads(p), bool(u)) for i, a, p, u in
                self.con.execute("SELECT id, action, params, undone FROM decisions ORDER BY id")]

    def _check_name_free(self, name: str, person_id: int | None) -> None:
        row = self.con.execute("SELECT id FROM persons WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
        if row is not None and row[0] != person_id:
            raise NameTaken(name, row[0])


def clean_name(name: str | None) -> str | None:
    """A person's name with runs of white space folded to one space; None for a blank one."""
    if name is None:
        return None
    name = " ".join(name.split())
    return name or None
