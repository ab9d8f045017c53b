"""What a new user hit in the real window (a walkthrough under Xvfb), kept fixed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from photoface.core.library.people import list_people

from .conftest import wait_idle

pytestmark = pytest.mark.model


def test_ctrl_z_in_a_dialog_undoes_what_the_status_bar_says_it_can(qtbot, make_window, library_dir):
    """The photo viewer and the review dialogs say "Edit → Undo takes it back"; Ctrl+Z pressed
    there, not only in the main window, does."""
    win = make_window(library_dir)
    album = max((p for p in list_people(win.library) if p.name is None), key=lambda p: p.faces)
    win.actions.rename(album.id, "Ann Example")
    wait_idle(qtbot, win)
    assert {p.id: p.name for p in list_people(win.library)}[album.id] == "Ann Example"
    dialog = win.show_same_person()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
    qtbot.keyClick(dialog, Qt.Key_Z, Qt.ControlModifier)
    wait_idle(qtbot, win)
    assert {p.id: p.name for p in list_people(win.library)}[album.id] is None
    # The status bar says what was taken back, not only which kind of step ("Undone: Rename.").
    assert win.state_label.text() == "Undone: Rename to Ann Example."
    dialog.close()


def test_a_background_check_that_found_nothing_keeps_the_scan_summary(qtbot, make_window, library_dir):
    """After the first scan, the start-up check (a quiet scan) found nothing new and replaced
    the summary with "0 new photos, 0 faces"."""
    win = make_window(library_dir)
    scans = win.scans
    win.state_label.setText("Scan finished in 0:09: 41 new photos, 52 faces")
    scans.quiet = True
    scans._done({"scan": {"new_photos": 0, "faces_added": 0, "seconds": 1.0}})
    assert win.state_label.text() == "Scan finished in 0:09: 41 new photos, 52 faces"
    scans._done({"scan": {"new_photos": 2, "faces_added": 3, "seconds": 1.0}})
    assert "2 new photos, 3 faces" in win.state_label.text()


def test_is_this_name_with_a_person_selected_in_people_reviews_that_person(qtbot, make_window, library_dir, monkeypatch):
    win = make_window(library_dir)
    opened = []
    monkeypatch.setattr(win, "show_review", opened.append)
    win.show_view("People")
    wait_idle(qtbot, win)
    win._review_current()  # nothing selected: it says what to do instead of nothing
    assert opened == [] and "select one" in win.state_label.text()
    first = win.people.grid.model().index(0, 0)
    win.people.grid.setCurrentIndex(first)
    win.people.grid.selectionModel().select(first, win.people.grid.selectionModel().SelectionFlag.ClearAndSelect)
    win._review_current()
    assert opened == win.people.grid.selected_ids()
