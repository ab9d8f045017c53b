"""The library: a folder holding `library.sqlite`, `models/` and caches. All SQL lives here.

One `Library` object holds one SQLite connection; use one per thread. Every write goes through
`transaction()` (BEGIN IMMEDIATE … COMMIT), so a crash at any instant leaves the last committed
state, and WAL mode lets readers (the GUI) run while a scan writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from photoface.core.library import migrations
from photoface.core.config import DEFAULTS, model_version
from photoface.core.errors import StoreError
from photoface.core.types import Box, NewFace, NewPhoto

DB_NAME = "library.sqlite"
EMBED_DIM = 512


def present(photo_id: str = "f.photo_id") -> str:
    """SQL condition: the photo `photo_id` names has a file on disk that the last scan read.

    A photo whose every file is gone (deleted, or on a drive that is offline) keeps its faces and
    decisions but is left out of albums, counts and exports until a file shows up again.
    """
    return f"EXISTS (SELECT 1 FROM locations l WHERE l.photo_id = {photo_id} AND l.status = 'ok')"


def vectors_from_rows(blobs: Iterable[bytes]) -> np.ndarray:
    """Stored embedding blobs (float32 × EMBED_DIM each) as one writable (N, EMBED_DIM) array."""
    blobs = list(blobs)
    return np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), EMBED_DIM).copy()


def write_setting(con: sqlite3.Connection, key: str, value_json: str) -> None:
    """Sets one library setting (JSON text) inside the caller's transaction."""
    con.execute("INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value_json))


def default_library_dir() -> Path:
    """Where the library lives unless `--library` or PHOTOFACE_LIBRARY say otherwise."""
    env = os.environ.get("PHOTOFACE_LIBRARY")
    if env:
        return Path(env)
    import appdirs  # small, but only needed here

    return Path(appdirs.user_data_dir("photoface", appauthor=False)) / "library"


def encode_path(path: str | bytes | os.PathLike) -> bytes:
    """Paths are stored as bytes: file names on Linux need not be valid UTF-8."""
    return os.fsencode(path)


def decode_path(raw: bytes) -> str:
    """A stored path as a str for the OS (surrogate escapes keep odd bytes round-tripping)."""
    return os.fsdecode(raw)


def display_path(raw: bytes | str) -> str:
    """A stored path as text safe to print (odd bytes shown as U+FFFD)."""
    data = raw if isinstance(raw, bytes) else os.fsencode(raw)
    return data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Location:
    """One file on disk that the library knows: where, as of which size/mtime, and its outcome."""

    id: int
    root_id: int
    path: bytes
    size: int
    mtime_ns: int
    photo_id: int | None
    status: str
    error: str | None


@dataclass(frozen=True)
class FaceRow:
    id: int
    photo_id: int
    box: Box
    score: float
    person_id: int | None
    state: str


class Library:
    """An open photoface library.

    Attributes:
        root -- the library folder.
        con -- the SQLite connection (autocommit mode; writes go through transaction()).
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_library_dir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "models").mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the library folder {self.root}: {exc.strerror}") from exc
        if not os.access(self.root, os.W_OK):
            raise StoreError(f"the library folder {self.root} is not writable")
        db_path = self.root / DB_NAME
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing commits behind our back.
            self.con = sqlite3.connect(db_path, isolation_level=None, timeout=30.0,
                                       check_same_thread=False)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
            self.con.execute("PRAGMA foreign_keys=ON")
            migrations.migrate(self.con)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the library {db_path}: {exc}") from exc

    # --- plumbing -------------------------------------------------------------------------

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all.

        Raises:
            StoreError: another process (the window, a command) kept the library's write lock past
                the connection's busy timeout (30 s); nothing was written.
        """
        try:
            self.con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            raise StoreError(f"the library {self.root} is busy: another photoface (a window or a command) "
                             "is writing to it. Nothing was changed; try again when it is done.") from exc
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    def integrity_check(self) -> str:
        return self.con.execute("PRAGMA integrity_check").fetchone()[0]

    # --- settings -------------------------------------------------------------------------

    def get_setting(self, key: str):
        row = self.con.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return json.loads(row[0])
        if key in DEFAULTS:
            default = DEFAULTS[key]
            return json.loads(json.dumps(default))  # a copy: callers may mutate dicts
        raise KeyError(key)

    def set_setting(self, key: str, value) -> None:
        with self.transaction() as con:
            write_setting(con, key, json.dumps(value))

    def model_version(self, weights_id: str | None = None, precision: str | None = None) -> str:
        """The model version embeddings of `weights_id` (default: the active weights) get with the
        library's preprocessing settings and `precision` (default: the library's `embed_precision`);
        embeddings of two versions are never compared."""
        s = self.settings()
        return model_version(weights_id or s["active_weights"], s["align_mode"], s["input_scaling"],
                             precision or s["embed_precision"])

    def settings(self) -> dict:
        merged = {k: self.get_setting(k) for k in DEFAULTS}
        for key, value in self.con.execute("SELECT key, value FROM settings"):
            merged[key] = json.loads(value)
        return merged

    # --- roots and excludes -----------------------------------------------------------------

    def add_root(self, path: str | os.PathLike) -> int:
        raw = encode_path(os.path.abspath(path))
        with self.transaction() as con:
            con.execute("INSERT OR IGNORE INTO roots(path, added_at) VALUES (?, ?)", (raw, time.time()))
            return con.execute("SELECT id FROM roots WHERE path = ?", (raw,)).fetchone()[0]

    def remove_root(self, path: str | os.PathLike) -> bool:
        """Forgets a folder: its locations go; photos found nowhere else leave the albums.

        Persons, names and decisions stay (the photos may come back through another root).
        """
        raw = encode_path(os.path.abspath(path))
        with self.transaction() as con:
            return con.execute("DELETE FROM roots WHERE path = ?", (raw,)).rowcount > 0

    def roots(self) -> list[tuple[int, str]]:
        return [(rid, decode_path(p)) for rid, p in
                self.con.execute("SELECT id, path FROM roots ORDER BY path")]

    def mark_root_scanned(self, root_id: int) -> None:
        with self.transaction() as con:
            con.execute("UPDATE roots SET last_scan_at = ? WHERE id = ?", (time.time(), root_id))

    def add_exclude(self, pattern: str) -> None:
        with self.transaction() as con:
            con.execute("INSERT OR IGNORE INTO excludes(pattern) VALUES (?)", (pattern,))

    def remove_exclude(self, pattern: str) -> None:
        with self.transaction() as con:
            con.execute("DELETE FROM excludes WHERE pattern = ?", (pattern,))

    def excludes(self) -> list[str]:
        return [p for (p,) in self.con.execute("SELECT pattern FROM excludes ORDER BY pattern")]

    # --- locations ------------------------------------------------------------------------

    def locations_under(self, root_id: int) -> dict[bytes, tuple[int, int, str]]:
        """path -> (size, mtime_ns, status) of every known file of a root; one query, for re-scans."""
        return {p: (s, m, st) for p, s, m, st in self.con.execute(
            "SELECT path, size, mtime_ns, status FROM locations WHERE root_id = ?", (root_id,))}

    def location(self, path: bytes) -> Location | None:
        row = self.con.execute(
            "SELECT id, root_id, path, size, mtime_ns, photo_id, status, error "
            "FROM locations WHERE path = ?", (path,)).fetchone()
        return Location(*row) if row else None

    def photo_id_by_sha(self, sha256: str) -> int | None:
        row = self.con.execute("SELECT id FROM photos WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _upsert_location(con: sqlite3.Connection, root_id: int, path: bytes, size: int,
                         mtime_ns: int, photo_id: int | None, status: str,
                         error: str | None) -> None:
        con.execute(
            "INSERT INTO locations(root_id, path, size, mtime_ns, photo_id, status, error, seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
            "root_id = excluded.root_id, size = excluded.size, mtime_ns = excluded.mtime_ns, "
            "photo_id = excluded.photo_id, status = excluded.status, error = excluded.error, "
            "seen_at = excluded.seen_at",
            (root_id, path, size, mtime_ns, photo_id, status, error, time.time()))

    def record_file(self, con: sqlite3.Connection, root_id: int, path: bytes, size: int,
                    mtime_ns: int, *, photo_id: int | None = None, status: str = "ok",
                    error: str | None = None) -> None:
        """Records a file's outcome inside the caller's transaction."""
        self._upsert_location(con, root_id, path, size, mtime_ns, photo_id, status, error)

    def forget_locations(self, paths: Iterable[bytes]) -> int:
        """Drops files that are gone from an online root. Their photos stay (decisions too)."""
        paths = list(paths)
        with self.transaction() as con:
            con.executemany("DELETE FROM locations WHERE path = ?", ((p,) for p in paths))
        return len(paths)

    # --- photos and faces -------------------------------------------------------------------

    def insert_photo(self, con: sqlite3.Connection, photo: NewPhoto, model: str) -> tuple[int, list[int]]:
        """Writes a photo, its faces and their embeddings inside the caller's transaction.

        Returns:
            (photo id, face ids in the order of photo.faces).
        """
        now = time.time()
        cur = con.execute(
            "INSERT INTO photos(sha256, width, height, taken_at, detector, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (photo.sha256, photo.width, photo.height, photo.taken_at, photo.detector, now))
        photo_id = cur.lastrowid
        face_ids = [self.insert_face(con, photo_id, face, model, now) for face in photo.faces]
        return photo_id, face_ids

    def insert_face(self, con: sqlite3.Connection, photo_id: int, face: NewFace, model: str,
                     now: float) -> int:
        b = face.box
        cur = con.execute(
            "INSERT INTO faces(photo_id, x, y, w, h, score, landmarks, sharpness, thumb, crop, "
            "source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (photo_id, b.x, b.y, b.w, b.h, float(face.score),
             np.asarray(face.landmarks, np.float32).tobytes(), float(face.sharpness),
             face.thumb_jpeg, face.crop_jpeg, face.source, now))
        face_id = cur.lastrowid
        if face.embedding is not None:
            self.put_embedding(con, face_id, model, face.embedding)
        return face_id

    @staticmethod
    def put_embedding(con: sqlite3.Connection, face_id: int, model: str, vec: np.ndarray) -> None:
        vec = np.asarray(vec, np.float32).reshape(EMBED_DIM)
        con.execute("INSERT OR REPLACE INTO embeddings(face_id, model, vec) VALUES (?, ?, ?)",
                    (face_id, model, vec.tobytes()))

    def faces_of_photo(self, photo_id: int) -> list[FaceRow]:
        return [FaceRow(fid, pid, Box(x, y, w, h), score, person, state)
                for fid, pid, x, y, w, h, score, person, state in self.con.execute(
                    "SELECT id, photo_id, x, y, w, h, score, person_id, state FROM faces "
                    "WHERE photo_id = ? ORDER BY id", (photo_id,))]

    def carry_over_decisions(self, con: sqlite3.Connection, old_photo_id: int,
                             new_face_ids: list[int], new_boxes: list[Box],
                             min_iou: float = 0.5) -> int:
        """A photo edited in place: its new faces take the person and state of the old face whose
        box overlaps by IoU >= min_iou (each old face at most once, best overlap first), and the
        rejections go with them. Returns how many faces kept their decisions."""
        old = [f for f in self.faces_of_photo(old_photo_id)
               if f.person_id is not None or f.state == "not_face"]
        pairs = sorted(((o.box.iou(nb), i, o) for o in old for i, nb in enumerate(new_boxes)),
                       key=lambda t: -t[0])
        used_old, used_new, kept = set(), set(), 0
        for iou, i, o in pairs:
            if iou < min_iou or o.id in used_old or i in used_new:
                continue
            used_old.add(o.id)
            used_new.add(i)
            con.execute("UPDATE faces SET person_id = ?, state = ? WHERE id = ?",
                        (o.person_id, o.state, new_face_ids[i]))
            con.execute("UPDATE rejections SET face_id = ? WHERE face_id = ?", (new_face_ids[i], o.id))
            con.execute("UPDATE persons SET cover_face_id = ? WHERE cover_face_id = ?",
                        (new_face_ids[i], o.id))
            kept += 1
        return kept

    def delete_photo_if_orphan(self, con: sqlite3.Connection, photo_id: int) -> bool:
        """Removes a photo that no file points to any more (after an in-place edit moved its
        decisions to the new version). Returns whether it was removed."""
        (n,) = con.execute("SELECT COUNT(*) FROM locations WHERE photo_id = ?", (photo_id,)).fetchone()
        if n:
            return False
        con.execute("DELETE FROM photos WHERE id = ?", (photo_id,))
        return True

    def photo_paths(self, photo_id: int) -> list[str]:
        return [decode_path(p) for (p,) in self.con.execute(
            "SELECT path FROM locations WHERE photo_id = ? ORDER BY path", (photo_id,))]

    def embeddings(self, model: str, face_ids: Iterable[int] | None = None,
                   present_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Stored embeddings of one model version.

        Returns:
            (face ids (N,) int64, vectors (N, 512) float32). With present_only, faces of photos
            that no file on disk points to (deleted, or on an offline drive) are left out.
        """
        sql = "SELECT e.face_id, e.vec FROM embeddings e JOIN faces f ON f.id = e.face_id WHERE e.model = ?"
        params: list = [model]
        if present_only:
            sql += " AND " + present()
        if face_ids is not None:
            # One parameter however many ids: SQLite caps the number of "?" in a statement.
            sql += " AND e.face_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps([int(f) for f in face_ids]))
        rows = self.con.execute(sql + " ORDER BY e.face_id", params).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, vectors_from_rows(r[1] for r in rows)

    def face_crop(self, face_id: int) -> bytes:
        return self.con.execute("SELECT crop FROM faces WHERE id = ?", (face_id,)).fetchone()[0]

    def face_thumb(self, face_id: int) -> bytes:
        return self.con.execute("SELECT thumb FROM faces WHERE id = ?", (face_id,)).fetchone()[0]

    # --- reports --------------------------------------------------------------------------

    def errors(self) -> list[tuple[str, str]]:
        """(path, reason) of every file that could not be read, as of the last scan."""
        return [(display_path(p), e) for p, e in self.con.execute(
            "SELECT path, error FROM locations WHERE status = 'error' ORDER BY path")]

    def counts(self) -> dict[str, int]:
        q = lambda sql: self.con.execute(sql).fetchone()[0]  # noqa: E731
        here = present("p.id")
        return {
            "photos": q(f"SELECT COUNT(*) FROM photos p WHERE {here}"),
            "photos_missing": q(f"SELECT COUNT(*) FROM photos p WHERE NOT {here}"),
            "files": q("SELECT COUNT(*) FROM locations WHERE status = 'ok'"),
            "faces": q(f"SELECT COUNT(*) FROM faces f JOIN photos p ON p.id = f.photo_id "
                       f"WHERE {here} AND f.state != 'not_face'"),
            "persons": q("SELECT COUNT(*) FROM persons"),
            "named_persons": q("SELECT COUNT(*) FROM persons WHERE name IS NOT NULL"),
            "errors": q("SELECT COUNT(*) FROM locations WHERE status = 'error'"),
            "unsupported": q("SELECT COUNT(*) FROM locations WHERE status = 'unsupported'"),
            "decisions": q("SELECT COUNT(*) FROM decisions WHERE undone = 0"),
        }

    def models_in_use(self) -> list[tuple[str, int]]:
        return self.con.execute(
            "SELECT model, COUNT(*) FROM embeddings GROUP BY model ORDER BY model").fetchall()
