"""A list of photos (date taken, file), each shown by a face of it; Enter opens the photo."""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QAbstractListModel, QModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

from photoface.gui.thumbnails import ThumbnailCache


@dataclass(frozen=True)
class PhotoRow:
    photo_id: int
    taken_at: str | None
    path: str | None
    face_id: int | None  # a face of the photo to show as its icon


class PhotoListModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[PhotoRow] = []

    def set_rows(self, rows: list[PhotoRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        if role == Qt.DisplayRole:
            return f"{_date(r.taken_at)}  {os.path.basename(r.path or '')}"
        if role == Qt.ToolTipRole:
            return r.path or "not on disk"
        if role == Qt.UserRole:
            return r
        return None


def _date(taken_at: str | None) -> str:
    return (taken_at or "date unknown").replace("T", " ")[:16]


class _PhotoDelegate(QStyledItemDelegate):
    ICON = 56

    def __init__(self, cache: ThumbnailCache, parent=None):
        super().__init__(parent)
        self.cache = cache

    def sizeHint(self, option, index) -> QSize:
        return QSize(300, self.ICON + 10)

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.SmoothPixmapTransform)
        pal = option.palette
        selected = bool(option.state & QStyle.State_Selected)
        if selected:
            painter.fillRect(option.rect, pal.color(QPalette.Highlight))
        r: PhotoRow = index.data(Qt.UserRole)
        icon = QRectF(option.rect.x() + 6, option.rect.y() + 5, self.ICON, self.ICON)
        pm = self.cache.pixmap(r.face_id) if r.face_id is not None else None
        if pm is not None and not pm.isNull():
            painter.drawPixmap(icon, pm, QRectF(pm.rect()))
        else:
            painter.fillRect(icon, pal.color(QPalette.Mid))
        fm = QFontMetrics(option.font)
        x = icon.right() + 12
        w = option.rect.right() - x - 6
        colour = pal.color(QPalette.HighlightedText if selected else QPalette.Text)
        font = option.font
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(colour)
        name = os.path.basename(r.path) if r.path else "(not on disk)"
        painter.drawText(QRectF(x, icon.y() + 4, w, fm.height()), Qt.AlignLeft | Qt.AlignVCenter,
                         fm.elidedText(f"{_date(r.taken_at)} · {name}", Qt.ElideRight, int(w)))
        font.setBold(False)
        painter.setFont(font)
        sub = colour
        sub.setAlphaF(0.7)
        painter.setPen(sub)
        painter.drawText(QRectF(x, icon.y() + 6 + fm.height(), w, fm.height()), Qt.AlignLeft | Qt.AlignVCenter,
                         fm.elidedText(os.path.dirname(r.path or ""), Qt.ElideMiddle, int(w)))
        painter.restore()


class PhotoList(QListView):
    """Photos, one per row. `open_photo(photo_id, face_id)` is emitted on double-click/Enter."""

    open_photo = Signal(int, object)

    def __init__(self, cache: ThumbnailCache, parent=None):
        super().__init__(parent)
        self.model_ = PhotoListModel(self)
        self.setModel(self.model_)
        self.setItemDelegate(_PhotoDelegate(cache, self))
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        cache.loaded.connect(self.viewport().update)
        self.doubleClicked.connect(self._open)

    def set_rows(self, rows: list[PhotoRow]) -> None:
        self.model_.set_rows(rows)

    def _open(self, index) -> None:
        r: PhotoRow = index.data(Qt.UserRole)
        self.open_photo.emit(r.photo_id, r.face_id)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentIndex().isValid():
            self._open(self.currentIndex())
            return
        super().keyPressEvent(event)
