"""The schema ladder: `_to_vN(con)` takes a library from version N-1 to N.

Each step runs with its `PRAGMA user_version` bump inside one BEGIN IMMEDIATE … COMMIT, so a
crash mid-migration leaves the library at the old version, never half-changed.
(`executescript` would COMMIT first, so steps execute statements one by one.)
"""

from __future__ import annotations

import sqlite3

from photoface.core.errors import StoreError


def _run(con: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            con.execute(statement)


def _to_v1(con: sqlite3.Connection) -> None:
    _run(con, """
    CREATE TABLE settings(
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL                      -- JSON
    );
    CREATE TABLE roots(
        id           INTEGER PRIMARY KEY,
        path         BLOB NOT NULL UNIQUE,       -- os.fsencode(): names need not be UTF-8
        added_at     REAL NOT NULL,
        last_scan_at REAL
    );
    CREATE TABLE excludes(
        id      INTEGER PRIMARY KEY,
        pattern TEXT NOT NULL UNIQUE             -- fnmatch against folder names and paths
    );
    CREATE TABLE photos(
        id       INTEGER PRIMARY KEY,
        sha256   TEXT NOT NULL UNIQUE,           -- one photo, however many copies on disk
        width    INTEGER NOT NULL,               -- after EXIF orientation
        height   INTEGER NOT NULL,
        taken_at TEXT,                           -- EXIF DateTimeOriginal, ISO 8601
        detector TEXT NOT NULL,                  -- detector and settings that found its faces
        added_at REAL NOT NULL
    );
    CREATE TABLE locations(
        id       INTEGER PRIMARY KEY,
        root_id  INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
        path     BLOB NOT NULL UNIQUE,
        size     INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        photo_id INTEGER REFERENCES photos(id) ON DELETE SET NULL,
        status   TEXT NOT NULL CHECK (status IN ('ok', 'error', 'unsupported')),
        error    TEXT,
        seen_at  REAL NOT NULL
    );
    CREATE INDEX locations_photo ON locations(photo_id);
    CREATE INDEX locations_root ON locations(root_id);
    CREATE TABLE persons(
        id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: undo may bring one back
        name          TEXT UNIQUE COLLATE NOCASE,   -- NULL while unnamed
        hidden        INTEGER NOT NULL DEFAULT 0,
        cover_face_id INTEGER,
        created_at    REAL NOT NULL
    );
    CREATE TABLE faces(
        id         INTEGER PRIMARY KEY,
        photo_id   INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
        score      REAL NOT NULL,
        landmarks  BLOB,                         -- 10 float32: (5, 2) x, y in original pixels
        sharpness  REAL,                         -- variance of the Laplacian of the aligned crop
        thumb      BLOB NOT NULL,                -- small JPEG for the GUI
        crop       BLOB NOT NULL,                -- aligned 160x160 JPEG: re-embedding needs no photo
        source     TEXT NOT NULL DEFAULT 'detector' CHECK (source IN ('detector', 'manual')),
        person_id  INTEGER REFERENCES persons(id) ON DELETE SET NULL,
        state      TEXT NOT NULL DEFAULT 'undecided'
                   CHECK (state IN ('undecided', 'suggested', 'confirmed', 'not_face')),
        created_at REAL NOT NULL
    );
    CREATE INDEX faces_photo ON faces(photo_id);
    CREATE INDEX faces_person ON faces(person_id);
    CREATE TABLE embeddings(
        face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
        model   TEXT NOT NULL,                   -- model version: embeddings of two are never compared
        vec     BLOB NOT NULL,                   -- float32, L2-normalised
        PRIMARY KEY (face_id, model)
    ) WITHOUT ROWID;
    CREATE INDEX embeddings_model ON embeddings(model);
    CREATE TABLE rejections(
        face_id   INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
        PRIMARY KEY (face_id, person_id)
    ) WITHOUT ROWID;
    CREATE TABLE not_same_person(
        a INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
        b INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
        PRIMARY KEY (a, b),
        CHECK (a < b)
    ) WITHOUT ROWID;
    CREATE TABLE decisions(
        id     INTEGER PRIMARY KEY,
        at     REAL NOT NULL,
        action TEXT NOT NULL,                    -- merge, split, move, rename, confirm, ...
        params TEXT NOT NULL,                    -- JSON: what the user asked for
        before TEXT NOT NULL,                    -- JSON: the rows it changed, as they were
        after  TEXT NOT NULL,                    -- JSON: the same rows afterwards
        undone INTEGER NOT NULL DEFAULT 0
    )
    """)


def _to_v2(con: sqlite3.Connection) -> None:
    # Incremental clustering needs to know which faces a run has already placed.
    con.execute("ALTER TABLE faces ADD COLUMN clustered INTEGER NOT NULL DEFAULT 0")


def _to_v3(con: sqlite3.Connection) -> None:
    # The People view's counts and covers read these columns of every face; without a covering
    # index SQLite walks each row's thumbnail and crop overflow pages (2.3-3.6 s at 100k faces,
    # 0.5 s with it: benchmarks/gui.py).
    con.execute("CREATE INDEX faces_person_cover ON faces(person_id, state, score, w, photo_id)")


_FACES_V4 = """
    CREATE TABLE faces_v4(
        id         INTEGER PRIMARY KEY,
        photo_id   INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
        score      REAL NOT NULL,
        landmarks  BLOB,
        sharpness  REAL,
        thumb      BLOB NOT NULL,
        crop       BLOB NOT NULL,
        source     TEXT NOT NULL DEFAULT 'detector' CHECK (source IN ('detector', 'manual')),
        person_id  INTEGER REFERENCES persons(id) ON DELETE SET NULL,
        -- accepted: the user saw the face in its person's album and kept it there (named the
        -- album, merged it, hid it); held like a confirmed face, shown as not yet confirmed.
        state      TEXT NOT NULL DEFAULT 'undecided'
                   CHECK (state IN ('undecided', 'suggested', 'accepted', 'confirmed', 'not_face')),
        created_at REAL NOT NULL,
        clustered  INTEGER NOT NULL DEFAULT 0
    )"""


def _to_v4(con: sqlite3.Connection) -> None:
    # SQLite cannot change a CHECK constraint in place: the faces table is rebuilt (SQLite's
    # documented procedure; `migrate` turns foreign keys off around it so that dropping the old
    # table cascades nothing), then the faces the user kept in a named, merged or hidden person
    # become 'accepted'.
    con.execute(_FACES_V4)
    con.execute("INSERT INTO faces_v4 SELECT id, photo_id, x, y, w, h, score, landmarks, sharpness, thumb, "
                "crop, source, person_id, state, created_at, clustered FROM faces")
    con.execute("DROP TABLE faces")
    con.execute("ALTER TABLE faces_v4 RENAME TO faces")
    con.execute("CREATE INDEX faces_photo ON faces(photo_id)")
    con.execute("CREATE INDEX faces_person ON faces(person_id)")
    con.execute("CREATE INDEX faces_person_cover ON faces(person_id, state, score, w, photo_id)")
    if con.execute("PRAGMA foreign_key_check").fetchone() is not None:
        raise StoreError("the library's faces table does not match its photos and persons; not migrated")
    _accept_seen_faces(con)


def _accept_seen_faces(con: sqlite3.Connection) -> None:
    """Faces a user kept in a person by naming, merging or hiding it become 'accepted'.

    The decision log says which persons were named, merged into or hidden (and when); the
    suggestions such a person holds now that existed at that moment are what the user saw. Later
    arrivals stay suggestions.
    """
    import json

    seen_at: dict[int, float] = {}
    for at, action, params in con.execute(
            "SELECT at, action, params FROM decisions WHERE undone = 0 AND action IN ('rename', 'merge', 'hide')"):
        p = json.loads(params)
        person = p.get("target") if action == "merge" else p.get("person")
        if person is None or (action == "rename" and not p.get("name")):
            continue
        seen_at[int(person)] = max(seen_at.get(int(person), 0.0), float(at))
    for person, at in seen_at.items():
        con.execute("UPDATE faces SET state = 'accepted' WHERE person_id = ? AND state = 'suggested' "
                    "AND created_at <= ?", (person, at))


def _to_v5(con: sqlite3.Connection) -> None:
    # Bystanders (issue 16): `background` is the per-photo rule of core/library/background.py,
    # filled here for the faces already scanned; `dismissed` is the user's "not interesting",
    # kept apart from the 'not_face' state (a dismissed face is still a face, and can come back).
    from photoface.core.library.background import mark_background

    con.execute("ALTER TABLE faces ADD COLUMN background INTEGER NOT NULL DEFAULT 0")
    con.execute("ALTER TABLE faces ADD COLUMN dismissed INTEGER NOT NULL DEFAULT 0")
    mark_background(con)


MIGRATIONS = [_to_v1, _to_v2, _to_v3, _to_v4, _to_v5]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(con: sqlite3.Connection) -> int:
    """Brings the library to SCHEMA_VERSION, one transaction per step. Returns the version.

    Raises:
        StoreError: the library was written by a newer photoface.
    """
    # Off while migrating: rebuilding a table (v4) must not cascade deletes into its children.
    # (The pragma is a no-op inside a transaction, so it is set here, outside every step.)
    con.execute("PRAGMA foreign_keys=OFF")
    try:
        return _migrate_steps(con)
    finally:
        con.execute("PRAGMA foreign_keys=ON")


def _migrate_steps(con: sqlite3.Connection) -> int:
    while True:
        con.execute("BEGIN IMMEDIATE")
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"this library has schema version {version}, newer than this photoface "
                    f"understands ({SCHEMA_VERSION}); update photoface to open it"
                )
            if version == SCHEMA_VERSION:
                con.execute("COMMIT")
                return version
            MIGRATIONS[version](con)
            con.execute(f"PRAGMA user_version = {version + 1}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
