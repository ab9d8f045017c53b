"""Naming faces where they are seen (issue 17, part 1): a click on a face box in the photo viewer
opens a name field; Enter, "Not this person" and "Not a face" are undoable decisions; arrows and
buttons step through the list the photo was opened from; Esc closes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from photoface.core.library.people import photo_faces
from photoface.core.library.persons import rejected_faces

from .conftest import screenshot, wait_idle

pytestmark = pytest.mark.model


def _open_photo_of(qtbot, win, person_index: int = 0):
    """Opens the first face of a person in the viewer; returns (dialog, the face)."""
    person = list(win.people.model.items)[person_index]
    win.open_person(person.id)
    wait_idle(qtbot, win)
    face = win.person.faces.model.items[0]
    win.person.faces.open_face(face.id)
    dlg = win.photo_dialog
    qtbot.waitUntil(lambda: not dlg.loading and dlg.canvas.pixmap is not None, timeout=10000)
    return dlg, face


def _click_box(qtbot, dlg, face_id: int) -> None:
    rect = dlg.canvas.face_rect(face_id)
    assert rect is not None
    qtbot.mouseClick(dlg.canvas, Qt.LeftButton, pos=rect.center())
    assert dlg.namer.isVisible() and dlg.namer.face.id == face_id


def _reloaded(qtbot, win, dlg) -> None:
    wait_idle(qtbot, win)
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)


def _face(win, face_id: int):
    for f in photo_faces(win.library, win.photo_dialog.photo_id):
        if f.id == face_id:
            return f
    return None


def test_click_a_box_and_name_it(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    names = {p.id: p.label for p in win.people.model.items}
    dlg, face = _open_photo_of(qtbot, win)
    _click_box(qtbot, dlg, face.id)
    assert dlg.namer.edit.hasFocus()
    # The field completes over the named persons (after a rename there is one to complete).
    assert dlg.namer.edit.completer() is not None
    dlg.namer.edit.clear()
    qtbot.keyClicks(dlg.namer.edit, "Zoe Example")
    screenshot(dlg, "photo-view-naming-a-box")
    qtbot.keyClick(dlg.namer.edit, Qt.Key_Return)
    _reloaded(qtbot, win, dlg)
    assert not dlg.namer.isVisible()
    assert dlg.isVisible(), "Enter in the name field must not close the viewer"
    named = _face(win, face.id)
    assert named.person_name == "Zoe Example" and named.state == "confirmed"
    assert named.person_id != face.person_id  # a new person, made from this face
    last = win.actions.review.history()[-1]
    assert last[1] == "split" and last[2]["faces"] == [face.id] and last[2]["name"] == "Zoe Example"

    # Undo puts the face back where it was.
    win.actions.undo_action.trigger()
    _reloaded(qtbot, win, dlg)
    back = _face(win, face.id)
    assert back.person_id == face.person_id and back.state == face.state

    # An existing name: the face is confirmed for that person (the completer offers it).
    other_id, other = next((i, n) for i, n in names.items() if i != face.person_id)
    win.actions.rename(other_id, "Ann Other")
    _reloaded(qtbot, win, dlg)
    _click_box(qtbot, dlg, face.id)
    assert "Ann Other" in dlg.namer._names.stringList()
    dlg.namer.edit.setText("ann other")
    qtbot.keyClick(dlg.namer.edit, Qt.Key_Return)
    _reloaded(qtbot, win, dlg)
    moved = _face(win, face.id)
    assert moved.person_id == other_id and moved.state == "confirmed"
    assert win.actions.review.history()[-1][1] == "move"
    assert dlg.canvas.faces and any(f.person_name == "Ann Other" for f in dlg.canvas.faces)

    # Its own name again: a plain confirm, no move.
    _click_box(qtbot, dlg, face.id)
    assert dlg.namer.title.text() == "Is this Ann Other? Enter confirms"
    assert dlg.namer.edit.text() == "Ann Other"
    qtbot.keyClick(dlg.namer.edit, Qt.Key_Return)
    _reloaded(qtbot, win, dlg)
    assert win.actions.review.history()[-1][1] == "confirm"

    # "Not this person": out of Ann Other, undecided, and never put back there by a regroup.
    _click_box(qtbot, dlg, face.id)
    qtbot.mouseClick(dlg.namer.not_this_button, Qt.LeftButton)
    _reloaded(qtbot, win, dlg)
    out = _face(win, face.id)
    assert out.person_id is None and out.state == "undecided"
    assert win.actions.review.history()[-1][1] == "reject"
    assert face.id in rejected_faces(win.library.con, other_id)
    _click_box(qtbot, dlg, face.id)
    assert not dlg.namer.not_this_button.isEnabled()  # in no person now

    # "Not a face".
    qtbot.mouseClick(dlg.namer.not_face_button, Qt.LeftButton)
    _reloaded(qtbot, win, dlg)
    assert _face(win, face.id).state == "not_face"
    assert win.actions.review.history()[-1][1] == "not_face"
    dlg.close()


def test_esc_closes_the_field_then_the_viewer(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    dlg, face = _open_photo_of(qtbot, win)
    _click_box(qtbot, dlg, face.id)
    qtbot.keyClicks(dlg.namer.edit, "Somebody")
    qtbot.keyClick(dlg.namer.edit, Qt.Key_Escape)
    assert not dlg.namer.isVisible() and dlg.isVisible()
    assert _face(win, face.id).person_id == face.person_id  # nothing named
    qtbot.keyClick(dlg.canvas, Qt.Key_Escape)
    assert not dlg.isVisible()


def test_arrows_and_buttons_step_through_the_persons_photos(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    dlg, face = _open_photo_of(qtbot, win)
    photos = list(dict.fromkeys(f.photo_id for f in win.person.faces.model.items))
    assert len(photos) > 2
    assert [p for p, _ in dlg.sequence] == photos
    assert dlg.photo_id == photos[0]
    assert not dlg.prev_button.isEnabled() and dlg.next_button.isEnabled()
    assert dlg.position.text() == f"1 of {len(photos)}"
    qtbot.keyClick(dlg.canvas, Qt.Key_Right)
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    assert dlg.photo_id == photos[1] and dlg.canvas.highlight is not None
    assert dlg.canvas.highlight in {f.id for f in dlg.canvas.faces}  # the person's face there
    qtbot.mouseClick(dlg.next_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    assert dlg.photo_id == photos[2]
    qtbot.keyClick(dlg.canvas, Qt.Key_Left)
    qtbot.mouseClick(dlg.prev_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    assert dlg.photo_id == photos[0]
    qtbot.keyClick(dlg.canvas, Qt.Key_Left)  # the first: stays
    assert dlg.photo_id == photos[0]
    # While typing a name, Left and Right move the cursor in the field, not the photo.
    _click_box(qtbot, dlg, dlg.canvas.highlight)
    qtbot.keyClicks(dlg.namer.edit, "Al")
    qtbot.keyClick(dlg.namer.edit, Qt.Key_Left)
    assert dlg.photo_id == photos[0] and dlg.namer.edit.cursorPosition() == len(dlg.namer.edit.text()) - 1

    # From the person's Photos tab (the timeline) the arrows follow the timeline's order.
    win.person.tabs.setCurrentWidget(win.person.photos)
    timeline = win.person.photos.sequence()
    last = timeline[-1]
    win.person.photos.open_photo.emit(*last)
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    assert dlg.sequence == timeline and dlg.photo_id == last[0]
    qtbot.keyClick(dlg.canvas, Qt.Key_Left)
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    assert dlg.photo_id == timeline[-2][0]
    dlg.close()
