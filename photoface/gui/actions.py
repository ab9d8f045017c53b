"""The user's corrections, as undoable commands over `core.review.Review`.

Each action is a QUndoCommand whose first redo() performs it (one Review call, one decision)
and whose later undo()/redo() call Review.undo()/redo(), so the QUndoStack mirrors the core's
decision log. Decisions from earlier sessions are not on the stack; Undo falls back to
Review.undo() for them (and Redo to Review.redo() for what that undid, first).
"""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QWidget

from photoface.core.errors import PhotofaceError
from photoface.core.people import person_names
from photoface.core.review import NameTaken, Review
from photoface.core.store import Library
from photoface.gui import prompts

log = logging.getLogger(__name__)

ACTION_NAMES = {
    "confirm": "Confirm", "reject": "Not This Person", "move": "Move", "split": "New Person",
    "merge": "Merge", "rename": "Rename", "create": "New Person", "hide": "Hide",
    "unhide": "Show", "cover": "Set Cover", "not_face": "Not a Face", "not_same": "Not the Same",
    "forget": "Forget Person",
}


class _ReviewCommand(QUndoCommand):
    """One decision. The first redo() runs `apply`; an exception there is kept for the caller
    and the command made obsolete (the stack drops it)."""

    def __init__(self, actions: "Actions", text: str, apply: Callable[[], object]):
        super().__init__(text)
        self.actions, self.apply = actions, apply
        self.done_once = False
        self.result = None
        self.error: BaseException | None = None

    def redo(self) -> None:
        if not self.done_once:
            self.done_once = True
            try:
                self.result = self.apply()
            except BaseException as exc:  # noqa: BLE001 - re-raised by Actions._push
                self.error = exc
                self.setObsolete(True)
                return
        else:
            self.actions.review.redo()
        self.actions.changed.emit()

    def undo(self) -> None:
        self.actions.review.undo()
        self.actions.changed.emit()


class Actions(QObject):
    """Review actions for the window, with undo/redo.

    Attributes:
        changed -- emitted after anything in the library changed (views reload).
        stack -- the QUndoStack of this session's decisions.
        undo_action, redo_action -- Edit-menu actions named after what they undo ("Undo Merge").
    """

    changed = Signal()

    def __init__(self, library: Library, parent_widget: QWidget | None = None):
        super().__init__(parent_widget)
        self.library = library
        self.review = Review(library)
        self.parent_widget = parent_widget
        self.stack = QUndoStack(self)
        self._earlier_undone = 0  # decisions of earlier sessions undone by the fallback
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcut(QKeySequence.Undo)
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.Redo])
        self.redo_action.triggered.connect(self.redo)
        self.stack.indexChanged.connect(self._update_actions)
        self.changed.connect(self._update_actions)
        self._update_actions()

    # --- undo / redo ------------------------------------------------------------------------

    def _last_logged(self, undone: bool) -> str | None:
        history = self.review.history()
        rows = [a for _, a, _, u in history if u == undone]
        if not rows:
            return None
        return rows[0] if undone else rows[-1]

    def _update_actions(self, *_) -> None:
        if self.stack.canUndo():
            text = self.stack.undoText()
        else:
            text = ACTION_NAMES.get(self._last_logged(False) or "", "")
            if not text and self._last_logged(False) is None:
                text = None
        self.undo_action.setEnabled(text is not None)
        self.undo_action.setText(f"Undo {text}" if text else "Undo")
        if self._earlier_undone:
            rtext = ACTION_NAMES.get(self._last_logged(True) or "", "")
        elif self.stack.canRedo():
            rtext = self.stack.redoText()
        else:
            rtext = None
        self.redo_action.setEnabled(rtext is not None)
        self.redo_action.setText(f"Redo {rtext}" if rtext else "Redo")

    def undo(self) -> None:
        if self.stack.canUndo():
            self.stack.undo()
        elif self.review.undo() is not None:
            self._earlier_undone += 1
            self.changed.emit()

    def redo(self) -> None:
        if self._earlier_undone:
            self._earlier_undone -= 1
            self.review.redo()
            self.changed.emit()
        elif self.stack.canRedo():
            self.stack.redo()

    def _push(self, text: str, apply: Callable[[], object]):
        cmd = _ReviewCommand(self, text, apply)
        self.stack.push(cmd)
        if cmd.error is not None:
            raise cmd.error
        self._earlier_undone = 0  # a new decision ends the core's redo history too
        self._update_actions()
        return cmd.result

    def _run(self, text: str, apply: Callable[[], object]):
        """_push, showing a core error as a message instead of raising."""
        try:
            return self._push(text, apply)
        except NameTaken:
            raise
        except PhotofaceError as exc:
            prompts.show_error(self.parent_widget, text, str(exc))
            return None

    # --- actions -------------------------------------------------------------------------------

    def confirm(self, face_ids: list[int], person_id: int):
        return self._run("Confirm", lambda: self.review.confirm(face_ids, person_id))

    def reject(self, face_ids: list[int], person_id: int):
        return self._run("Not This Person", lambda: self.review.reject(face_ids, person_id))

    def move(self, face_ids: list[int], person_id: int):
        return self._run("Move", lambda: self.review.move(face_ids, person_id))

    def merge(self, sources: list[int], target: int):
        return self._run("Merge", lambda: self.review.merge(sources, target))

    def hide(self, person_id: int, hidden: bool = True):
        return self._run("Hide" if hidden else "Show", lambda: self.review.set_hidden(person_id, hidden))

    def set_cover(self, person_id: int, face_id: int):
        return self._run("Set Cover", lambda: self.review.set_cover(person_id, face_id))

    def not_a_face(self, face_ids: list[int]):
        return self._run("Not a Face", lambda: self.review.not_a_face(face_ids))

    def not_same(self, a: int, b: int):
        return self._run("Not the Same", lambda: self.review.not_same_person(a, b))

    def forget(self, person_id: int):
        return self._run("Forget Person", lambda: self.review.forget_person(person_id))

    def rename(self, person_id: int, name: str | None) -> bool:
        """Renames; a name another person has leads to "Merge with X?". Returns whether done."""
        try:
            self._push("Rename", lambda: self.review.rename(person_id, name))
            return True
        except NameTaken as taken:
            if prompts.ask_yes_no(self.parent_widget, "Name already used",
                                  f"“{taken.name}” is already someone. Merge this person into {taken.name}?"):
                return self.merge([person_id], taken.person_id) is not None
            return False
        except PhotofaceError as exc:
            prompts.show_error(self.parent_widget, "Rename", str(exc))
            return False

    def split(self, face_ids: list[int], name: str | None = None) -> int | None:
        """A new person from these faces; a taken name moves them to that person instead."""
        try:
            return self._push("New Person", lambda: self.review.split(face_ids, name or None))
        except NameTaken as taken:
            self.move(face_ids, taken.person_id)
            return taken.person_id
        except PhotofaceError as exc:
            prompts.show_error(self.parent_widget, "New person", str(exc))
            return None

    def move_to_name(self, face_ids: list[int], name: str) -> int | None:
        """Moves faces to the person called `name`, creating that person first if new (one
        undo step for both)."""
        name = " ".join(name.split())
        if not name:
            return None
        by_name = {n.casefold(): pid for pid, n in person_names(self.library)}
        pid = by_name.get(name.casefold())
        if pid is not None:
            self.move(face_ids, pid)
            return pid
        self.stack.beginMacro(f"Move to {name}")
        try:
            pid = self._run("New Person", lambda: self.review.create_person(name))
            if pid is not None:
                self.move(face_ids, pid)
        finally:
            self.stack.endMacro()
        return pid

    def ask_move(self, face_ids: list[int]) -> int | None:
        """"Move to…": asks for a person's name (completing over the named persons)."""
        if not face_ids:
            return None
        names = [n for _, n in person_names(self.library)]
        name = prompts.ask_text(self.parent_widget, "Move to…",
                                f"Move {len(face_ids)} face(s) to (a name; a new name makes a new person):",
                                names)
        return self.move_to_name(face_ids, name) if name else None

    def ask_split(self, face_ids: list[int]) -> int | None:
        if not face_ids:
            return None
        names = [n for _, n in person_names(self.library)]
        name = prompts.ask_text(self.parent_widget, "New person from selection",
                                "Name (optional):", names)
        if name is None:
            return None
        return self.split(face_ids, name or None)
