"""The library file: migrations, transactions, settings, byte paths."""

import json
import sqlite3

import numpy as np
import pytest

from photoface.core.library import migrations
from photoface.core.config import DEFAULTS
from photoface.core.errors import StoreError
from photoface.core.library.store import Library
from photoface.core.types import NewFace, NewPhoto
from photoface.core.types import Box


def _photo(sha="a" * 64, n_faces=1):
    faces = [NewFace(Box(10 * i, 10, 50, 60), 0.99, np.zeros((5, 2), np.float32), 100.0, b"t", b"c",
                     embedding=np.full(512, 1 / np.sqrt(512), np.float32)) for i in range(n_faces)]
    return NewPhoto(sha, 640, 480, "2020-01-02T03:04:05", "test", faces)


def test_new_library_is_at_the_latest_schema_with_wal_and_foreign_keys(tmp_path):
    with Library(tmp_path / "lib") as lib:
        assert lib.con.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
        assert lib.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert lib.con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert (tmp_path / "lib" / "models").is_dir()


def test_reopening_does_not_migrate_again_and_keeps_data(tmp_path):
    with Library(tmp_path) as lib:
        lib.set_setting("min_face_px", 33)
    with Library(tmp_path) as lib:
        assert lib.get_setting("min_face_px") == 33
        assert lib.get_setting("align_mode") == DEFAULTS["align_mode"]  # a default


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path):
    Library(tmp_path).close()
    con = sqlite3.connect(tmp_path / "library.sqlite")
    con.execute(f"PRAGMA user_version = {migrations.SCHEMA_VERSION + 5}")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        Library(tmp_path)


def test_a_failed_migration_leaves_the_old_version(tmp_path, monkeypatch):
    def broken(con):
        con.execute("CREATE TABLE half_done(x)")
        raise RuntimeError("power cut")

    monkeypatch.setattr(migrations, "MIGRATIONS", [migrations._to_v1, broken])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", 2)
    with pytest.raises(RuntimeError):
        Library(tmp_path)
    con = sqlite3.connect(tmp_path / "library.sqlite")
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    assert con.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchone() is None


def test_damaged_database_file_gives_store_error(tmp_path):
    (tmp_path / "library.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="library.sqlite"):
        Library(tmp_path)


def test_transaction_rolls_back_everything_on_error(tmp_path):
    with Library(tmp_path) as lib:
        root = lib.add_root(tmp_path)
        with pytest.raises(ValueError):
            with lib.transaction() as con:
                lib.insert_photo(con, _photo(), "m")
                raise ValueError
        assert lib.counts()["faces"] == 0
        assert lib.con.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 0
        assert root


def test_non_utf8_paths_round_trip(tmp_path):
    raw = bytes(tmp_path) + b"/caf\xe9.jpg"
    with Library(tmp_path / "lib") as lib:
        root = lib.add_root(tmp_path)
        with lib.transaction() as con:
            pid, _ = lib.insert_photo(con, _photo(), "m")
            lib.record_file(con, root, raw, 10, 20, photo_id=pid)
        assert lib.location(raw).photo_id == pid
        assert list(lib.locations_under(root)) == [raw]


def test_embeddings_are_per_model_version_and_only_for_present_photos(tmp_path):
    with Library(tmp_path / "lib") as lib:
        root = lib.add_root(tmp_path)
        with lib.transaction() as con:
            pid, fids = lib.insert_photo(con, _photo(n_faces=2), "v1")
            lib.record_file(con, root, b"/x/a.jpg", 1, 1, photo_id=pid)
        ids, vecs = lib.embeddings("v1")
        assert list(ids) == fids and vecs.shape == (2, 512) and vecs.dtype == np.float32
        assert len(lib.embeddings("v2")[0]) == 0
        one_ids, one_vecs = lib.embeddings("v1", [fids[1], 10**9])  # only the asked-for faces
        assert list(one_ids) == [fids[1]] and np.array_equal(one_vecs[0], vecs[1])
        assert len(lib.embeddings("v1", [])[0]) == 0
        lib.forget_locations([b"/x/a.jpg"])
        assert len(lib.embeddings("v1")[0]) == 0                  # left the albums
        assert len(lib.embeddings("v1", present_only=False)[0]) == 2  # but kept
        assert lib.counts()["photos_missing"] == 1


def test_migration_4_keeps_every_row_and_accepts_what_the_user_named_or_merged(tmp_path, monkeypatch):
    """A library of schema 3 (before 'accepted'): rebuilding the faces table cascades nothing,
    and faces the decision log shows in a named or merged person when it was named become accepted."""
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", 3)
    with Library(tmp_path) as lib:
        with lib.transaction() as con:
            lib.insert_photo(con, _photo("a" * 64, n_faces=4), "m")
            lib.insert_photo(con, _photo("b" * 64, n_faces=2), "m")
            for pid, name in ((1, "Ann"), (2, None), (3, None), (4, "Hidden")):
                con.execute("INSERT INTO persons(id, name, hidden, created_at) VALUES (?, ?, ?, 0)",
                            (pid, name, int(pid == 4)))
            con.execute("UPDATE faces SET created_at = 10")
            # Ann: two suggestions and a confirmed face seen when she was named (t=20), one face
            # suggested later (t=30). Person 2 was merged into 3 at t=20; 4 hidden at t=20.
            for fid, pid, state in ((1, 1, "suggested"), (2, 1, "confirmed"), (3, 1, "suggested"), (4, 3, "suggested"),
                                    (5, 2, "suggested"), (6, 4, "suggested")):
                con.execute("UPDATE faces SET person_id = ?, state = ? WHERE id = ?", (pid, state, fid))
            con.execute("UPDATE faces SET created_at = 30 WHERE id = 3")
            con.execute("INSERT INTO rejections(face_id, person_id) VALUES (5, 1)")
            for at, action, params in ((20, "rename", {"person": 1, "name": "Ann"}),
                                       (20, "merge", {"sources": [7], "target": 3}),
                                       (20, "hide", {"person": 4}), (21, "rename", {"person": 2, "name": None})):
                con.execute("INSERT INTO decisions(at, action, params, before, after) VALUES (?, ?, ?, '{}', '{}')",
                            (at, action, json.dumps(params)))
        counts = {t: lib.con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("faces", "embeddings", "rejections", "persons", "decisions")}
    monkeypatch.undo()
    with Library(tmp_path) as lib:
        con = lib.con
        assert con.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION >= 4
        assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in counts} == counts
        states = dict(con.execute("SELECT id, state FROM faces").fetchall())
        assert states == {1: "accepted", 2: "confirmed", 3: "suggested", 4: "accepted", 5: "suggested",
                          6: "accepted"}
        indexes = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                             "AND tbl_name = 'faces'")}
        assert {"faces_photo", "faces_person", "faces_person_cover"} <= indexes
        with pytest.raises(sqlite3.IntegrityError):
            con.execute("UPDATE faces SET state = 'bogus' WHERE id = 1")
        # Deleting a photo still cascades to its faces and their embeddings (the new table's keys work).
        with lib.transaction() as tx:
            tx.execute("DELETE FROM photos WHERE sha256 = ?", ("b" * 64,))
        assert con.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == 4
        assert con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 4


def _face(box: Box, sharpness: float = 100.0, source: str = "detector") -> NewFace:
    return NewFace(box, 0.99, np.zeros((5, 2), np.float32), sharpness, b"t", b"c",
                   embedding=np.full(512, 1 / np.sqrt(512), np.float32), source=source)


def test_migration_5_adds_background_and_dismissed_and_marks_the_scanned_bystanders(tmp_path, monkeypatch):
    """A library of schema 4: every row kept, nothing dismissed, and the background rule filled in
    (a small face, a blurry face, a face cut by the edge beside an uncut one; never a photo's only face,
    nor a manual one)."""
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:4])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", 4)
    with Library(tmp_path) as lib:
        with lib.transaction() as con:
            main = _face(Box(200, 100, 200, 220))
            group = [main, _face(Box(20, 40, 60, 70)),                     # small (70 < 0.6 * 220)
                     _face(Box(420, 100, 160, 170), sharpness=10.0),       # blurry, not a main face
                     _face(Box(500, 300, 140, 160)),                       # cut: right edge at 640
                     _face(Box(40, 200, 50, 50), source="manual")]         # drawn by the user
            lib.insert_photo(con, NewPhoto("a" * 64, 640, 480, None, "test", group), "m")
            alone = [_face(Box(0, 0, 30, 30), sharpness=1.0)]              # the only face, cut and tiny
            lib.insert_photo(con, NewPhoto("b" * 64, 640, 480, None, "test", alone), "m")
            # A blurred face as large as the main one is a main face too (a close-up in motion).
            pair = [_face(Box(10, 100, 200, 200)), _face(Box(300, 100, 190, 190), sharpness=5.0)]
            lib.insert_photo(con, NewPhoto("c" * 64, 640, 480, None, "test", pair), "m")
        before = lib.con.execute("SELECT id, x, y, w, h, state, source FROM faces ORDER BY id").fetchall()
    monkeypatch.undo()
    with Library(tmp_path) as lib:
        con = lib.con
        assert con.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION >= 5
        assert con.execute("SELECT id, x, y, w, h, state, source FROM faces ORDER BY id").fetchall() == before
        assert con.execute("SELECT SUM(dismissed) FROM faces").fetchone()[0] == 0
        background = [b for (b,) in con.execute("SELECT background FROM faces ORDER BY id")]
        assert background == [0, 1, 1, 1, 0, 0, 0, 0]
