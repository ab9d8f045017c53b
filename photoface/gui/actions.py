"""The user's corrections, as actions of the window with undo and redo.

Each action is one Review call: one transaction and one decision in the library's log. Undo and
Redo are the log's own (`Review.undo` / `Review.redo`), and their menu labels are read from the
log after every change, so they always name a change that is really there — also one made by a
regroup, a model switch, an import or another photoface process on the same library.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from photoface.core.errors import PhotofaceError
from photoface.core.library.people import UNNAMED, list_people, person_name_and_size, person_names
from photoface.core.albums.review import NameTaken, Review
from photoface.core.library.store import Library
from photoface.core.text import plural
from photoface.gui import prompts
from photoface.gui.views.shortcuts_sheet import SHEET_TEXT

log = logging.getLogger(__name__)


def _faces(face_ids) -> str:
    return plural(len(set(face_ids)), "face")


def unnamed_album_labels(library: Library) -> dict[str, int]:
    """{label: person id} of the albums without a name the People view shows, largest first:
    "Unnamed album of 37 faces", numbered ("… (2)") where two have as many faces."""
    out: dict[str, int] = {}
    seen: Counter = Counter()
    for p in list_people(library):
        if p.name is None:
            label = f"{UNNAMED} album of {plural(p.faces, 'face')}"
            seen[label] += 1
            out[label if seen[label] == 1 else f"{label} ({seen[label]})"] = p.id
    return out


class Actions(QObject):
    """Review actions for the window, with undo/redo.

    Attributes:
        changed -- emitted after anything in the library changed (views reload).
        status -- one sentence for the status bar: what the last action, undo or redo did.
        undo_action, redo_action -- Edit-menu actions named after what they undo ("Undo Merge").
    """

    changed = Signal()
    status = Signal(str)

    def __init__(self, library: Library, parent_widget: QWidget | None = None):
        super().__init__(parent_widget)
        self.library = library
        self.review = Review(library)
        self.parent_widget = parent_widget
        self.undo_action = QAction("Undo", self)
        self.undo_action.setProperty(SHEET_TEXT, "Undo")  # its text names the next decision
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setProperty(SHEET_TEXT, "Redo")
        # One binding each: QKeySequence.Redo is Ctrl+Shift+Z on Linux, and listing it beside an
        # explicit Ctrl+Shift+Z made the shortcut ambiguous (Qt then runs neither).
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(self.redo)
        # Undo from any window of the app: the photo viewer and the review dialogs say "Edit → Undo
        # takes it back", and Ctrl+Z did nothing while they had the focus (a new user's walkthrough).
        # A text field still takes Ctrl+Z for its own text first (Qt's shortcut override).
        for action in (self.undo_action, self.redo_action):
            action.setShortcutContext(Qt.ApplicationShortcut)
        self.changed.connect(self.refresh)
        self.refresh()

    # --- undo / redo ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Names Undo and Redo after the log's next decision each way (or disables them)."""
        undo, redo = self.review.undo_label(), self.review.redo_label()
        self.undo_action.setEnabled(undo is not None)
        self.undo_action.setText(f"Undo {undo}" if undo else "Undo")
        self.redo_action.setEnabled(redo is not None)
        self.redo_action.setText(f"Redo {redo}" if redo else "Redo")

    def undo(self) -> None:
        done = self.review.undo()
        if done is not None:
            self.changed.emit()
            self.status.emit(f"Undone: {self.review.describe(*done)}.")

    def redo(self) -> None:
        done = self.review.redo()
        if done is not None:
            self.changed.emit()
            self.status.emit(f"Redone: {self.review.describe(*done)}.")

    def _push(self, text: str, apply: Callable[[], object], said: str | None = None):
        """Runs one Review call; `said` (or "TEXT: done.") goes to the status bar after it."""
        try:
            result = apply()
        finally:
            self.changed.emit()
        self.status.emit(f"{said or text + ': done.'} Edit → Undo (Ctrl+Z) takes it back.")
        return result

    def _run(self, text: str, apply: Callable[[], object], said: str | None = None):
        """_push, showing a core error as a message instead of raising."""
        try:
            return self._push(text, apply, said)
        except NameTaken:
            raise
        except PhotofaceError as exc:
            prompts.show_error(self.parent_widget, text, str(exc))
            return None

    # --- actions -------------------------------------------------------------------------------

    def confirm(self, face_ids: list[int], person_id: int):
        return self._run("Confirm", lambda: self.review.confirm(face_ids, person_id),
                         f"Confirmed {_faces(face_ids)}.")

    def reject(self, face_ids: list[int], person_id: int):
        return self._run("Not This Person", lambda: self.review.reject(face_ids, person_id),
                         f"{_faces(face_ids).capitalize()} taken out of this person (now in Unsorted faces "
                         f"unless confirmed elsewhere).")

    def move(self, face_ids: list[int], person_id: int):
        known = person_name_and_size(self.library, person_id)
        to = (known[0] or f"an album without a name ({plural(known[1], 'face')})") if known else "a person"
        return self._run("Move", lambda: self.review.move(face_ids, person_id), f"Moved {_faces(face_ids)} to {to}.")

    def merge(self, sources: list[int], target: int):
        return self._run("Merge", lambda: self.review.merge(sources, target),
                         "Merged: every face both albums showed is now accepted for this person.")

    def hide(self, person_ids: int | list[int], hidden: bool = True):
        """Hides (or shows) one or several persons: one decision, one undo step."""
        return self._run("Hide" if hidden else "Show", lambda: self.review.set_hidden(person_ids, hidden))

    def set_cover(self, person_id: int, face_id: int):
        return self._run("Set Cover", lambda: self.review.set_cover(person_id, face_id))

    def not_a_face(self, face_ids: list[int]):
        return self._run("Not a Face", lambda: self.review.not_a_face(face_ids))

    def dismiss_background(self, face_ids: list[int]):
        """"Not interesting" (not "not a face"): the background faces among these leave Unsorted."""
        return self._run("Dismiss Background Faces", lambda: self.review.dismiss_background(face_ids),
                         f"Dismissed {_faces(face_ids)} in the background (Show dismissed lists them).")

    def restore_dismissed(self, face_ids: list[int]):
        return self._run("Restore Dismissed Faces", lambda: self.review.restore_dismissed(face_ids),
                         f"Restored {_faces(face_ids)} to Unsorted.")

    def not_same(self, a: int, b: int):
        return self._run("Not the Same", lambda: self.review.not_same_person(a, b))

    def forget(self, person_id: int):
        return self._run("Forget Person", lambda: self.review.forget_person(person_id))

    def _refused_placeholder(self, name: str | None) -> bool:
        """Whether `name` is the window's word for albums without a name (then says so): a person
        called "Unnamed" would look exactly like them (a new user's walkthrough made one by typing
        it in Move to…)."""
        said = " ".join((name or "").split()).casefold()
        if said != UNNAMED.casefold() and not said.startswith(f"{UNNAMED} album of".casefold()):
            return False
        self.status.emit(f"“{UNNAMED}” is how albums without a name are shown, so it cannot be a name. To put "
                         "faces in such an album, pick it in Move to…'s list or drag the faces onto it.")
        return True

    def rename(self, person_id: int, name: str | None) -> bool:
        """Renames; a name another person has leads to "Merge with X?". Returns whether done."""
        if self._refused_placeholder(name):
            return False
        said = (f"Named {name.strip()}: the faces the album showed are accepted; confirm or take out any of them."
                if name and name.strip() else "Name removed.")
        try:
            self._push("Rename", lambda: self.review.rename(person_id, name), said)
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
        if self._refused_placeholder(name):
            return None
        try:
            return self._push("New Person", lambda: self.review.split(face_ids, name or None))
        except NameTaken as taken:
            self.move(face_ids, taken.person_id)
            return taken.person_id
        except PhotofaceError as exc:
            prompts.show_error(self.parent_widget, "New person", str(exc))
            return None

    def move_to_name(self, face_ids: list[int], name: str) -> int | None:
        """Moves faces to the person called `name`, creating that person if new (one undo step)."""
        name = " ".join(name.split())
        if not name:
            return None
        if self._refused_placeholder(name):
            return None
        by_name = {n.casefold(): pid for pid, n in person_names(self.library)}
        pid = by_name.get(name.casefold())
        if pid is not None:
            self.move(face_ids, pid)
            return pid
        # A new person of these faces, rejected from where they were: a move to a new name.
        return self._run("New Person", lambda: self.review.split(face_ids, name))

    def name_face(self, face_id: int, current_person: int | None, name: str) -> int | None:
        """One face is the person called `name` (one undo step): a confirm when it is in no person
        or already in that one, a move when it leaves another, a new person when the name is new.
        Returns the person's id."""
        name = " ".join(name.split())
        if not name:
            return None
        pid, known = next(((i, n) for i, n in person_names(self.library) if n.casefold() == name.casefold()),
                          (None, None))
        if pid is not None and current_person in (None, pid):
            return pid if self._run("Confirm", lambda: self.review.confirm([face_id], pid),
                                    f"Confirmed: this face is {known}.") is not None else None
        return self.move_to_name([face_id], name)

    def ask_move(self, face_ids: list[int], suggested: str = "") -> int | None:
        """"Move to…": asks for a person's name, completing over the named persons and the albums
        without a name ("Unnamed album of 37 faces", as the People view counts them); the field
        starts with `suggested` (a hint's name)."""
        if not face_ids:
            return None
        unnamed = unnamed_album_labels(self.library)
        names = [n for _, n in person_names(self.library)] + list(unnamed)
        name = prompts.ask_text(self.parent_widget, "Move to…",
                                f"Move {_faces(face_ids)} to (a name, or an album without one from the "
                                "list; a new name makes a new person):", names, suggested)
        if not name:
            return None
        album = {label.casefold(): pid for label, pid in unnamed.items()}.get(" ".join(name.split()).casefold())
        if album is None:
            return self.move_to_name(face_ids, name)
        return album if self.move(face_ids, album) is not None else None

    def ask_split(self, face_ids: list[int]) -> int | None:
        if not face_ids:
            return None
        names = [n for _, n in person_names(self.library)]
        name = prompts.ask_text(self.parent_widget, "New person from selection",
                                "Name (optional):", names)
        if name is None:
            return None
        return self.split(face_ids, name or None)
