"""Issue 17, part 3: the keyboard. Back from a person with Esc / Alt+Left / Backspace, the same
bare keys in every review dialog, Ctrl+End selects, F11 full screen, and Help → Keyboard
Shortcuts generated from the actions, none of which share a key."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from photoface.core.library.people import list_people, person_faces
from photoface.core.albums.review import Review
from photoface.gui.views.shortcuts_sheet import action_words, keys_text, shortcut_actions, shortcut_conflicts

from .conftest import screenshot, wait_idle

pytestmark = pytest.mark.model


def _active(qtbot, win) -> None:
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)


def _open(qtbot, win, person_id) -> None:
    win.open_person(person_id)
    wait_idle(qtbot, win)
    assert win.current_view == "Person"


@pytest.mark.parametrize("key,modifier", [(Qt.Key_Escape, Qt.NoModifier), (Qt.Key_Left, Qt.AltModifier),
                                          (Qt.Key_Backspace, Qt.NoModifier)])
def test_back_from_a_person_to_people(qtbot, make_window, library_dir, key, modifier):
    win = make_window(library_dir)
    _active(qtbot, win)
    _open(qtbot, win, win.people.model.items[0].id)
    win.person.faces.grid.setFocus()
    qtbot.keyClick(win.person.faces.grid, key, modifier)
    assert win.current_view == "People"


def test_backspace_still_edits_the_name(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    _active(qtbot, win)
    _open(qtbot, win, win.people.model.items[0].id)
    win.person.name_edit.setFocus()
    win.person.name_edit.setText("Ann")
    qtbot.keyClick(win.person.name_edit, Qt.Key_Backspace)
    assert win.person.name_edit.text() == "An"
    assert win.current_view == "Person"


def test_review_dialogs_answer_bare_keys(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    _active(qtbot, win)
    big = max(win.people.model.items, key=lambda p: p.faces)
    Review(win.library).rename(big.id, "Keyed Person")
    win.reload_all()
    dlg = win.show_review(big.id)
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    wait_idle(qtbot, win)
    page = dlg.page_faces()
    assert len(page) >= 3, "the largest person has suggestions to review"
    qtbot.keyClick(dlg.grid, Qt.Key_S)  # skip: unanswered, next face
    assert page[0].id not in dlg.model.marks and dlg.grid.currentIndex().row() == 1
    qtbot.keyClick(dlg.grid, Qt.Key_Y)
    qtbot.keyClick(dlg.grid, Qt.Key_N)
    assert dlg.model.marks == {page[1].id: "yes", page[2].id: "no"}
    states = {f.id: f.state for f in person_faces(win.library, big.id)}
    assert states[page[1].id] == "confirmed" and page[2].id not in states
    dlg.close()

    # Look-alike pairs for sure: some faces of two persons split off into persons of their own.
    for person in sorted(win.people.model.items, key=lambda p: -p.faces)[:2]:
        rest = [f.id for f in person_faces(win.library, person.id) if f.state != "confirmed"][-6:]
        Review(win.library).split(rest)
    win.reload_all()
    wait_idle(qtbot, win)
    same = win.show_same_person()
    qtbot.waitUntil(lambda: not same.loading, timeout=10000)
    wait_idle(qtbot, win)
    assert len(same.pairs) >= 2
    assert not any(b.hasFocus() for b in (same.merge_button, same.no_button, same.skip_button))
    before = len(list_people(win.library))
    a, b, _ = same.current()
    qtbot.keyClick(same, Qt.Key_Y)  # yes: the same person, merged
    wait_idle(qtbot, win)
    assert len(list_people(win.library)) == before - 1
    assert not {a.id, b.id} <= {p.id for p in list_people(win.library)}
    assert same.index == 1 and same.current() is not None
    qtbot.waitUntil(lambda: win.thumbs.pending() == 0)
    qtbot.wait(50)
    screenshot(same, "same-person-keys")
    qtbot.keyClick(same, Qt.Key_S)  # skip
    assert same.index == 2
    same.close()


def test_ctrl_end_moves_the_selection(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    _active(qtbot, win)
    grid = win.people.grid
    grid.setFocus()
    grid.setCurrentIndex(grid.model().index(0, 0))
    grid.select_ids([win.people.model.items[0].id])
    qtbot.keyClick(grid, Qt.Key_End, Qt.ControlModifier)
    last = grid.model().rowCount() - 1
    assert grid.currentIndex().row() == last
    assert grid.selected_ids() == [grid.model().index(last, 0).data(Qt.UserRole + 1)]
    qtbot.keyClick(grid, Qt.Key_Home, Qt.ControlModifier)
    assert grid.selected_ids() == [win.people.model.items[0].id]


def test_f11_full_screen(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    _active(qtbot, win)
    qtbot.keyClick(win.people.grid, Qt.Key_F11)
    qtbot.waitUntil(win.isFullScreen, timeout=3000)
    assert win.fullscreen_action.isChecked()
    qtbot.keyClick(win.people.grid, Qt.Key_F11)
    qtbot.waitUntil(lambda: not win.isFullScreen(), timeout=3000)
    assert not win.fullscreen_action.isChecked()


def test_shortcuts_sheet_lists_every_action_and_no_key_is_shared(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    _open(qtbot, win, win.people.model.items[0].id)  # the person's panels exist with their actions
    actions = shortcut_actions(win)
    assert len(actions) >= 15
    dlg = win.show_shortcuts()
    listed = {(r.what, r.keys) for r in dlg.rows}
    for action in actions:
        assert (action_words(action), keys_text(action)) in listed, (action.text(), keys_text(action))
    keys = {r.keys for r in dlg.rows}
    assert {"Esc, Alt+Left, Backspace", "F11", "Ctrl+Z", "Y", "N", "A", "S", "Enter"} <= keys
    assert dlg.table.rowCount() == len(dlg.rows)
    assert shortcut_conflicts(win) == []
    qtbot.wait(50)
    screenshot(dlg, "shortcuts-sheet")
    dlg.close()


def test_the_sheet_names_places_in_words_never_classes(qtbot, make_window, library_dir):
    # A new user saw a row "PhotoDialog" (its Left/Right, with no text) once a photo had been open.
    win = make_window(library_dir)
    photo = win.ctx.library.con.execute("SELECT photo_id FROM faces LIMIT 1").fetchone()[0]
    win.open_photo(photo)
    dlg = win.show_shortcuts()
    places = {r.where for r in dlg.rows}
    assert "Photo viewer" in places
    assert not [p for p in places if p.isidentifier() and p[0].isupper() and any(c.isupper() for c in p[1:])], places
    assert all(r.what for r in dlg.rows), [r for r in dlg.rows if not r.what]
    # Undo and Redo are listed as such, whatever the history makes their menu text.
    assert {("Undo", "Ctrl+Z"), ("Redo", "Ctrl+Shift+Z, Ctrl+Y")} <= {(r.what, r.keys) for r in dlg.rows}
    dlg.close()
    win.photo_dialog.close()


def test_shortcut_conflicts_are_found(qtbot, make_window, library_dir):
    from PySide6.QtGui import QAction, QKeySequence

    win = make_window(library_dir)
    extra = QAction("Twin of Undo", win)
    extra.setShortcut(QKeySequence("Ctrl+Z"))
    win.addAction(extra)
    assert any("Twin of Undo" in c and "Ctrl+Z" in c for c in shortcut_conflicts(win))
