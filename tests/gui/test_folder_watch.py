"""New photos appear by themselves (issue 17, part 4): the window watches its folders, scans the one
whose photos changed once things are quiet, without a dialog; a folder that disappears is offline,
never deleted; the Preferences switch turns it all off."""

from __future__ import annotations

import shutil
import time

import pytest

from photoface.core.library.store import encode_path

from ..conftest import dataset_path
from .conftest import screenshot, wait_idle

pytestmark = pytest.mark.model


def _faces_of(lib, path) -> int | None:
    """Faces of the photo at `path` that the albums show (None: the library has no such file)."""
    loc = lib.location(encode_path(path))
    if loc is None or loc.photo_id is None or loc.status != "ok":
        return None
    return len(lib.faces_of_photo(loc.photo_id))


def _scans_done(win) -> bool:
    return not win.scanning and not win.scan_queue


def _visible_dialogs() -> list:
    from PySide6.QtWidgets import QApplication, QDialog

    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]


def test_photo_copied_in_appears_removed_goes_root_renamed_is_offline(qtbot, make_window, library_dir,
                                                                       datasets_dir, tmp_path, capsys,
                                                                       monkeypatch):
    from photoface.gui import prompts
    from photoface.gui.auto_scan import AutoScan

    asked = []
    monkeypatch.setattr(prompts, "show_error", lambda *a, **k: asked.append(a))

    photos = tmp_path / "photos"
    photos.mkdir()
    src, other = sorted((dataset_path(datasets_dir, "lfw_subset") / "hans_blix").iterdir())[:2]
    # Copied while the window was closed: the start-up check finds it. (It also keeps the folder
    # from ever being empty: an empty folder that had photos reads as an unmounted drive.)
    shutil.copyfile(other, photos / "kept.jpg")
    win = make_window(library_dir)
    win.library.add_root(photos)
    auto = AutoScan(win, quiet_ms=2000, poll_s=1.0, startup_delay_ms=0)
    auto.start(rescan=True)
    assert auto.watching
    qtbot.waitUntil(lambda: win.scanning, timeout=5000)
    assert win.scans.quiet
    qtbot.waitUntil(lambda: _scans_done(win), timeout=60000)
    assert win.last_scan["scan"]["new_photos"] == 1 and _faces_of(win.library, photos / "kept.jpg")

    added = photos / "new.jpg"
    started = time.monotonic()
    shutil.copyfile(src, added)
    qtbot.waitUntil(lambda: bool(_faces_of(win.library, added)), timeout=10000)
    appeared_s = time.monotonic() - started
    qtbot.waitUntil(lambda: _scans_done(win), timeout=30000)
    wait_idle(qtbot, win)
    screenshot(win, "watch-photo-appeared")

    started = time.monotonic()
    added.unlink()
    qtbot.waitUntil(lambda: _faces_of(win.library, added) is None, timeout=10000)
    gone_s = time.monotonic() - started
    qtbot.waitUntil(lambda: _scans_done(win), timeout=30000)

    # The folder renamed away (as a drive unmounted): offline, its photos kept.
    win.show_view("Folders")
    started = time.monotonic()
    photos.rename(tmp_path / "photos-renamed")

    def offline_shown() -> bool:
        texts = [win.folders.roots.item(i).text() for i in range(win.folders.roots.count())]
        return any(str(photos) in t and "offline" in t for t in texts)

    qtbot.waitUntil(offline_shown, timeout=10000)
    offline_s = time.monotonic() - started
    qtbot.waitUntil(lambda: _scans_done(win), timeout=30000)
    assert _faces_of(win.library, photos / "kept.jpg"), "an offline folder's photos must be kept"
    wait_idle(qtbot, win)
    screenshot(win, "watch-folder-offline")
    assert not asked and not _visible_dialogs(), "a quiet scan opened a dialog"
    auto.stop()
    with capsys.disabled():
        print(f"\nwatch: copied photo's face in the library after {appeared_s:.1f} s, removed one gone "
              f"after {gone_s:.1f} s, renamed folder shown offline after {offline_s:.1f} s")


def test_switched_off_in_preferences_nothing_is_watched(qtbot, make_window, library_dir, datasets_dir, tmp_path):
    from photoface.gui.auto_scan import AutoScan

    photos = tmp_path / "photos"
    photos.mkdir()
    win = make_window(library_dir)
    win.library.add_root(photos)
    win.library.set_setting("watch_folders", False)
    auto = AutoScan(win, quiet_ms=300, poll_s=0.5, startup_delay_ms=0)
    auto.start()
    assert not auto.watching
    src = sorted((dataset_path(datasets_dir, "lfw_subset") / "hans_blix").iterdir())[0]
    shutil.copyfile(src, photos / "new.jpg")
    qtbot.wait(1500)
    assert not win.scanning and win.library.location(encode_path(photos / "new.jpg")) is None

    # Switched on again from Preferences: watching starts, and the start-up check finds the photo.
    win.library.set_setting("watch_folders", True)
    win.preferences_changed.emit(["watch_folders"])
    assert auto.watching
    qtbot.waitUntil(lambda: bool(_faces_of(win.library, photos / "new.jpg")), timeout=60000)
    qtbot.waitUntil(lambda: _scans_done(win), timeout=30000)
    win.library.set_setting("watch_folders", False)
    win.preferences_changed.emit(["watch_folders"])
    assert not auto.watching


def test_which_events_can_change_a_scan(tmp_path):
    from photoface.gui.folder_watch import is_photo_event

    lib = str(tmp_path / "photos" / "library")
    photos = tmp_path / "photos"
    assert is_photo_event(str(photos / "a.JPG"), False, lib)
    assert is_photo_event(str(photos / "trip"), True, lib)  # a folder of photos moved in or out
    assert is_photo_event(str(photos / "raw.cr2"), False, lib)  # counted as unsupported by a scan
    assert not is_photo_event(str(photos / "notes.txt"), False, lib)
    assert not is_photo_event(str(photos / ".a.jpg.part"), False, lib)  # a copy's temporary file
    # The library inside a watched folder writes all the time: never a reason to scan.
    assert not is_photo_event(lib + "/cache/thumb.jpg", False, lib)
    assert not is_photo_event(lib, True, lib)


def test_a_quiet_scan_that_finds_nothing_gives_the_last_word_back(qtbot, make_window, library_dir):
    # Its "Grouping faces into people…" stayed in the status bar for good (a new user's first minutes).
    win = make_window(library_dir)
    wait_idle(qtbot, win)
    win.state_label.setText("Named Ann.")
    win.scans.request(None, quiet=True)
    qtbot.waitUntil(lambda: win.scanning, timeout=5000)
    qtbot.waitUntil(lambda: _scans_done(win), timeout=60000)
    assert win.state_label.text() == "Named Ann."
