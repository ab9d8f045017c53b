"""The whole photo with every face box drawn and labelled; draw a box to add a missed face."""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QFontMetrics, QImage, QImageReader, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QRubberBand, QSizePolicy,
                               QVBoxLayout, QWidget)

from photoface.core.text import plural
from photoface.core.library.people import photo_faces
from photoface.gui import prompts
from photoface.gui.context import Context
from photoface.gui.delegates import CONFIRMED, REJECTED, SUGGESTED
from photoface.gui.workers import ThreadJob

MAX_SIDE_PX = 2560  # decoded photos are shrunk to this: sharp on big screens, light to draw


def _load_photo(lib, photo_id: int) -> dict:
    """Runs in a worker: the photo as a QImage (EXIF-oriented, at most MAX_SIDE_PX), its faces."""
    paths = lib.photo_paths(photo_id)
    faces = photo_faces(lib, photo_id)
    image, size, error = QImage(), None, None
    for path in paths:
        reader = QImageReader(path)
        reader.setAutoTransform(True)  # boxes are in EXIF-corrected pixels
        image = reader.read()
        if image.isNull():  # e.g. HEIC: the core's decoder knows more formats
            try:
                from photoface.core.faces.imaging import load_image

                rgb = load_image(path).rgb
                h, w = rgb.shape[:2]
                image = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()
            except Exception as exc:  # noqa: BLE001 - shown as text in the dialog
                error = str(exc)
                continue
        size = (image.width(), image.height())
        if max(size) > MAX_SIDE_PX:
            image = image.scaled(MAX_SIDE_PX, MAX_SIDE_PX, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        break
    if image.isNull() and error is None:
        error = "no file of this photo is on disk" if not paths else "the photo could not be decoded"
    return {"image": image, "size": size, "faces": faces, "paths": paths, "error": error}


class PhotoCanvas(QWidget):
    """Draws the photo fitted into the widget, the face boxes, and a rubber band in add mode.

    Attributes:
        box_drawn -- emitted with (x, y, w, h) in original photo pixels when a box is drawn.
    """

    box_drawn = Signal(tuple)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.original_size = (1, 1)
        self.faces: list = []
        self.highlight: int | None = None
        self.adding = False
        self.message = "Loading…"
        self._band = QRubberBand(QRubberBand.Rectangle, self)
        self._origin = QPoint()
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.StrongFocus)

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
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._band.isVisible():
            self._band.setGeometry(QRect(self._origin, event.position().toPoint()).normalized())

    def mouseReleaseEvent(self, event) -> None:
        if self._band.isVisible():
            self._band.hide()
            r = self._band.geometry()
            if r.width() >= 8 and r.height() >= 8 and self.pixmap is not None:
                self.box_drawn.emit(self.widget_rect_to_photo(r))


class PhotoDialog(QDialog):
    """A photo with its faces. Non-modal; the window keeps one and reuses it.

    Attributes:
        photo_id -- the photo shown; canvas -- the PhotoCanvas.
    """

    loaded = Signal()

    def __init__(self, ctx: Context, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.photo_id: int | None = None
        self.paths: list[str] = []
        self.loading = False
        self._generation = 0
        self.setWindowTitle("Photo")
        layout = QVBoxLayout(self)
        self.canvas = PhotoCanvas()
        self.canvas.box_drawn.connect(self._box_drawn)
        layout.addWidget(self.canvas, 1)
        self.caption = QLabel()
        self.caption.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.caption)
        bar = QHBoxLayout()
        self.add_button = QPushButton("&Add a missed face")
        self.add_button.setCheckable(True)
        self.add_button.setToolTip("Then drag a box around the face on the photo")
        self.add_button.toggled.connect(self._adding)
        self.open_button = QPushButton("&Open in default viewer")
        self.open_button.clicked.connect(self.open_external)
        self.folder_button = QPushButton("Show in &folder")
        self.folder_button.clicked.connect(self.show_in_folder)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        for b in (self.add_button, self.open_button, self.folder_button):
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(close)
        layout.addLayout(bar)
        self.resize(980, 760)

    def show_photo(self, photo_id: int, face_id: int | None = None) -> None:
        self.photo_id = photo_id
        self.canvas.highlight = face_id
        if self.canvas.pixmap is None or photo_id != getattr(self, "_shown", None):
            self.canvas.pixmap = None
            self.canvas.message = "Loading…"
            self.canvas.update()
        self.reload()

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
        image: QImage = data["image"]
        if image.isNull():
            self.canvas.pixmap = None
            self.canvas.message = data["error"] or "The photo could not be shown."
        else:
            pm = QPixmap.fromImage(image)
            self.canvas.pixmap = pm
            self.canvas.original_size = data["size"]
        self.canvas.faces = data["faces"]
        self.canvas.update()
        path = self.paths[0] if self.paths else "(not on disk)"
        named = sorted({f.person_name for f in data["faces"] if f.person_name})
        self.caption.setText(f"{path}\n{plural(len(data['faces']), 'face')}" + (f": {', '.join(named)}" if named else ""))
        self.setWindowTitle(os.path.basename(path))
        self.open_button.setEnabled(bool(self.paths))
        self.folder_button.setEnabled(bool(self.paths))
        self.add_button.setEnabled(not image.isNull())
        self.loaded.emit()

    def _adding(self, on: bool) -> None:
        self.canvas.adding = on
        self.canvas.setCursor(Qt.CrossCursor if on else Qt.ArrowCursor)

    def _box_drawn(self, box: tuple) -> None:
        self.add_button.setChecked(False)
        if self.photo_id is not None:
            self.ctx.add_manual_face(self.photo_id, box)

    def open_external(self) -> None:
        if self.paths:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.paths[0]))

    def show_in_folder(self) -> None:
        if self.paths:
            if not QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(self.paths[0]))):
                prompts.show_error(self, "Show in folder", f"Could not open {os.path.dirname(self.paths[0])}")
