"""The decision log: every correction of the user, with the rows it touched before and after.

An entry in `decisions` holds JSON snapshots of exactly the rows an action changed (face
person/state/dismissed, person rows, rejections, "not the same person" pairs, settings). Undo writes the
"before" rows back and redo the "after" rows, so both are exact and survive restarts. What an
action means is `albums/review.py`'s; this module only stores and replays it. Every function
runs inside the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from photoface.core.library.store import write_setting


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
    faces = {str(fid): [person, state, dismissed] for fid, person, state, dismissed in con.execute(
        "SELECT id, person_id, state, dismissed FROM faces WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
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
    # Persons that must exist come first (faces point at them), persons that must not, last; but
    # those lose their names now: one may have handed its name on (redo of a merge into an unnamed person).
    for pid, row in snap["persons"].items():
        if row is not None:
            name, hidden, cover, created = row
            con.execute("INSERT INTO persons(id, name, hidden, cover_face_id, created_at) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET name = excluded.name, hidden = excluded.hidden, "
                        "cover_face_id = excluded.cover_face_id", (int(pid), None, hidden, cover, created))
        else:
            con.execute("UPDATE persons SET name = NULL WHERE id = ?", (int(pid),))
    # Names last among persons: a swap of names must not collide half-way.
    for pid, row in snap["persons"].items():
        if row is not None:
            con.execute("UPDATE persons SET name = ? WHERE id = ?", (row[0], int(pid)))
    con.executemany("UPDATE faces SET person_id = ?, state = ? WHERE id = ?",
                    [(row[0], row[1], int(fid)) for fid, row in snap["faces"].items()])
    # Decisions logged before schema 5 hold (person, state) only: "dismissed" stays as it is.
    con.executemany("UPDATE faces SET dismissed = ? WHERE id = ?",
                    [(row[2], int(fid)) for fid, row in snap["faces"].items() if len(row) > 2])
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


def replay(con: sqlite3.Connection, undo: bool) -> tuple[int, str] | None:
    """Undoes the latest live decision, or redoes the earliest undone one, inside the caller's
    transaction. Returns (decision id, action), or None when there is nothing to replay."""
    # Undo writes back the latest live decision's "before" rows; redo the earliest undone one's "after".
    snapshot, order = ("before", "DESC") if undo else ("after", "ASC")
    row = con.execute(f"SELECT id, action, {snapshot} FROM decisions WHERE undone = ? "
                      f"ORDER BY id {order} LIMIT 1", (0 if undo else 1,)).fetchone()
    if row is None:
        return None
    _restore(con, json.loads(row[2]))
    con.execute("UPDATE decisions SET undone = ? WHERE id = ?", (1 if undo else 0, row[0]))
    return row[0], row[1]


def next_undo(con: sqlite3.Connection) -> tuple[int, str] | None:
    """(id, action) of what `replay(undo=True)` would take back now (None: nothing to undo)."""
    row = con.execute("SELECT id, action FROM decisions WHERE undone = 0 ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def next_redo(con: sqlite3.Connection) -> tuple[int, str] | None:
    """(id, action) of what `replay(undo=False)` would do again now (None: nothing to redo)."""
    row = con.execute("SELECT id, action FROM decisions WHERE undone = 1 ORDER BY id ASC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def params_of(con: sqlite3.Connection, decision_id: int) -> dict:
    """What one logged decision was given (its params), {} when there is no such decision."""
    row = con.execute("SELECT params FROM decisions WHERE id = ?", (decision_id,)).fetchone()
    return json.loads(row[0]) if row else {}


def history(con: sqlite3.Connection) -> list[tuple[int, str, dict, bool]]:
    """(id, action, params, undone) of every logged decision, oldest first."""
    return [(i, a, json.loads(p), bool(u)) for i, a, p, u in
            con.execute("SELECT id, action, params, undone FROM decisions ORDER BY id")]
