"""Person rows and the constraints hung on them: rejections ("face F is not P") and "not the
same person" pairs. Named reads and writes for the review, regroup and XMP import code.

Each function takes the connection and, where it writes, runs inside the caller's transaction
(`Library.transaction()`): what one user action means, and so which writes go together, is
decided by the caller.
"""

from __future__ import annotations

import sqlite3


# --- persons ------------------------------------------------------------------------------------

def person_exists(con: sqlite3.Connection, person_id: int) -> bool:
    return con.execute("SELECT 1 FROM persons WHERE id = ?", (person_id,)).fetchone() is not None


def person_name(con: sqlite3.Connection, person_id: int) -> str | None:
    """A person's name (None while unnamed).

    Raises:
        KeyError: there is no such person.
    """
    row = con.execute("SELECT name FROM persons WHERE id = ?", (person_id,)).fetchone()
    if row is None:
        raise KeyError(person_id)
    return row[0]


def person_named(con: sqlite3.Connection, name: str) -> int | None:
    """The id of the person with this name, compared case-insensitively; None if nobody has it."""
    row = con.execute("SELECT id FROM persons WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
    return row[0] if row else None


def named_persons(con: sqlite3.Connection) -> dict[int, str]:
    """id -> name of every named person."""
    return dict(con.execute("SELECT id, name FROM persons WHERE name IS NOT NULL").fetchall())


def count_persons(con: sqlite3.Connection) -> int:
    return con.execute("SELECT COUNT(*) FROM persons").fetchone()[0]


def new_person(con: sqlite3.Connection, name: str | None, created_at: float) -> int:
    """Adds a person (unnamed with name None); returns its id."""
    return con.execute("INSERT INTO persons(name, created_at) VALUES (?, ?)", (name, created_at)).lastrowid


def rename_person(con: sqlite3.Connection, person_id: int, name: str | None) -> None:
    con.execute("UPDATE persons SET name = ? WHERE id = ?", (name, person_id))


def set_person_hidden(con: sqlite3.Connection, person_id: int, hidden: bool) -> None:
    con.execute("UPDATE persons SET hidden = ? WHERE id = ?", (int(hidden), person_id))


def cover_order(alias: str) -> str:
    """ORDER BY of the face shown for a person with no cover chosen: confirmed, then accepted,
    then the surest, largest detection."""
    return f"{alias}.state = 'confirmed' DESC, {alias}.state = 'accepted' DESC, {alias}.score * {alias}.w DESC"


def shown_cover(con: sqlite3.Connection, person_id: int) -> int | None:
    """The face a person's tile shows: the chosen cover, else the first by `cover_order`."""
    row = con.execute(
        f"""SELECT COALESCE(p.cover_face_id,
                            (SELECT f.id FROM faces f WHERE f.person_id = p.id
                             AND f.state IN ('confirmed', 'accepted', 'suggested')
                             ORDER BY {cover_order('f')} LIMIT 1))
            FROM persons p WHERE p.id = ?""", (person_id,)).fetchone()
    return None if row is None else row[0]


def set_person_cover(con: sqlite3.Connection, person_id: int, face_id: int) -> None:
    con.execute("UPDATE persons SET cover_face_id = ? WHERE id = ?", (face_id, person_id))


def delete_person(con: sqlite3.Connection, person_id: int) -> None:
    """Removes a person row; its faces lose their person and its constraints go (foreign keys)."""
    con.execute("DELETE FROM persons WHERE id = ?", (person_id,))


def empty_unnamed_albums(con: sqlite3.Connection) -> set[int]:
    """Unnamed, shown persons with no face at all (a grouping run may delete them)."""
    return {p for (p,) in con.execute(
        "SELECT id FROM persons p WHERE name IS NULL AND hidden = 0 "
        "AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = p.id)")}


def delete_junk_albums(con: sqlite3.Connection) -> None:
    """Junk albums go: unnamed, not hidden, with no face left and no decision pointing at them."""
    con.execute("""DELETE FROM persons WHERE name IS NULL AND hidden = 0
                   AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = persons.id)
                   AND NOT EXISTS (SELECT 1 FROM rejections r WHERE r.person_id = persons.id)
                   AND NOT EXISTS (SELECT 1 FROM not_same_person s WHERE persons.id IN (s.a, s.b))""")


# --- rejections: "this face is not that person" -------------------------------------------------

def rejected_faces(con: sqlite3.Connection, person_id: int) -> list[int]:
    """The faces rejected from a person."""
    return [f for (f,) in con.execute("SELECT face_id FROM rejections WHERE person_id = ?", (person_id,))]


def add_rejection(con: sqlite3.Connection, face_id: int, person_id: int) -> None:
    con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) VALUES (?, ?)", (face_id, person_id))


def remove_rejection(con: sqlite3.Connection, face_id: int, person_id: int) -> None:
    con.execute("DELETE FROM rejections WHERE face_id = ? AND person_id = ?", (face_id, person_id))


def copy_rejections(con: sqlite3.Connection, source: int, target: int) -> None:
    """Every face rejected from `source` is rejected from `target` too (a merge)."""
    con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) "
                "SELECT face_id, ? FROM rejections WHERE person_id = ?", (target, source))


def rejected_from_name(con: sqlite3.Connection, face_id: int, name: str) -> bool:
    """Was the face rejected from the person of this name (case-insensitive)?"""
    return con.execute("SELECT 1 FROM rejections r JOIN persons p ON p.id = r.person_id "
                       "WHERE r.face_id = ? AND p.name = ? COLLATE NOCASE", (face_id, name)).fetchone() is not None


# --- "not the same person" pairs (a < b) --------------------------------------------------------

def not_same_pairs_of(con: sqlite3.Connection, person_id: int) -> set[tuple[int, int]]:
    """The (a, b) pairs a person is in."""
    return {tuple(r) for r in con.execute(
        "SELECT a, b FROM not_same_person WHERE a = ? OR b = ?", (person_id, person_id))}


def add_not_same(con: sqlite3.Connection, a: int, b: int) -> None:
    """Records that a and b (a < b) are never one person."""
    con.execute("INSERT OR IGNORE INTO not_same_person(a, b) VALUES (?, ?)", (a, b))
