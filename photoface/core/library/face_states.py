"""Which person each face is in, and how sure: named reads and writes of `faces.person_id` and
`faces.state` for the review, regroup and XMP import code.

States: undecided (in no album), suggested (placed by the grouping), accepted (kept in its album
by the user), confirmed (confirmed one by one), not_face. Apart from the state, a face may be
dismissed ("not interesting", `faces.dismissed`): still a face, in no album, out of every view but
the list of dismissed faces, until the user restores it. Each function takes the connection and,
where it writes, runs inside the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Iterable


# --- reads --------------------------------------------------------------------------------------

def face_row(con: sqlite3.Connection, face_id: int) -> tuple[int, int | None, str] | None:
    """(id, person id, state) of a face; None if there is no such face."""
    return con.execute("SELECT id, person_id, state FROM faces WHERE id = ?", (face_id,)).fetchone()


def face_with_person_name(con: sqlite3.Connection, face_id: int) -> tuple[int | None, str, str | None] | None:
    """(person id, state, person's name) of a face; None if there is no such face."""
    return con.execute("SELECT f.person_id, f.state, p.name FROM faces f LEFT JOIN persons p "
                       "ON p.id = f.person_id WHERE f.id = ?", (face_id,)).fetchone()


def faces_now(con: sqlite3.Connection, face_ids: list[int]) -> dict[int, tuple[int, str]]:
    """face id -> (person id, -1 for none; state) of those of these faces that still exist."""
    return dict((f, (p, s)) for f, p, s in con.execute(
        "SELECT id, COALESCE(person_id, -1), state FROM faces WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(face_ids),)))


def faces_of_person(con: sqlite3.Connection, person_id: int) -> list[int]:
    """Every face in a person, whatever its state."""
    return [f for (f,) in con.execute("SELECT id FROM faces WHERE person_id = ?", (person_id,))]


def suggested_faces_of(con: sqlite3.Connection, person_ids: Iterable[int]) -> set[int]:
    """The faces the grouping suggested for any of these persons (what their albums show)."""
    ids = json.dumps(sorted({int(p) for p in person_ids}))
    return {f for (f,) in con.execute("SELECT id FROM faces WHERE state = 'suggested' "
                                      "AND person_id IN (SELECT value FROM json_each(?))", (ids,))}


def persons_holding(con: sqlite3.Connection, states: Iterable[str]) -> set[int]:
    """Persons with at least one face in one of these states."""
    return {p for (p,) in con.execute(
        "SELECT DISTINCT person_id FROM faces WHERE state IN (SELECT value FROM json_each(?)) "
        "AND person_id IS NOT NULL", (json.dumps(list(states)),))}


# --- writes -------------------------------------------------------------------------------------

def set_face_state(con: sqlite3.Connection, face_id: int, person_id: int | None, state: str) -> None:
    """Puts one face in a person (None: in none) with a state. A face the user decides on is
    interesting again: it is no longer dismissed."""
    con.execute("UPDATE faces SET person_id = ?, state = ?, dismissed = 0 WHERE id = ?", (person_id, state, face_id))


def accept_suggested(con: sqlite3.Connection, face_ids: Iterable[int], person_id: int) -> None:
    """Those of these faces still suggested become accepted for `person_id`."""
    con.execute("UPDATE faces SET person_id = ?, state = 'accepted' WHERE state = 'suggested' "
                "AND id IN (SELECT value FROM json_each(?))", (person_id, json.dumps(sorted(face_ids))))


def reassign_faces(con: sqlite3.Connection, source: int, target: int) -> None:
    """Every face of `source` moves to `target`, keeping its state (a merge)."""
    con.execute("UPDATE faces SET person_id = ? WHERE person_id = ?", (target, source))


def drop_rejected_suggestions(con: sqlite3.Connection, person_id: int) -> None:
    """Suggestions of a person that are rejected from it become undecided."""
    con.execute("UPDATE faces SET person_id = NULL, state = 'undecided' WHERE person_id = ? "
                "AND state = 'suggested' AND id IN (SELECT face_id FROM rejections WHERE person_id = ?)",
                (person_id, person_id))


def release_faces_of(con: sqlite3.Connection, person_id: int) -> None:
    """Every face of a person becomes undecided, in no person."""
    con.execute("UPDATE faces SET person_id = NULL, state = 'undecided' WHERE person_id = ?", (person_id,))


def place_movable_faces(con: sqlite3.Connection, updates: list[tuple[int | None, str, int]]) -> None:
    """A grouping's (person, state, face id) placements; faces the user decided on are left alone."""
    con.executemany("UPDATE faces SET person_id = ?, state = ?, clustered = 1 WHERE id = ? "
                    "AND state IN ('undecided', 'suggested')", updates)


def background_faces_to_dismiss(con: sqlite3.Connection, face_ids: Iterable[int]) -> list[int]:
    """Those of these faces that are background, in no state the user decided (undecided or
    suggested), and not dismissed yet: what "dismiss background faces" acts on."""
    return [f for (f,) in con.execute(
        "SELECT id FROM faces WHERE background = 1 AND dismissed = 0 AND state IN ('undecided', 'suggested') "
        "AND id IN (SELECT value FROM json_each(?)) ORDER BY id", (json.dumps(sorted({int(f) for f in face_ids})),))]


def dismissed_among(con: sqlite3.Connection, face_ids: Iterable[int]) -> list[int]:
    """Those of these faces that are dismissed."""
    return [f for (f,) in con.execute(
        "SELECT id FROM faces WHERE dismissed = 1 AND id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(sorted({int(f) for f in face_ids})),))]


def set_dismissed(con: sqlite3.Connection, face_ids: Iterable[int], dismissed: bool) -> None:
    """Dismisses faces (they leave their album: undecided, in no person) or restores them
    (undecided, so the next grouping places them again)."""
    con.execute("UPDATE faces SET dismissed = ?, person_id = NULL, state = 'undecided', clustered = 0 "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (int(dismissed), json.dumps(sorted({int(f) for f in face_ids}))))


def mark_held_clustered(con: sqlite3.Connection) -> None:
    """Confirmed and accepted faces count as grouped (an incremental run leaves them alone)."""
    con.execute("UPDATE faces SET clustered = 1 WHERE clustered = 0 AND state IN ('confirmed', 'accepted')")
