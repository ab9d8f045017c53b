"""The Unsorted faces view: background faces last, "Dismiss background faces" with Edit → Undo,
and "Show dismissed" to see and restore them (issue 16, bystanders)."""

from __future__ import annotations

import pytest

from photoface.core.library.people import dismissed_faces, unsorted_faces

from .conftest import screenshot, wait_idle

pytestmark = pytest.mark.model


def _listed(win):
    return [f.id for f in win.unsorted_panel.model.items]


def test_dismiss_background_faces_of_unsorted_with_undo_and_restore(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    win.show_view("Unsorted faces")
    wait_idle(qtbot, win)
    view = win.unsorted
    listed = _listed(win)
    background = [f.id for f in unsorted_faces(win.library) if f.background]
    assert background, "five_celebrity_faces has bystanders in Unsorted"
    assert listed[-len(background):] == background          # listed last
    assert view.dismiss_button.isEnabled() and f"({len(background)})" in view.dismiss_button.text()
    screenshot(win, "unsorted-background-last")

    view.dismiss_button.click()
    wait_idle(qtbot, win)
    assert _listed(win) == listed[:-len(background)]
    assert [f.id for f in dismissed_faces(win.library)] == sorted(background)
    assert "Dismiss Background Faces" in win.actions.undo_action.text()
    assert not view.dismiss_button.isEnabled()
    screenshot(win, "unsorted-background-dismissed")

    win.actions.undo_action.trigger()                         # Edit → Undo brings them back
    wait_idle(qtbot, win)
    assert _listed(win) == listed and dismissed_faces(win.library) == []
    win.actions.redo_action.trigger()
    wait_idle(qtbot, win)
    assert _listed(win) == listed[:-len(background)]

    view.show_dismissed.setChecked(True)                      # the way back without undo
    wait_idle(qtbot, win)
    assert sorted(_listed(win)) == sorted(background)
    assert view.dismiss_button.text() == "Restore all"
    screenshot(win, "unsorted-show-dismissed")
    view.dismiss_button.click()
    wait_idle(qtbot, win)
    assert _listed(win) == [] and dismissed_faces(win.library) == []
    view.show_dismissed.setChecked(False)
    wait_idle(qtbot, win)
    assert _listed(win) == listed
    # The People menu's item does the same from anywhere (it first shows Unsorted).
    win.show_view("People")
    wait_idle(qtbot, win)
    win._dismiss_background()
    wait_idle(qtbot, win)
    assert win.stack.currentWidget() is view
    win._dismiss_background()
    wait_idle(qtbot, win)
    assert len(dismissed_faces(win.library)) == len(background)
