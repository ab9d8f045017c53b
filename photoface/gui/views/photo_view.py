"""The whole photo with every face box drawn and labelled: click a box to name it (face_namer),
draw a box to add a missed face (named the same way once it exists), arrows step through the
photos of the list it was opened from, Esc closes."""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (QAction, QColor, QDesktopServices, QFontMetrics, QImage, QKeySequence, QPainter,
                           QPen, QPixmap)
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QRubberBand, QSizePolicy,
                               QVBoxLayout, QWidget)

from photoface.core.albums.hints import best_matches
from photoface.core.library.people import person_names, photo_faces
from photoface.core.text import plural
from photoface.gui.photo_thumbs import read_photo
from photoface.gui import prompts
from photoface.gui.context import Context
from photoface.gui.delegates import CONFIRMED, REJECTED, SUGGESTED
from photoface.gui.views.face_namer import FaceNamer
from photoface.gui.views.shortcuts_sheet import SCOPE
from photoface.gui.workers import ThreadJob

MAX_SIDE_PX = 2560  # decoded photos are shrunk to this: sharp on big screens, light to draw


def _load_photo(lib, photo_id: int) -> dict:
    """Runs in a worker: the photo as a QImage (EXIF-oriented, at most MAX_SIDE_PX), its faces, the
    named person each face in no named album resembles (hints), and every name (to complete)."""
    paths = lib.photo_paths(photo_id)
    faces = photo_faces(lib, photo_id)
    unnamed = [f.id for f in faces if f.state != "not_face" and (f.person_name is None or f.state == "undecided")]
    hints = {fid: h.name for fid, h in best_matches(lib, unnamed).items()}
    names = [n for _, n in person_names(lib)]
    image, size, error = QImage(), None, None
    for path in paths:
        try:
            image = read_photo(path)
        except Exception as exc:  # noqa: BLE001 - shown as text in the dialog
            error = str(exc)
            continue
        size = (image.width(), image.height())
        if max(size) > MAX_SIDE_PX:
            image = image.scaled(MAX_SIDE_PX, MAX_SIDE_PX, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        break
    if image.isNull() and error is None:
        error = "no file of this photo is on disk" if not paths else "the photo could not be decoded"
    return {"image": image, "size": size, "faces": faces, "paths": paths, "error": error, "hints": hints,
            "names": names}


class PhotoCanvas(QWidget):
    """Draws the photo fitted into the widget, the face boxes, and a rubber band in add mode.

    Attributes:
        box_drawn -- emitted with (x, y, w, h) in original photo pixels when a box is drawn.
        face_clicked -- emitted with a face id when its box is clicked (outside add mode).
        hints -- face id -> the name of the person it most resembles ("maybe Ann?").
    """

    box_drawn = Signal(tuple)
    face_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.original_size = (1, 1)
        self.faces: list = []
        self.hints: dict[int, str] = {}
        self.highlight: int | None = None
        self.adding = False
        self.message = "Loading…"
        self._band = QRubberBand(QRubberBand.Rectangle, self)
        self._origin = QPoint()
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:
        return QSize(900, 650)

    def _target(self) -> QRectF:
        if self.pixmap is None:
            return QRectF()
        pw = self.pixmap.width() / self.pixmap.devicePixelRatio()
        ph = self.pixmap.height() / self.pixmap.devicePixelRatio()
        s = min(self.width() / pw, self.height() / ph)
        w, h = pw * s, ph * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def _to_widget(self, box) -> QRectF:
        t = self._target()
        sx, sy = t.width() / self.original_size[0], t.height() / self.original_size[1]
        return QRectF(t.x() + box.x * sx, t.y() + box.y * sy, box.w * sx, box.h * sy)

    def face_rect(self, face_id: int) -> QRect | None:
        """Where a face's box is drawn, in widget pixels (None: not on this photo)."""
        face = next((f for f in self.faces if f.id == face_id), None)
        return self._to_widget(face.box).toAlignedRect() if face is not None and self.pixmap is not None else None

    def face_at(self, pos) -> int | None:
        """The face whose box holds `pos` (the smallest, where boxes overlap)."""
        if self.pixmap is None:
            return None
        hits = [(f.box.w * f.box.h, f.id) for f in self.faces if self._to_widget(f.box).contains(pos)]
        return min(hits)[1] if hits else None

    def widget_rect_to_photo(self, r: QRect) -> tuple[int, int, int, int]:
        t = self._target()
        sx, sy = self.original_size[0] / t.width(), self.original_size[1] / t.height()
        x0 = max(0.0, (r.left() - t.x()) * sx)
        y0 = max(0.0, (r.top() - t.y()) * sy)
        x1 = min(float(self.original_size[0]), (r.right() - t.x()) * sx)
        y1 = min(float(self.original_size[1]), (r.bottom() - t.y()) * sy)
        return int(x0), int(y0), max(1, int(x1 - x0)), max(1, int(y1 - y0))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        if self.pixmap is None:
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.message)
            return
        p.drawPixmap(self._target(), self.pixmap, QRectF(self.pixmap.rect()))
        fm = QFontMetrics(self.font())
        for f in self.faces:
            r = self._to_widget(f.box)
            colour = {"confirmed": CONFIRMED, "accepted": CONFIRMED, "suggested": SUGGESTED,
                      "not_face": REJECTED}.get(f.state, QColor("#3a7bd5"))
            width = 4 if f.id == self.highlight else 2
            p.setPen(QPen(QColor(0, 0, 0, 160), width + 2))
            p.setBrush(Qt.NoBrush)
            p.drawRect(r)
            p.setPen(QPen(colour, width, Qt.DashLine if f.state == "suggested" else Qt.SolidLine))
            p.drawRect(r)
            label = f.person_name or {"not_face": "not a face", "suggested": "Unnamed?"}.get(f.state, "Unknown")
            if f.state == "suggested" and f.person_name:
                label += "?"
            if f.id in self.hints and (f.state == "undecided" or not f.person_name):
                label = f"maybe {self.hints[f.id]}?"
            tw = fm.horizontalAdvance(label) + 10
            tag = QRectF(r.x(), max(0.0, r.y() - fm.height() - 4), tw, fm.height() + 4)
            p.fillRect(tag, colour)
            p.setPen(QColor("white"))
            p.drawText(tag, Qt.AlignCenter, label)

    def mousePressEvent(self, event) -> None:
        if self.adding and event.button() == Qt.LeftButton:
            self._origin = event.position().toPoint()
            self._band.setGeometry(QRect(self._origin, QSize()))
            self._band.show()
        elif event.button() == Qt.LeftButton and (face_id := self.face_at(event.position())) is not None:
            self.face_clicked.emit(face_id)
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._band.isVisible():
            self._band.setGeometry(QRect(self._origin, event.position().toPoint()).normalized())
        elif not self.adding:  # a box is a button: clicking it names the face
            over = self.face_at(event.position()) is not None
            self.setCursor(Qt.PointingHandCursor if over else Qt.ArrowCursor)

    def mouseReleaseEvent(self, event) -> None:
        if self._band.isVisible():
            self._band.hide()
            r = self._band.geometry()
            if r.width() >= 8 and r.height() >= 8 and self.pixmap is not None:
                self.box_drawn.emit(self.widget_rect_to_photo(r))


class PhotoDialog(QDialog):
    """A photo with its faces. Non-modal; the window keeps one and reuses it.

    Attributes:
        photo_id -- the photo shown; canvas -- the PhotoCanvas; namer -- the FaceNamer over it.
        sequence -- the (photo id, face id) pairs Previous / Next (Left / Right) step through.
        names -- every person's name, as of the last load (the namer completes over them).
    """

    loaded = Signal()

    def __init__(self, ctx: Context, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.photo_id: int | None = None
        self.paths: list[str] = []
        self.sequence: list[tuple[int, int | None]] = []
        self.names: list[str] = []
        self.loading = False
        self._generation = 0
        self._name_when_loaded: int | None = None  # a face just added: its namer opens on arrival
        self.setWindowTitle("Photo")
        layout = QVBoxLayout(self)
        self.canvas = PhotoCanvas()
        self.canvas.box_drawn.connect(self._box_drawn)
        self.canvas.face_clicked.connect(self.name_face)
        self.namer = FaceNamer(ctx.actions, self.canvas)
        layout.addWidget(self.canvas, 1)
        self.caption = QLabel()
        self.caption.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        bar = QHBoxLayout()
        self.prev_button = QPushButton("◀ &Previous")
        self.prev_button.setToolTip("The previous photo of this list (Left)")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.position = QLabel()
        self.next_button = QPushButton("&Next ▶")
        self.next_button.setToolTip("The next photo of this list (Right)")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.add_button = QPushButton("&Add a missed face")
        self.add_button.setCheckable(True)
        self.add_button.setToolTip("Then drag a box around the face on the photo")
        self.add_button.toggled.connect(self._adding)
        self.open_button = QPushButton("&Open in default viewer")
        self.open_button.clicked.connect(self.open_external)
        self.folder_button = QPushButton("Show in &folder")
        self.folder_button.clicked.connect(self.show_in_folder)
        close = QPushButton("Close")
        close.setToolTip("Close the photo (Esc)")
        close.clicked.connect(self.close)
        for b in (self.prev_button, self.position, self.next_button, self.add_button, self.open_button,
                  self.folder_button):
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(close)
        for b in (self.prev_button, self.next_button, self.add_button, self.open_button, self.folder_button, close):
            b.setAutoDefault(False)  # Enter in the name field must not press one of these
        layout.addLayout(bar)
        # Shortcuts, not key events: the buttons eat Left/Right to move focus, and the name field
        # keeps them (it accepts the shortcut override), so the arrows edit a name while typing.
        for key, delta, text in ((Qt.Key_Left, -1, "Previous photo"), (Qt.Key_Right, 1, "Next photo")):
            act = QAction(text, self)
            act.setProperty(SCOPE, "Photo viewer")  # the shortcut sheet's "Where"
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda checked=False, d=delta: self.step(d))
            self.addAction(act)
        self.resize(980, 760)

    def show_photo(self, photo_id: int, face_id: int | None = None,
                   sequence: list[tuple[int, int | None]] | None = None) -> None:
        """Shows a photo; `sequence` (None: keep the current one if it holds the photo) is the list
        the arrows step through."""
        if sequence is not None:
            self.sequence = [(int(p), f) for p, f in sequence]
        if not any(p == photo_id for p, _ in self.sequence):
            self.sequence = [(photo_id, face_id)]
        self.photo_id = photo_id
        self.canvas.highlight = face_id
        self.namer.close_namer()
        if self.canvas.pixmap is None or photo_id != getattr(self, "_shown", None):
            self.canvas.pixmap = None
            self.canvas.message = "Loading…"
            self.canvas.update()
        self._update_steps()
        self.reload()

    def _index(self) -> int:
        return next((i for i, (p, _) in enumerate(self.sequence) if p == self.photo_id), 0)

    def _update_steps(self) -> None:
        i, n = self._index(), len(self.sequence)
        self.prev_button.setEnabled(i > 0)
        self.next_button.setEnabled(i < n - 1)
        self.position.setText(f"{i + 1} of {n}" if n > 1 else "")

    def step(self, delta: int) -> None:
        """Shows the photo `delta` places on in the sequence (no wrap)."""
        i = self._index() + delta
        if 0 <= i < len(self.sequence) and self.sequence[i][0] != self.photo_id:
            self.show_photo(*self.sequence[i])

    def reload(self) -> None:
        if self.photo_id is None:
            return
        self._generation += 1
        gen, pid = self._generation, self.photo_id
        self.loading = True
        job = ThreadJob(self.ctx.lib_dir, lambda lib: _load_photo(lib, pid), owner=self)
        job.signals.finished.connect(lambda data: self._arrived(gen, pid, data))
        job.signals.failed.connect(lambda k, m, d: self._arrived(gen, pid, {"error": m, "faces": [], "paths": [],
                                                                            "image": QImage(), "size": None}))
        job.start()

    def _arrived(self, gen: int, photo_id: int, data: dict) -> None:
        if gen != self._generation:
            return
        self.loading = False
        self._shown = photo_id
        self.paths = data["paths"]
        self.names = data.get("names", self.names)
        image: QImage = data["image"]
        if image.isNull():
            self.canvas.pixmap = None
            self.canvas.message = data["error"] or "The photo could not be shown."
        else:
            pm = QPixmap.fromImage(image)
            self.canvas.pixmap = pm
            self.canvas.original_size = data["size"]
        self.canvas.faces = data["faces"]
        self.canvas.hints = data.get("hints", {})
        self.canvas.update()
        path = self.paths[0] if self.paths else "(not on disk)"
        named = sorted({f.person_name for f in data["faces"] if f.person_name})
        n = len(data["faces"])
        self.caption.setText(f"{path}\n{plural(n, 'face')}" + (f": {', '.join(named)}" if named else "")
                             + (" · click a box to name the face" if n else ""))
        self.setWindowTitle(os.path.basename(path))
        self.open_button.setEnabled(bool(self.paths))
        self.folder_button.setEnabled(bool(self.paths))
        self.add_button.setEnabled(not image.isNull())
        self._place_namer()  # a reload while typing (another change): the field stays on its face
        pending, self._name_when_loaded = self._name_when_loaded, None
        if pending is not None:
            self.name_face(pending)
        self.loaded.emit()

    def name_face(self, face_id: int) -> None:
        """Opens the name field on a face's box."""
        face = next((f for f in self.canvas.faces if f.id == face_id), None)
        rect = self.canvas.face_rect(face_id)
        if face is None or rect is None:
            return
        self.canvas.highlight = face_id
        self.canvas.update()
        self.namer.open_on(face, self.names, rect, self.canvas.hints.get(face_id))

    def _place_namer(self) -> None:
        """Keeps an open name field on its face's box, or closes it when the face is gone."""
        if self.namer.face is None:
            return
        rect = self.canvas.face_rect(self.namer.face.id)
        if rect is None:
            self.namer.close_namer()
        else:
            self.namer.place(rect)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self._place_namer)  # after the layout gave the canvas its new size

    def _adding(self, on: bool) -> None:
        self.canvas.adding = on
        self.canvas.setCursor(Qt.CrossCursor if on else Qt.ArrowCursor)
        if on:
            self.namer.close_namer()

    def _box_drawn(self, box: tuple) -> None:
        self.add_button.setChecked(False)
        if self.photo_id is None:
            return
        photo_id = self.photo_id
        job = self.ctx.add_manual_face(photo_id, box)
        if job is not None:
            job.finished.connect(lambda result: self._face_added(photo_id, result))

    def _face_added(self, photo_id: int, result: dict) -> None:
        """A drawn box became a face: reload, and open its name field (if this photo still shows)."""
        face_id = result.get("face_id")
        if face_id is not None and photo_id == self.photo_id and self.isVisible():
            self._name_when_loaded = int(face_id)
            self.reload()

    def open_external(self) -> None:
        if self.paths:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.paths[0]))

    def show_in_folder(self) -> None:
        if self.paths:
            if not QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(self.paths[0]))):
                prompts.show_error(self, "Show in folder", f"Could not open {os.path.dirname(self.paths[0])}")
