"""The `photoface` command, run as a user would, in subprocesses with the real models."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from photoface.core.library.ingest import scan
from photoface.core.library.store import Library

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def photoface(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "photoface", *args], capture_output=True, text=True,
                          env=ENV, timeout=600, **kw)


def test_help_comes_fast_without_loading_models():
    t0 = time.perf_counter()
    out = photoface("--help")
    assert out.returncode == 0 and "scan" in out.stdout and "verify" in out.stdout
    assert time.perf_counter() - t0 < 5  # TensorFlow is imported lazily


def test_damaged_library_is_a_clear_error(tmp_path):
    (tmp_path / "library.sqlite").write_bytes(b"garbage" * 1000)
    out = photoface("--library", str(tmp_path), "status")
    assert out.returncode == 1 and "library.sqlite" in out.stderr and "Traceback" not in out.stderr


def test_status_errors_and_verify(scanned_set, tmp_path):
    lib_dir, folder = scanned_set("lfw_subset")
    out = photoface("--library", str(lib_dir), "status", "--json")
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["photos"] == 393 and status["faces"] >= 393 and status["device"].startswith(("CPU", "GPU"))
    assert status["model"] == "shipped:margin:fixed"
    out = photoface("--library", str(lib_dir), "errors", "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == []
    a, b = sorted((folder / "kofi_annan").glob("*.jpg"))[:2]
    c = sorted((folder / "nicole_kidman").glob("*.jpg"))[0]
    same = json.loads(photoface("--library", str(lib_dir), "verify", str(a), str(b), "--json").stdout)
    diff = json.loads(photoface("--library", str(lib_dir), "verify", str(a), str(c), "--json").stdout)
    assert same["same"] and not diff["same"] and same["distance"] < diff["distance"]


def _photo_count(lib_dir) -> int:
    try:
        con = sqlite3.connect(lib_dir / "library.sqlite")
        try:
            return con.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


@pytest.mark.model
def test_kill_9_mid_scan_leaves_a_usable_library_and_the_rerun_completes(datasets_dir, face_models, tmp_path):
    folder = tmp_path / "photos"
    for ident in ("kofi_annan", "serena_williams", "tiger_woods", "hans_blix", "laura_bush", "vladimir_putin"):
        shutil.copytree(datasets_dir / "lfw_subset" / ident, folder / ident)
    with Library(tmp_path / "reference") as lib:
        scan(lib, [str(folder)], models=face_models)
        expected = lib.counts()
    lib_dir = tmp_path / "lib"
    rng = random.Random(1234)
    kills = 0
    for _ in range(6):
        if kills == 3:
            break
        before = _photo_count(lib_dir)
        proc = subprocess.Popen([sys.executable, "-m", "photoface", "--library", str(lib_dir), "scan", str(folder)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        deadline = time.time() + 180
        # Kill only once this run has committed work of its own: a kill mid-scan, not mid-start-up.
        while time.time() < deadline and proc.poll() is None and _photo_count(lib_dir) <= before:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        with Library(lib_dir) as lib:
            assert lib.integrity_check() == "ok"
        if _photo_count(lib_dir) >= expected["photos"]:
            break
    assert kills >= 2, "the scan finished before it could be killed: use more photos"
    out = photoface("--library", str(lib_dir), "scan", str(folder))
    assert out.returncode == 0, out.stderr
    with Library(lib_dir) as lib:
        assert lib.integrity_check() == "ok"
        got = lib.counts()
        dupes = lib.con.execute("SELECT COUNT(*) FROM (SELECT photo_id, x, y, w, h FROM faces "
                                "GROUP BY photo_id, x, y, w, h HAVING COUNT(*) > 1)").fetchone()[0]
    assert (got["photos"], got["faces"], got["files"]) == (expected["photos"], expected["faces"], expected["files"])
    assert dupes == 0


def test_self_test_passes_and_names_the_device(tmp_path):
    out = photoface("--library", str(tmp_path), "self-test", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] and result["faces"] == 1 and result["device"].startswith(("CPU", "GPU"))


@pytest.fixture
def lfw_albums(clustered_copy):
    """A private copy of lfw_subset, grouped into albums."""
    return clustered_copy("lfw_subset")


def _albums(lib) -> list[tuple[int, int]]:
    """(person, faces) of the unnamed albums, biggest first."""
    return lib.con.execute(
        "SELECT p.id, COUNT(f.id) FROM persons p JOIN faces f ON f.person_id = p.id WHERE p.name IS NULL "
        "AND f.state IN ('suggested', 'accepted', 'confirmed') GROUP BY p.id ORDER BY COUNT(f.id) DESC, p.id"
    ).fetchall()


@pytest.mark.model
def test_rename_merge_rename_then_full_regroup_keeps_every_face(lfw_albums):
    """The CLI reproduction: rename, merge, rename the merged album, `cluster --full`: Bob keeps
    all his faces and no unnamed album takes part of them."""
    lib_dir = str(lfw_albums)
    with Library(lfw_albums) as lib:
        (alice, _), (p6, n6), (p3, n3) = _albums(lib)[:3]
    out = photoface("--library", lib_dir, "rename", str(alice), "Alice")
    assert out.returncode == 0 and "Alice" in out.stdout and "accepted" in out.stdout, out.stderr
    out = photoface("--library", lib_dir, "merge", str(p3), "--into", str(p6))
    assert out.returncode == 0 and f"into person {p6}" in out.stdout and f"{n3 + n6} faces" in out.stdout
    out = photoface("--library", lib_dir, "rename", str(p6), "Bob")
    assert out.returncode == 0 and f"person {p6} (Bob, {n3 + n6} faces)" in out.stdout
    with Library(lfw_albums) as lib:
        bob = {f for (f,) in lib.con.execute("SELECT id FROM faces WHERE person_id = ?", (p6,))}
    assert len(bob) == n3 + n6
    dry = photoface("--library", lib_dir, "cluster", "--full", "--dry-run")
    assert dry.returncode == 0 and "dry run" in dry.stdout
    out = photoface("--library", lib_dir, "cluster", "--full")
    assert out.returncode == 0 and "undo" in out.stdout
    with Library(lfw_albums) as lib:
        now = {f for (f,) in lib.con.execute("SELECT id FROM faces WHERE person_id = ?", (p6,))}
        assert bob <= now
        names = dict(lib.con.execute("SELECT id, name FROM persons WHERE name IS NOT NULL").fetchall())
    assert names == {alice: "Alice", p6: "Bob"}
    undo = photoface("--library", lib_dir, "undo")
    assert undo.returncode == 0 and "Regroup Faces" in undo.stdout


@pytest.mark.model
def test_export_takes_what_the_user_accepted_unless_suggestions_are_asked_for(lfw_albums, tmp_path):
    """A stranger suggested for a named person stays out of her folder and XMP by default."""
    with Library(lfw_albums) as lib:
        (ann, n_ann), (other, _) = _albums(lib)[:2]
        from photoface.core.albums.review import Review

        Review(lib).rename(ann, "Ann")
        # A later grouping suggests a face of another album for Ann (as a regroup may).
        (stranger, photo) = lib.con.execute(
            "SELECT f.id, f.photo_id FROM faces f WHERE f.person_id = ? AND NOT EXISTS (SELECT 1 FROM faces g "
            "WHERE g.photo_id = f.photo_id AND g.person_id = ?) LIMIT 1", (other, ann)).fetchone()
        with lib.transaction() as con:
            con.execute("UPDATE faces SET person_id = ?, state = 'suggested' WHERE id = ?", (ann, stranger))
        (sha,) = lib.con.execute("SELECT sha256 FROM photos WHERE id = ?", (photo,)).fetchone()
    out = photoface("--library", str(lfw_albums), "export", str(tmp_path / "plain"), "--xmp")
    assert out.returncode == 0, out.stderr
    index = json.loads((tmp_path / "plain" / "photoface-export.json").read_text())
    (person,) = index["persons"]
    assert sha not in {ph["sha256"] for ph in person["photos"]}
    assert len(person["photos"]) == n_ann
    assert {s for ph in person["photos"] for s in ph["face_states"]} == {"accepted"}
    out = photoface("--library", str(lfw_albums), "export", str(tmp_path / "all"), "--include-suggested")
    assert out.returncode == 0, out.stderr
    index = json.loads((tmp_path / "all" / "photoface-export.json").read_text())
    (person,) = index["persons"]
    (entry,) = [ph for ph in person["photos"] if ph["sha256"] == sha]
    assert entry["face_states"] == ["suggested"]


@pytest.mark.model
def test_output_piped_into_head_ends_quietly(lfw_albums):
    # `people --json` of lfw_subset is larger than a pipe's buffer: head leaves while it writes.
    out = subprocess.run(f"{sys.executable} -m photoface --library {lfw_albums} people --json | head -c 100",
                         shell=True, capture_output=True, text=True, env=ENV, timeout=300)
    assert len(out.stdout) == 100
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, out.stderr


@pytest.mark.model
def test_dismiss_background_dismisses_the_bystanders_of_unsorted_undo_and_restore(lfw_albums):
    from photoface.core.library.people import dismissed_faces, unsorted_faces

    lib_dir = str(lfw_albums)
    with Library(lfw_albums) as lib:
        listed = unsorted_faces(lib)
        bystanders = [f.id for f in listed if f.background]
    assert bystanders and listed[-len(bystanders):] == [f for f in listed if f.background]  # listed last
    out = photoface("--library", lib_dir, "dismiss-background")
    assert out.returncode == 0, out.stderr
    assert f"{len(bystanders)} background face" in out.stdout and "of Unsorted dismissed" in out.stdout
    with Library(lfw_albums) as lib:
        assert [f.id for f in dismissed_faces(lib)] == sorted(bystanders)
        assert not any(f.background for f in unsorted_faces(lib))
        assert lib.con.execute("SELECT COUNT(*) FROM faces WHERE state = 'not_face'").fetchone()[0] == 0
    out = photoface("--library", lib_dir, "dismiss-background", "--list")
    assert out.returncode == 0 and f"{len(bystanders)} dismissed face" in out.stdout
    out = photoface("--library", lib_dir, "undo")
    assert out.returncode == 0 and "Dismiss Background Faces" in out.stdout
    out = photoface("--library", lib_dir, "redo")
    assert out.returncode == 0 and "Dismiss Background Faces" in out.stdout
    out = photoface("--library", lib_dir, "dismiss-background", "--restore", str(bystanders[0]))
    assert out.returncode == 0 and "1 dismissed face restored" in out.stdout
    with Library(lfw_albums) as lib:
        assert len(dismissed_faces(lib)) == len(bystanders) - 1


def test_use_model_precision_int8_is_shown_and_undone(clustered_copy):
    lib_dir = str(clustered_copy("five_celebrity_faces"))
    out = photoface("--library", lib_dir, "use-model", "shipped", "--precision", "int8")
    assert out.returncode == 0, out.stderr
    assert "now using model shipped in int8 (was shipped in fp32)" in out.stdout
    models = json.loads(photoface("--library", lib_dir, "models", "--json").stdout)
    assert [(m["id"], m["precision"]) for m in models] == [("shipped", "int8")]
    status = json.loads(photoface("--library", lib_dir, "status", "--json").stdout)
    assert status["arithmetic"] == "int8" and status["model"] == "shipped:margin:fixed:int8"
    assert "int8" in photoface("--library", lib_dir, "models").stdout
    out = photoface("--library", lib_dir, "undo")
    assert out.returncode == 0, out.stderr
    status = json.loads(photoface("--library", lib_dir, "status", "--json").stdout)
    assert status["arithmetic"] == "fp32" and status["model"] == "shipped:margin:fixed"
