"""One person: inline rename, their faces (confirmed ✓ / suggested ?), their photos as a timeline
by month, "Is this NAME?" review, hide, forget."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCompleter, QLabel, QLineEdit, QPushButton, QTabWidget,
                               QVBoxLayout, QWidget)

from photoface.core.text import plural
from photoface.core.library.people import list_people, person_faces, person_names, person_photos
from photoface.gui import prompts
from photoface.gui.context import Context
from photoface.gui.views.faces_panel import FacesPanel
from photoface.gui.views.flow import FlowLayout
from photoface.gui.views.photo_list import PhotoRow
from photoface.gui.views.photo_timeline import PhotoTimeline
from photoface.gui.workers import ThreadJob


def _load_person(lib, person_id: int) -> dict:
    # The core has no single-person summary; list_people with no floor finds it.
    summary = next((p for p in list_people(lib, include_hidden=True, min_faces=0) if p.id == person_id), None)
    if summary is None:
        return {"summary": None}
    faces = person_faces(lib, person_id)
    face_of_photo = {}
    for f in faces:
        face_of_photo.setdefault(f.photo_id, f.id)
    photos = [PhotoRow(pid, taken, path, face_of_photo.get(pid)) for pid, taken, path in person_photos(lib, person_id)]
    return {"summary": summary, "faces": faces, "photos": photos,
            "names": [n for _, n in person_names(lib)]}


class PersonView(QWidget):
    """Attributes:
        person_id -- the person shown (None before the first open).
        summary -- its PersonSummary as of the last load.
        loaded -- emitted after each load; gone -- the person no longer exists (merged, forgotten).
    """

    loaded = Signal()
    gone = Signal()
    review_requested = Signal(int)
    back_requested = Signal()

    def __init__(self, ctx: Context, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.person_id: int | None = None
        self.summary = None
        self.loading = False
        self._generation = 0
        self._named: int | None = None  # the person whose name the field shows
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        # One wrapping row: at a narrow window the buttons move under the name, not off screen.
        head = FlowLayout()
        back = QPushButton("← People")
        back.setToolTip("Back to People (Esc, Alt+Left, Backspace)")
        back.clicked.connect(self.back_requested)
        head.addWidget(back)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Unnamed: type a name, Enter")
        font = self.name_edit.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.name_edit.setFont(font)
        self.name_edit.setMinimumWidth(300)
        self.name_edit.returnPressed.connect(self.commit_name)
        self._completer = QCompleter([], self.name_edit)
        self._completer.setCaseSensitivity(Qt.CaseInsensitive)
        self.name_edit.setCompleter(self._completer)
        head.addWidget(self.name_edit)
        self.info = QLabel()
        head.addWidget(self.info)
        self.review_button = QPushButton("Is this…? &Review suggestions")
        self.review_button.clicked.connect(lambda: self.person_id and self.review_requested.emit(self.person_id))
        self.hide_button = QPushButton("&Hide")
        self.hide_button.clicked.connect(self.toggle_hidden)
        self.forget_button = QPushButton("&Forget this person")
        self.forget_button.setToolTip("Remove this person; their faces go back to Unsorted (undoable)")
        self.forget_button.clicked.connect(self.forget)
        for b in (self.review_button, self.hide_button, self.forget_button):
            head.addWidget(b)
        layout.addLayout(head)
        self.tabs = QTabWidget()
        self.faces = FacesPanel(ctx)
        self.photos = PhotoTimeline(ctx.photo_thumbs)
        self.photos.open_photo.connect(lambda pid, fid: ctx.open_photo(pid, fid, self.photos.sequence()))
        self.tabs.addTab(self.faces, "Faces")
        self.tabs.addTab(self.photos, "Photos")
        layout.addWidget(self.tabs, 1)

    def show_person(self, person_id: int) -> None:
        if person_id != self.person_id:
            self._named = None
            self.person_id = person_id
            self.faces.model.set_items([])
            self.photos.set_rows([])
            self.name_edit.clear()
        self.reload()

    def reload(self) -> None:
        if self.person_id is None:
            return
        self._generation += 1
        gen, pid = self._generation, self.person_id
        self.loading = True
        job = ThreadJob(self.ctx.lib_dir, lambda lib: _load_person(lib, pid), owner=self)
        job.signals.finished.connect(lambda data: self._arrived(gen, data))
        job.signals.failed.connect(lambda k, m, d: self._failed(gen, m, d))
        job.start()

    def _failed(self, gen: int, message: str, details: str) -> None:
        if gen == self._generation:
            self.loading = False
            prompts.show_error(self, "Could not show this person", message, details)

    def _arrived(self, gen: int, data: dict) -> None:
        if gen != self._generation:
            return
        self.loading = False
        s = data["summary"]
        self.summary = s
        if s is None:
            self.gone.emit()
            return
        # Keep what the user is typing, but never show another person's (or no) name: after a
        # merge by renaming, the field kept the focus while a different person was opened.
        if not self.name_edit.hasFocus() or self.name_edit.text() == (s.name or "") or s.id != self._named:
            self.name_edit.setText(s.name or "")
        self._named = s.id
        self._completer.model().setStringList([n for n in data["names"] if n != s.name])
        self.info.setText(f"{plural(s.faces, 'face')} · {s.confirmed} confirmed · {plural(len(data['photos']), 'photo')}"
                          + (" · hidden" if s.hidden else ""))
        self.hide_button.setText("S&how in People" if s.hidden else "&Hide")
        self.review_button.setText(f"Is this {s.name}? &Review…" if s.name else "&Review suggestions…")
        self.faces.set_faces(s.id, data["faces"])
        self.photos.set_rows(data["photos"])
        self.loaded.emit()

    def commit_name(self) -> None:
        if self.summary is None:
            return
        name = self.name_edit.text().strip()
        if name == (self.summary.name or ""):
            return
        if not self.ctx.actions.rename(self.summary.id, name or None):
            self.name_edit.setText(self.summary.name or "")

    def toggle_hidden(self) -> None:
        if self.summary is not None:
            self.ctx.actions.hide(self.summary.id, not self.summary.hidden)

    def forget(self) -> None:
        if self.summary is None:
            return
        if prompts.ask_yes_no(self, "Forget this person",
                              f"Forget {self.summary.label}? Their {plural(self.summary.faces, 'face')} go back to "
                              "Unsorted. You can undo this."):
            self.ctx.actions.forget(self.summary.id)
