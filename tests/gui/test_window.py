"""The window over a real scanned library: every correction changes both the views and the
library, undo/redo mirror the decision log, and a restart shows the same state."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QItemSelectionModel, QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from photoface.core.library.people import list_people, person_faces
from photoface.core.albums.review import Review
from photoface.core.albums.update import person_suggestions
from photoface.gui import prompts
from photoface.gui.item_models import FACES_MIME, PERSONS_MIME

from .conftest import screenshot, wait_idle

pytestmark = pytest.mark.model


def _people(win):
    return list(win.people.model.items)


def _select_rows(grid, rows) -> None:
    model = grid.model()
    grid.selectionModel().clearSelection()
    for r in rows:
        grid.selectionModel().select(model.index(r, 0), QItemSelectionModel.Select)


def _lib_people(win):
    return list_people(win.library)


def _open(qtbot, win, person_id):
    win.open_person(person_id)
    wait_idle(qtbot, win)
    assert win.person.summary is not None and win.person.summary.id == person_id


def test_people_view_shows_albums(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    people = _people(win)
    assert len(people) >= 4  # five identities, grouped
    assert [p.id for p in people] == [p.id for p in _lib_people(win)]
    assert win.people.grid.isVisible()
    assert "Model: shipped" in win.model_label.text()
    win.people.filter.setText("zzz-nobody")
    assert win.people.proxy.rowCount() == 0
    win.people.filter.clear()
    assert win.people.proxy.rowCount() == len(people)
    screenshot(win, "people-view")


def test_rename_then_name_taken_offers_merge(qtbot, make_window, library_dir, monkeypatch):
    win = make_window(library_dir)
    a, b = _people(win)[:2]
    _open(qtbot, win, a.id)
    win.person.name_edit.setText("Alice Example")
    win.person.commit_name()
    wait_idle(qtbot, win)
    assert win.person.summary.name == "Alice Example"
    assert any(p.label == "Alice Example" for p in _people(win))
    assert {p.id: p.name for p in _lib_people(win)}[a.id] == "Alice Example"
    screenshot(win, "person-view-renamed")

    monkeypatch.setattr(prompts, "ask_yes_no", lambda *a, **k: True)
    _open(qtbot, win, b.id)
    win.person.name_edit.setText("alice example")
    win.person.commit_name()
    wait_idle(qtbot, win)
    ids = {p.id for p in _lib_people(win)}
    assert b.id not in ids and a.id in ids
    assert win.people.model.row_of(b.id) is None
    assert win.current_view == "People"  # the merged person is gone: back to People


def test_merge_undo_redo_and_restart(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    people = _people(win)
    a, b = people[0], people[1]
    _select_rows(win.people.grid, [0, 1])
    win.people.merge_selected()
    wait_idle(qtbot, win)
    assert len(_people(win)) == len(people) - 1
    merged = {p.id: p for p in _lib_people(win)}
    target = a.id if a.id in merged else b.id
    assert merged[target].faces == a.faces + b.faces
    assert win.actions.undo_action.text() == "Undo Merge"
    screenshot(win, "people-after-merge")

    win.actions.undo_action.trigger()
    wait_idle(qtbot, win)
    assert len(_people(win)) == len(people)
    assert {p.id for p in _lib_people(win)} == {p.id for p in people}
    assert win.actions.redo_action.text() == "Redo Merge"
    win.actions.redo_action.trigger()
    wait_idle(qtbot, win)
    assert len(_people(win)) == len(people) - 1

    # A restart shows the same state, and Undo (read from the library's log) still reaches the
    # merge of the last session.
    state = [(p.id, p.name, p.faces) for p in _people(win)]
    win.close()
    win2 = make_window(library_dir)
    assert [(p.id, p.name, p.faces) for p in _people(win2)] == state
    assert win2.actions.undo_action.isEnabled() and win2.actions.undo_action.text() == "Undo Merge"
    win2.actions.undo_action.trigger()
    wait_idle(qtbot, win2)
    assert len(_people(win2)) == len(people)
    win2.actions.redo_action.trigger()
    wait_idle(qtbot, win2)
    assert len(_people(win2)) == len(people) - 1
    screenshot(win2, "people-after-restart")


def test_drag_person_onto_person_merges(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    people = _people(win)
    mime = win.people.model.mimeData([win.people.model.index(1)])
    assert json.loads(bytes(mime.data(PERSONS_MIME)).decode()) == [people[1].id]
    target = win.side_proxy.index(0, 0)  # drop on the first person of the sidebar list
    win.side_proxy.dropMimeData(mime, Qt.MoveAction, -1, -1, target)
    wait_idle(qtbot, win)
    assert people[1].id not in {p.id for p in _lib_people(win)}
    assert len(_people(win)) == len(people) - 1


def test_a_person_dropped_on_a_tile_of_the_grid_merges(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    people = _people(win)
    grid = win.people.grid
    # Qt's drag manager offers a drop to the viewport only if it accepts drops; QListView's Static
    # movement had turned that off, and under Xvfb a tile dragged onto a tile did nothing.
    assert grid.viewport().acceptDrops()
    for view in (win.person.faces.grid, win.side_list):
        assert view.viewport().acceptDrops()
    source, target = grid.model().index(1, 0), grid.model().index(0, 0)
    mime = grid.model().mimeData([source])
    at = grid.visualRect(target).center()
    for event in (QDragEnterEvent(at, Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier),
                  QDragMoveEvent(at, Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier),
                  QDropEvent(QPointF(at), Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier)):
        QApplication.sendEvent(grid.viewport(), event)
    wait_idle(qtbot, win)
    assert people[1].id not in {p.id for p in _lib_people(win)}
    assert len(_people(win)) == len(people) - 1


def test_split_move_confirm_reject(qtbot, make_window, library_dir, monkeypatch):
    win = make_window(library_dir)
    big = max(_people(win), key=lambda p: p.faces)
    other = [p for p in _people(win) if p.id != big.id][0]
    _open(qtbot, win, big.id)
    grid = win.person.faces.grid
    n = win.person.faces.model.rowCount()
    assert n == big.faces

    # Confirm two faces: the views mark them, the library records them.
    _select_rows(grid, [0, 1])
    win.person.faces.confirm_selected()
    wait_idle(qtbot, win)
    states = {f.id: f.state for f in person_faces(win.library, big.id)}
    confirmed = [f.id for f in win.person.faces.model.items if f.state == "confirmed"]
    assert len(confirmed) >= 2 and all(states[f] == "confirmed" for f in confirmed)
    screenshot(win, "person-confirmed-and-suggested")

    # Reject one: it leaves the person.
    _select_rows(grid, [n - 1])
    rejected = grid.selected_ids()
    win.person.faces.reject_selected()
    wait_idle(qtbot, win)
    assert win.person.faces.model.row_of(rejected[0]) is None
    assert rejected[0] not in {f.id for f in person_faces(win.library, big.id)}

    # Split two faces into a new, named person.
    monkeypatch.setattr(prompts, "ask_text", lambda *a, **k: "Split Person")
    _select_rows(grid, [2, 3])
    split_ids = grid.selected_ids()
    win.person.faces.split_selected()
    wait_idle(qtbot, win)
    new = [p for p in _lib_people(win) if p.name == "Split Person"]
    assert len(new) == 1 and {f.id for f in person_faces(win.library, new[0].id)} == set(split_ids)
    assert any(p.label == "Split Person" for p in _people(win))
    assert all(win.person.faces.model.row_of(f) is None for f in split_ids)

    # Move one face by dragging it onto another person in the sidebar.
    face = win.person.faces.model.items[0].id
    mime = QMimeData()
    mime.setData(FACES_MIME, json.dumps([face]).encode())
    row = win.people.model.row_of(other.id)
    win.side_proxy.dropMimeData(mime, Qt.MoveAction, -1, -1, win.side_proxy.mapFromSource(win.people.model.index(row)))
    wait_idle(qtbot, win)
    assert face in {f.id for f in person_faces(win.library, other.id)}
    assert win.person.faces.model.row_of(face) is None

    # "Move to…" by name, completing over the named persons.
    face2 = win.person.faces.model.items[0].id
    _select_rows(grid, [0])
    win.person.faces.move_selected()  # ask_text still answers "Split Person"
    wait_idle(qtbot, win)
    assert face2 in {f.id for f in person_faces(win.library, new[0].id)}
    screenshot(win, "person-after-split-and-move")

    # Undo the move, then redo it.
    win.actions.undo_action.trigger()
    wait_idle(qtbot, win)
    assert win.person.faces.model.row_of(face2) is not None
    win.actions.redo_action.trigger()
    wait_idle(qtbot, win)
    assert win.person.faces.model.row_of(face2) is None


def test_hide_not_a_face_and_forget(qtbot, make_window, library_dir, monkeypatch):
    win = make_window(library_dir)
    people = _people(win)
    p = people[0]
    _open(qtbot, win, p.id)
    win.person.toggle_hidden()
    wait_idle(qtbot, win)
    assert win.people.model.row_of(p.id) is None
    win.show_view("Hidden")
    wait_idle(qtbot, win)
    assert win.hidden.model.row_of(p.id) is not None
    assert [h.id for h in list_people(win.library, hidden_only=True)] == [p.id]
    screenshot(win, "hidden-view")
    win.actions.undo_action.trigger()
    wait_idle(qtbot, win)
    assert win.hidden.model.rowCount() == 0

    q = people[1]
    _open(qtbot, win, q.id)
    face = win.person.faces.model.items[0].id
    _select_rows(win.person.faces.grid, [0])
    win.person.faces.not_face_selected()
    wait_idle(qtbot, win)
    assert win.person.faces.model.row_of(face) is None
    assert face not in {f.id for f in person_faces(win.library, q.id)}

    monkeypatch.setattr(prompts, "ask_yes_no", lambda *a, **k: True)
    win.person.forget()
    wait_idle(qtbot, win)
    assert q.id not in {x.id for x in _lib_people(win)} and win.people.model.row_of(q.id) is None
    assert win.actions.undo_action.text() == "Undo Forget Person"
    win.actions.undo_action.trigger()
    wait_idle(qtbot, win)
    assert win.people.model.row_of(q.id) is not None


def test_is_this_review_by_keyboard(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    big = max(_people(win), key=lambda p: p.faces)
    faces = person_faces(win.library, big.id)
    Review(win.library).rename(big.id, "Reviewed Person")
    Review(win.library).confirm([f.id for f in faces[:3]], big.id)
    win.reload_all()
    _open(qtbot, win, big.id)
    dlg = win.show_review(big.id)
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    wait_idle(qtbot, win)
    assert dlg.windowTitle() == "Is this Reviewed Person?"
    page = dlg.page_faces()
    if not page:
        pytest.skip("no suggestions for this person in this library")
    qtbot.waitUntil(lambda: win.thumbs.pending() == 0)
    # Faces from outside the album say so: "Yes to all on this page" takes them too.
    in_album = {f.id for f in person_faces(win.library, big.id)}
    notes = dlg.grid.delegate.notes
    assert {f.id for f in page if f.id not in in_album} == set(notes)
    shown = {p.id for p in list_people(win.library, include_hidden=True)}
    where = dict(win.library.con.execute("SELECT id, person_id FROM faces").fetchall())
    assert all(note == ("from another album" if where[fid] in shown else "from Unsorted") for fid, note in notes.items())
    assert "from Unsorted" in dlg.help.text() and "from another album" in dlg.help.text()
    # Every suggestion the core ranks is on a page (faces of other albums too), best first.
    ranked = [fid for fid, _ in person_suggestions(win.library, big.id, limit=60)]
    assert [f.id for f in dlg.faces] == ranked
    screenshot(dlg, "is-this-review")
    qtbot.keyClick(dlg.grid, Qt.Key_Y)
    qtbot.keyClick(dlg.grid, Qt.Key_N) if len(page) > 1 else None
    wait_idle(qtbot, win)
    states = {f.id: f.state for f in person_faces(win.library, big.id)}
    assert states.get(page[0].id) == "confirmed"
    assert dlg.model.marks[page[0].id] == "yes"
    if len(page) > 1:
        assert dlg.model.marks[page[1].id] == "no"
        assert page[1].id not in states
    qtbot.keyClick(dlg.grid, Qt.Key_A)
    assert all(dlg.model.marks.get(f.id) for f in page)
    screenshot(dlg, "is-this-review-answered")
    dlg.close()


def test_same_person_dialog(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    n = len(_people(win))
    dlg = win.show_same_person()
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    wait_idle(qtbot, win)
    screenshot(dlg, "same-person")
    if dlg.current() is not None:
        a, b, _ = dlg.current()
        dlg.not_same()
        pairs = {tuple(x) for _, _, x, _ in [(0, 0, h[2].get("persons", []), 0) for h in win.actions.review.history()]}
        assert tuple(sorted((a.id, b.id))) in pairs
    dlg.close()
    assert len(_people(win)) == n


def test_photo_view_and_manual_face(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    p = _people(win)[0]
    _open(qtbot, win, p.id)
    face = win.person.faces.model.items[0]
    win.person.faces.open_face(face.id)
    dlg = win.photo_dialog
    qtbot.waitUntil(lambda: not dlg.loading and dlg.canvas.pixmap is not None, timeout=10000)
    assert dlg.canvas.highlight == face.id
    assert face.id in {f.id for f in dlg.canvas.faces}
    assert dlg.open_button.isEnabled() and dlg.folder_button.isEnabled()
    screenshot(dlg, "photo-view")

    # Draw a box with the mouse in "add a missed face" mode: a worker adds the face.
    before = len(dlg.canvas.faces)
    dlg.add_button.setChecked(True)
    target = dlg.canvas._target()
    start = target.topLeft().toPoint() + (target.bottomRight() - target.topLeft()).toPoint() / 8
    end = start + (target.bottomRight() - target.topLeft()).toPoint() / 4
    qtbot.mousePress(dlg.canvas, Qt.LeftButton, pos=start)
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(dlg.canvas, QMouseEvent(QEvent.MouseMove, QPointF(end), dlg.canvas.mapToGlobal(QPointF(end)),
                                                   Qt.NoButton, Qt.LeftButton, Qt.NoModifier))
    qtbot.mouseRelease(dlg.canvas, Qt.LeftButton, pos=end)
    assert not dlg.add_button.isChecked()
    qtbot.waitUntil(lambda: len(dlg.canvas.faces) == before + 1 and not dlg.loading, timeout=90000)
    manual = [f for f in dlg.canvas.faces if f.id == win.last_manual_face]
    assert manual and manual[0].state == "undecided"
    # The new face's name field opens in place, on its box.
    qtbot.waitUntil(lambda: dlg.namer.isVisible(), timeout=10000)
    assert dlg.namer.face.id == win.last_manual_face and dlg.namer.edit.hasFocus()
    assert dlg.canvas.face_rect(win.last_manual_face).bottom() < dlg.namer.y() or \
        dlg.namer.geometry().bottom() < dlg.canvas.face_rect(win.last_manual_face).top()
    screenshot(dlg, "photo-view-manual-face")
    qtbot.keyClicks(dlg.namer.edit, "Drawn Person")
    qtbot.keyClick(dlg.namer.edit, Qt.Key_Return)
    wait_idle(qtbot, win)
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    named = [f for f in dlg.canvas.faces if f.id == win.last_manual_face]
    assert named and named[0].person_name == "Drawn Person" and named[0].state == "confirmed"
    dlg.close()


def test_folders_errors_preferences_and_shared(qtbot, make_window, library_dir, tmp_path):
    from photoface.gui.views.preferences import PreferencesDialog

    win = make_window(library_dir)
    offline = tmp_path / "gone"
    offline.mkdir()
    win.library.add_root(offline)
    offline.rmdir()
    win.show_view("Folders")
    wait_idle(qtbot, win)
    texts = [win.folders.roots.item(i).text() for i in range(win.folders.roots.count())]
    assert any("offline" in t and str(offline) in t for t in texts)
    win.folders.add_exclude(str(tmp_path / "private"))
    assert str(tmp_path / "private") in win.library.excludes()
    assert win.folders.excludes.count() == 1
    screenshot(win, "folders-view")

    dlg = PreferencesDialog(win.library, win)
    dlg.editors["cluster_strictness"].setValue(0.8)
    dlg.accept()
    assert win.library.get_setting("cluster_strictness") == pytest.approx(0.8)
    assert dlg.changed_keys == ["cluster_strictness"]

    errors = win.show_errors()
    assert errors.table.rowCount() == win.library.counts()["errors"]

    win.show_view("People")
    wait_idle(qtbot, win)
    _select_rows(win.people.grid, [0, 1])
    win.people.show_shared()
    qtbot.waitUntil(lambda: any(type(d).__name__ == "SharedPhotosDialog" for d in win._dialogs), timeout=10000)
    shared = [d for d in win._dialogs if type(d).__name__ == "SharedPhotosDialog"][0]
    qtbot.waitUntil(lambda: not shared.loading, timeout=10000)
    assert all(r.photo_id > 0 for r in shared.timeline.model_.photos())


def test_move_to_reaches_albums_without_a_name_and_unnamed_is_no_name(qtbot, make_window, library_dir, monkeypatch):
    """"Move to…" lists the albums without a name as the People view counts them, and moves faces
    into one picked there; typing the window's word for them ("Unnamed") makes no person of that
    name (a new user's walkthrough did, and it looked exactly like the real ones)."""
    win = make_window(library_dir)
    unnamed = [p for p in _people(win) if p.name is None]
    assert len(unnamed) >= 2, "the scanned library has albums without a name"
    source, target = unnamed[0], unnamed[1]
    _open(qtbot, win, source.id)
    grid = win.person.faces.grid
    _select_rows(grid, [0])
    face = grid.selected_ids()[0]
    offered = []

    def pick(parent, title, label, completions=None, text=""):
        offered.extend(completions or [])
        return next(c for c in completions if c.startswith(f"Unnamed album of {target.faces} faces"))

    monkeypatch.setattr(prompts, "ask_text", pick)
    said = []
    win.actions.status.connect(said.append)
    win.person.faces.move_selected()
    wait_idle(qtbot, win)
    assert sum(c.startswith("Unnamed album of ") for c in offered) == len(unnamed)
    assert face in {f.id for f in person_faces(win.library, target.id)}
    assert any(s.startswith("Moved 1 face to an album without a name") for s in said)  # says where to

    persons_before = {p.id for p in _lib_people(win)}
    _select_rows(grid, [0])
    other = grid.selected_ids()[0]
    monkeypatch.setattr(prompts, "ask_text", lambda *a, **k: "unnamed")
    win.person.faces.move_selected()
    wait_idle(qtbot, win)
    assert {p.id for p in _lib_people(win)} == persons_before
    assert not win.library.con.execute("SELECT 1 FROM persons WHERE name LIKE 'unnamed'").fetchone()
    assert other in {f.id for f in person_faces(win.library, source.id)}
    assert any("cannot be a name" in s for s in said)
    assert not win.actions.rename(source.id, "Unnamed")
    assert win.library.con.execute("SELECT name FROM persons WHERE id = ?", (source.id,)).fetchone()[0] is None
