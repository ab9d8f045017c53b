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

from photoface.core.pipeline import scan
from photoface.core.store import Library

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
