"""“Is this NAME?”: a person's most likely faces, a page at a time, answered Yes or No.

Keyboard (views/review_keys): arrows move, Y / N answer the current face, S skips it, A says yes
to every unanswered face of the page, Enter (or Space) goes to the next page, Esc closes.
Yes = confirm, No = reject.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from photoface.core.albums import update as cluster
from photoface.core.library.people import FaceInfo, faces_by_id, list_people
from photoface.gui.context import Context
from photoface.gui.item_models import FacesModel
from photoface.gui.views.grids import Grid
from photoface.gui.views.loading import LoadsInBackground
from photoface.gui.views.review_keys import review_command

PAGE = 12
#: Notes on the suggested faces that are not in the person's album yet (`_load_suggestions`).
FROM_UNSORTED = "from Unsorted"
FROM_ALBUM = "from another album"


def _load_suggestions(lib, person_id: int) -> tuple[list[FaceInfo], dict[int, str]]:
    """The person's suggestions as FaceInfo rows, best first, and {face id: FROM_UNSORTED or
    FROM_ALBUM} for those not in the person's album (every suggestion the core ranks is shown:
    faces of other albums too, as benchmarks/effort.py's user answers them)."""
    ranked = cluster.person_suggestions(lib, person_id, limit=60)
    infos = {f.id: f for f in faces_by_id(lib, [fid for fid, _ in ranked])}
    faces = [infos[fid] for fid, _ in ranked if fid in infos]
    shown = {p.id for p in list_people(lib, include_hidden=True)}
    notes = {f.id: FROM_ALBUM if f.person_id in shown else FROM_UNSORTED
             for f in faces if f.person_id != person_id}
    return faces, notes


class ReviewDialog(LoadsInBackground, QDialog):
    """Attributes:
        faces -- every suggestion (FaceInfo), best first; page -- the page shown (0-based).
        model -- the FacesModel of the page; marks in model.marks ("yes"/"no").
    """

    loaded = Signal()

    def __init__(self, ctx: Context, person_id: int, name: str, parent=None):
        super().__init__(parent)
        self.ctx, self.person_id, self.name = ctx, person_id, name
        self.faces: list[FaceInfo] = []
        self.notes: dict[int, str] = {}  # face id -> where a face not in the album comes from
        self.page = 0
        self.setWindowTitle(f"Is this {name}?")
        layout = QVBoxLayout(self)
        self.title = QLabel(f"<h2>Is this {name}?</h2>")
        layout.addWidget(self.title)
        self.help = QLabel("Y = yes, N = no, S = skip, A = yes to all on this page, Enter = next page, "
                           f"arrows move. Faces marked “{FROM_UNSORTED}” or “{FROM_ALBUM}” are not in "
                           f"{name}'s album yet.")
        self.help.setWordWrap(True)
        layout.addWidget(self.help)
        self.model = FacesModel(self)
        self.grid = Grid(ctx.thumbs, "face", 120, self)
        self.grid.setDragEnabled(False)
        self.grid.setModel(self.model)
        self.grid.delegate.marks = self.model.marks
        self.grid.setMinimumSize(4 * 142 + 30, 3 * 140 + 20)
        self.grid.installEventFilter(self)  # Y/N/A/Enter reach the dialog, not the grid's type-ahead
        layout.addWidget(self.grid, 1)
        bar = QHBoxLayout()
        self.yes_button = QPushButton("&Yes")
        self.yes_button.clicked.connect(lambda: self.answer_current(True))
        self.no_button = QPushButton("&No")
        self.no_button.clicked.connect(lambda: self.answer_current(False))
        self.skip_button = QPushButton("&Skip")
        self.skip_button.clicked.connect(self.skip_current)
        self.all_button = QPushButton("Yes to &all on this page")
        self.all_button.clicked.connect(self.yes_to_page)
        self.next_button = QPushButton("Next page →")
        self.next_button.clicked.connect(self.next_page)
        self.status = QLabel()
        for w in (self.yes_button, self.no_button, self.skip_button, self.all_button):
            w.setFocusPolicy(Qt.NoFocus)  # the grid keeps the keyboard
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.status)
        bar.addWidget(self.next_button)
        self.next_button.setFocusPolicy(Qt.NoFocus)
        close = QPushButton("Close")
        close.setToolTip("Stop reviewing; every answer so far is kept (Esc)")
        close.setFocusPolicy(Qt.NoFocus)
        close.clicked.connect(self.reject)
        bar.addWidget(close)
        layout.addLayout(bar)
        self.start_loading(ctx.lib_dir, lambda lib: _load_suggestions(lib, person_id))

    def _arrived(self, loaded: tuple[list[FaceInfo], dict[int, str]]) -> None:
        self.faces, self.notes = loaded
        self.page = 0
        self._show_page()
        self.loaded.emit()

    def page_faces(self) -> list[FaceInfo]:
        return self.faces[self.page * PAGE:(self.page + 1) * PAGE]

    def _show_page(self) -> None:
        faces = self.page_faces()
        self.model.set_items(faces)
        self.grid.delegate.marks = self.model.marks
        # The person's own faces and faces from outside look alike; A takes them all, so say which
        # come from outside (a new user's walkthrough could not tell them apart).
        self.grid.delegate.notes = {f.id: self.notes[f.id] for f in faces if f.id in self.notes}
        pages = max(1, -(-len(self.faces) // PAGE))
        if not faces:
            self.status.setText("No more suggestions." if self.faces else "No suggestions for this person.")
        else:
            self.status.setText(f"Page {self.page + 1} of {pages}")
            self.grid.setCurrentIndex(self.model.index(0))
        self.grid.setFocus()
        for b in (self.yes_button, self.no_button, self.skip_button, self.all_button):
            b.setEnabled(bool(faces))
        self.next_button.setText("Next page →" if self.page + 1 < pages else "Done")

    def _current(self) -> FaceInfo | None:
        idx = self.grid.currentIndex()
        return self.model.items[idx.row()] if idx.isValid() else None

    def answer(self, face: FaceInfo, yes: bool) -> None:
        if self.model.marks.get(face.id) == ("yes" if yes else "no"):
            return
        if yes:
            self.ctx.actions.confirm([face.id], self.person_id)
        else:
            self.ctx.actions.reject([face.id], self.person_id)
        self.model.set_mark(face.id, "yes" if yes else "no")

    def answer_current(self, yes: bool) -> None:
        face = self._current()
        if face is None:
            return
        self.answer(face, yes)
        self.skip_current()

    def skip_current(self) -> None:
        """Leaves the current face unanswered and moves on to the next one."""
        row = self.grid.currentIndex().row()
        if 0 <= row and row + 1 < self.model.rowCount():
            self.grid.setCurrentIndex(self.model.index(row + 1))

    def yes_to_page(self) -> None:
        todo = [f.id for f in self.page_faces() if f.id not in self.model.marks]
        if todo:
            self.ctx.actions.confirm(todo, self.person_id)
            for fid in todo:
                self.model.set_mark(fid, "yes")

    def next_page(self) -> None:
        if (self.page + 1) * PAGE >= len(self.faces):
            self.accept()
            return
        self.page += 1
        self._show_page()

    def _command(self, command: str | None) -> bool:
        if command is None:
            return False
        {"yes": lambda: self.answer_current(True), "no": lambda: self.answer_current(False),
         "skip": self.skip_current, "all": self.yes_to_page, "next": self.next_page}[command]()
        return True

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.KeyPress:
            return self._command(review_command(event))
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:
        if not self._command(review_command(event)):
            super().keyPressEvent(event)
