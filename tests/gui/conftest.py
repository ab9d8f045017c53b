"""GUI test fixtures: offscreen Qt, a fresh copy of a scanned library per test, windows on it,
and screenshots under test-artifacts/screens/."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENS = REPO_ROOT / "test-artifacts" / "screens"


@pytest.fixture(scope="session")
def clustered_library(scanned_set, tmp_path_factory) -> Path:
    """five_celebrity_faces scanned once and grouped into albums; copy it before changing it."""
    from photoface.core.albums.update import update_albums
    from photoface.core.library.store import Library

    lib_dir, _ = scanned_set("five_celebrity_faces")
    out = tmp_path_factory.mktemp("gui-lib") / "lib"
    _copy_library(lib_dir, out)
    with Library(out) as lib:
        update_albums(lib)
    return out


def _copy_library(src: Path, dst: Path) -> None:
    from photoface.core.library.store import Library

    with Library(src) as lib:  # a checkpoint first: the copy then needs no -wal file
        lib.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copytree(src, dst)


@pytest.fixture
def library_dir(clustered_library, tmp_path) -> Path:
    """A private copy of the clustered library for one test."""
    dst = tmp_path / "lib"
    _copy_library(clustered_library, dst)
    return dst


@pytest.fixture
def make_window(qtbot, tmp_path):
    """make_window(lib_dir) -> an idle MainWindow on that library (UI state in a temp INI file)."""
    from photoface.core.library.store import Library
    from photoface.gui.main_window import MainWindow
    from photoface.gui.settings import ui_settings

    made = []

    def make(lib_dir: Path):
        win = MainWindow(Library(lib_dir), ui_settings(str(tmp_path / "ui.ini")), probe_device=False)
        qtbot.addWidget(win)
        win.resize(1200, 800)
        win.show()
        wait_idle(qtbot, win)
        made.append(win)
        return win

    yield make
    for win in made:
        for job in [win.scan_job, *win.other_jobs]:
            if job is not None:
                job.kill()
        win.thumbs.stop()


def wait_idle(qtbot, win, timeout_ms: int = 15000) -> None:
    """Waits until no reload or thumbnail load is pending, then lets the view paint."""
    qtbot.waitUntil(win.is_idle, timeout=timeout_ms)
    qtbot.wait(50)
    qtbot.waitUntil(win.is_idle, timeout=timeout_ms)


def screenshot(widget, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    widget.grab().save(str(path))
    return path
