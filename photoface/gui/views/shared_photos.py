"""Photos together: the photos of several persons as a timeline, with all of them / any of them /
only them (no one else recognised) to choose from."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QRadioButton, QVBoxLayout

from photoface.core.library.people import list_people, person_faces, shared_photos
from photoface.gui.context import Context
from photoface.gui.views.photo_list import PhotoRow
from photoface.gui.views.photo_timeline import PhotoTimeline
from photoface.gui.workers import ThreadJob

MODES = [("all", "&All of them", "Photos in which every one of them appears"),
         ("any", "A&ny of them", "Photos in which at least one of them appears"),
         ("only", "&Only them", "Photos of all of them and no one else recognised (unknown faces may be there)")]


def _load(lib, person_ids: list[int], mode: str) -> dict:
    """Runs in a worker: the persons' names and the photos of `mode`, each with a face of one of them."""
    people = {p.id: p for p in list_people(lib, include_hidden=True, min_faces=0)}
    face_of_photo: dict[int, int] = {}
    for person_id in person_ids:  # the face to highlight: one of the first person's, if any
        for f in person_faces(lib, person_id):
            face_of_photo.setdefault(f.photo_id, f.id)
    rows = [PhotoRow(pid, taken, path, face_of_photo.get(pid))
            for pid, taken, path in shared_photos(lib, person_ids, mode)]
    return {"names": [people[i].label if i in people else "?" for i in person_ids], "rows": rows}


class SharedPhotosDialog(QDialog):
    """Photos of the given persons together (people.shared_photos), as a timeline.

    Attributes:
        mode -- "all", "any" or "only"; timeline -- the PhotoTimeline; loaded -- after each load.
    """

    loaded = Signal()

    def __init__(self, ctx: Context, person_ids: list[int], parent=None, mode: str = "all"):
        super().__init__(parent)
        self.ctx, self.person_ids, self.mode = ctx, list(person_ids), mode
        self.loading = False
        self._generation = 0
        self.names: list[str] = []
        self.setWindowTitle("Photos together")
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(QLabel("Show photos of:"))
        self.mode_buttons = QButtonGroup(self)
        for key, label, tip in MODES:
            b = QRadioButton(label)
            b.setToolTip(tip)
            b.setChecked(key == mode)
            b.toggled.connect(lambda on, k=key: on and self.set_mode(k))
            self.mode_buttons.addButton(b)
            row.addWidget(b)
            setattr(self, f"{key}_button", b)
        row.addStretch(1)
        layout.addLayout(row)
        self.timeline = PhotoTimeline(ctx.photo_thumbs)
        self.timeline.open_photo.connect(lambda pid, fid: ctx.open_photo(pid, fid, self.timeline.sequence()))
        layout.addWidget(self.timeline, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(820, 620)
        self.timeline.setFocus(Qt.OtherFocusReason)
        self.reload()

    def set_mode(self, mode: str) -> None:
        if mode != self.mode:
            self.mode = mode
            getattr(self, f"{mode}_button").setChecked(True)
            self.reload()

    def reload(self) -> None:
        self._generation += 1
        gen, ids, mode = self._generation, self.person_ids, self.mode
        self.loading = True
        job = ThreadJob(self.ctx.lib_dir, lambda lib: _load(lib, ids, mode), owner=self)
        job.signals.finished.connect(lambda data: self._arrived(gen, data))
        job.signals.failed.connect(lambda k, m, d: self._arrived(gen, {"names": self.names, "rows": [],
                                                                       "error": m}))
        job.start()

    def _arrived(self, gen: int, data: dict) -> None:
        if gen != self._generation:
            return
        self.loading = False
        self.names = data["names"]
        rows = data["rows"]
        who = _joined(self.names)
        n = len(rows)
        photos = f"{n} photo" + ("s" if n != 1 else "")
        if data.get("error"):
            text = f"Could not read the photos: {data['error']}"
        elif self.mode == "any":
            text = f"<b>{photos}</b> with {_joined(self.names, 'or')}" if n else f"No photo shows {who}."
        elif self.mode == "only":
            text = (f"<b>{photos}</b> of {who} and no one else recognised" if n else
                    f"No photo shows {who} without someone else recognised.")
        else:
            text = f"<b>{photos}</b> with {who} together" if n else f"No photo shows all of {who}."
        self.title.setText(text)
        self.timeline.set_rows(rows)
        self.loaded.emit()


def _joined(names: list[str], last: str = "and") -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {last} {names[-1]}"
