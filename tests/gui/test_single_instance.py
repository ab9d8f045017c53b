"""One window per library (issue 17, part 5): a second `photoface FOLDER` hands the folder to the
window already open on the library and exits; headless commands work beside the window."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photoface.core.library.people import list_people
from photoface.core.library.store import encode_path

from ..conftest import dataset_path
from .conftest import REPO_ROOT, wait_idle


def _env() -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO_ROOT))
    return env


def _start_photoface(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "photoface", *map(str, args)], env=_env(), cwd=str(REPO_ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _held(win):
    """The window holds its library, as app.main() makes it."""
    from photoface.gui.single_instance import LibraryInstance, bring_up

    instance = LibraryInstance(win.library.root)
    assert instance.claim()
    instance.serve()
    instance.handed.connect(lambda folders: bring_up(win, folders))
    return instance


def _photo_folder(datasets_dir, tmp_path, name="handed") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    src = sorted((dataset_path(datasets_dir, "lfw_subset") / "kofi_annan").iterdir())[0]
    shutil.copyfile(src, folder / "photo.jpg")
    return folder


@pytest.mark.model
def test_second_photoface_hands_the_folder_to_the_open_window(qtbot, make_window, library_dir, datasets_dir,
                                                              tmp_path, capsys):
    win = make_window(library_dir)
    instance = _held(win)
    folder = _photo_folder(datasets_dir, tmp_path)
    started = time.monotonic()
    proc = _start_photoface("--library", library_dir, folder)
    # The window's event loop must run to answer: wait on the process through qtbot.
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30000)
    exit_s = time.monotonic() - started
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "handed" in out and str(folder) in out
    assert instance.lock.isLocked()  # still ours: the second process never opened a window
    qtbot.waitUntil(lambda: str(folder) in [p for _, p in win.library.roots()], timeout=5000)
    qtbot.waitUntil(lambda: not win.scanning and not win.scan_queue, timeout=120000)
    loc = win.library.location(encode_path(folder / "photo.jpg"))
    assert loc is not None and loc.status == "ok" and win.library.faces_of_photo(loc.photo_id)
    wait_idle(qtbot, win)
    instance.release()
    with capsys.disabled():
        print(f"\nsecond photoface handed its folder over and exited after {exit_s:.1f} s")


def test_plain_second_photoface_raises_the_window_and_exits(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    instance = _held(win)
    raised = []
    instance.handed.connect(raised.append)
    proc = _start_photoface("--library", library_dir)
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30000)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "already open" in out and raised == [[]]
    assert not win.scanning
    instance.release()


def test_a_window_that_does_not_answer_is_reported_not_doubled(tmp_path):
    from photoface.gui.single_instance import LibraryInstance, WindowBusy, hand_over

    (tmp_path / "lib").mkdir()
    holder = LibraryInstance(tmp_path / "lib")
    assert holder.claim()  # locked, but never serving: a hung or half-started window
    assert not LibraryInstance(tmp_path / "lib").claim()
    started = time.monotonic()
    with pytest.raises(WindowBusy):
        hand_over(tmp_path / "lib", [], timeout_s=1.0)
    assert time.monotonic() - started < 5
    holder.release()
    assert LibraryInstance(tmp_path / "lib").claim()


def test_lock_of_a_window_that_crashed_is_taken_over(tmp_path):
    from photoface.gui.single_instance import LOCK_NAME, LibraryInstance

    lib = tmp_path / "lib"
    lib.mkdir()
    code = ("import os, sys; from PySide6.QtCore import QLockFile; l = QLockFile(sys.argv[1]); "
            "assert l.tryLock(0); os._exit(0)")  # dies holding the lock: no unlock, file left
    subprocess.run([sys.executable, "-c", code, str(lib / LOCK_NAME)], check=True, env=_env())
    assert (lib / LOCK_NAME).exists()
    assert LibraryInstance(lib).claim()


@pytest.mark.model
def test_headless_commands_work_beside_the_window(qtbot, make_window, library_dir, datasets_dir, tmp_path):
    """SQLite WAL and short transactions: the CLI reads and writes while the window holds the library
    and writes too; nothing is lost and the database stays sound."""
    win = make_window(library_dir)
    instance = _held(win)
    proc = _start_photoface("--library", library_dir, "status", "--json")
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=60000)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    status = json.loads(out)
    assert status["photos"] == win.library.counts()["photos"]

    folder = _photo_folder(datasets_dir, tmp_path, "from-cli")
    proc = _start_photoface("--library", library_dir, "scan", folder)
    # Meanwhile the window writes: name every album (one transaction each, as the user would).
    ids = [p.id for p in list_people(win.library)]
    for i, pid in enumerate(ids):
        win.actions.rename(pid, f"Person {i}")
        qtbot.wait(100)
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=180000)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "1 new photo," in out, out  # counted in words: "1 new photo", not "1 new photos"
    assert win.library.integrity_check() == "ok"
    names = {p.id: p.name for p in list_people(win.library, include_hidden=True, min_faces=0)}
    assert all(names[pid] == f"Person {i}" for i, pid in enumerate(ids)), names
    loc = win.library.location(encode_path(folder / "photo.jpg"))
    assert loc is not None and win.library.faces_of_photo(loc.photo_id)
    instance.release()
