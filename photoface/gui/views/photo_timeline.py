"""Photos as a thumbnail grid grouped by month ("March 2019" … "Date unknown" last): a timeline.

One list model holds the month headers and the photos in order; the view lays them out left to
right, wrapping, and a header is as wide as the view, so each month starts a new line. Photo
thumbnails come lazily from a PhotoThumbnailCache (only what is painted is decoded).
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass

from PySide6.QtCore import QAbstractListModel, QModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

from photoface.gui.photo_thumbs import PhotoThumbnailCache
from photoface.gui.views.photo_list import PhotoRow

UNKNOWN = "Date unknown"


@dataclass(frozen=True)
class MonthHeader:
    title: str  # "March 2019" or "Date unknown"
    count: int  # photos under it


def month_title(taken_at: str | None) -> str:
    """ "March 2019" for an ISO date taken ("2019-03-05T10:00:00"), UNKNOWN for none or a bad one."""
    try:
        year, month = int(taken_at[:4]), int(taken_at[5:7])
        return f"{calendar.month_name[month]} {year}" if 1 <= month <= 12 else UNKNOWN
    except (TypeError, ValueError):
        return UNKNOWN


def timeline_rows(photos: list[PhotoRow]) -> list[MonthHeader | PhotoRow]:
    """Headers and photos: oldest month first, photos by date within it, "Date unknown" last."""
    dated = sorted((p for p in photos if month_title(p.taken_at) != UNKNOWN), key=lambda p: (p.taken_at, p.photo_id))
    undated = [p for p in photos if month_title(p.taken_at) == UNKNOWN]
    out: list[MonthHeader | PhotoRow] = []
    group: list[PhotoRow] = []
    title = None
    for p in dated + undated:
        t = month_title(p.taken_at)
        if t != title and group:
            out += [MonthHeader(title, len(group)), *group]
            group = []
        title = t
        group.append(p)
    if group:
        out += [MonthHeader(title, len(group)), *group]
    return out


class TimelineModel(QAbstractListModel):
    """Attributes: rows -- MonthHeader and PhotoRow items in display order."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[MonthHeader | PhotoRow] = []

    def set_photos(self, photos: list[PhotoRow]) -> None:
        self.beginResetModel()
        self.rows = timeline_rows(photos)
        self.endResetModel()

    def photos(self) -> list[PhotoRow]:
        return [r for r in self.rows if isinstance(r, PhotoRow)]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def flags(self, index):
        if index.isValid() and isinstance(self.rows[index.row()], MonthHeader):
            return Qt.ItemIsEnabled  # a header is not a photo: not selectable
        return super().flags(index)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        if role == Qt.UserRole:
            return r
        if isinstance(r, MonthHeader):
            return r.title if role in (Qt.DisplayRole, Qt.AccessibleTextRole) else None
        if role == Qt.DisplayRole:
            return os.path.basename(r.path or "")
        if role == Qt.ToolTipRole:
            return f"{r.path or 'not on disk'}\n{(r.taken_at or 'date unknown').replace('T', ' ')[:16]}"
        return None


class _TimelineDelegate(QStyledItemDelegate):
    GAP = 4

    def __init__(self, view: QListView, cache: PhotoThumbnailCache):
        super().__init__(view)
        self.view, self.cache = view, cache

    def sizeHint(self, option, index) -> QSize:
        r = index.data(Qt.UserRole)
        if isinstance(r, MonthHeader):
            # As wide as the view: the next month starts on a line of its own.
            width = self.view.viewport().width() - 2 * self.view.spacing() - 1
            return QSize(max(width, 100), QFontMetrics(self._bold(option.font)).height() * 2 + 8)
        side = self.cache.logical_px + 2 * self.GAP
        return QSize(side, side)

    @staticmethod
    def _bold(font: QFont) -> QFont:
        f = QFont(font)
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.25)
        return f

    def paint(self, painter: QPainter, option, index) -> None:
        r = index.data(Qt.UserRole)
        pal: QPalette = option.palette
        painter.save()
        if isinstance(r, MonthHeader):
            font = self._bold(option.font)
            painter.setFont(font)
            painter.setPen(pal.color(QPalette.Text))
            rect = QRectF(option.rect).adjusted(4, 0, -4, -4)
            fm = QFontMetrics(font)
            painter.drawText(rect, Qt.AlignLeft | Qt.AlignBottom, r.title)
            painter.setFont(option.font)
            sub = pal.color(QPalette.Text)
            sub.setAlphaF(0.6)
            painter.setPen(sub)
            painter.drawText(rect.adjusted(fm.horizontalAdvance(r.title) + 12, 0, 0, -2), Qt.AlignLeft | Qt.AlignBottom,
                             f"{r.count} photo" + ("s" if r.count != 1 else ""))
            painter.restore()
            return
        thumb = QRectF(option.rect).adjusted(self.GAP, self.GAP, -self.GAP, -self.GAP)
        pm = self.cache.pixmap(r.photo_id)
        if pm is not None and not pm.isNull():
            painter.drawPixmap(thumb, pm, QRectF(pm.rect()))
        else:
            painter.fillRect(thumb, pal.color(QPalette.Mid))
        if option.state & QStyle.State_Selected:
            painter.setPen(QPen(pal.color(QPalette.Highlight), 4))
            painter.drawRect(thumb.adjusted(2, 2, -2, -2))
        elif option.state & QStyle.State_HasFocus:
            painter.setPen(QPen(pal.color(QPalette.Highlight), 1.5, Qt.DotLine))
            painter.drawRect(thumb.adjusted(1, 1, -1, -1))
        painter.restore()


class PhotoTimeline(QListView):
    """Photos by month. `open_photo(photo_id, face_id)` is emitted on double-click or Enter;
    `sequence()` is every photo in order, for stepping through them in the photo viewer.

    Attributes:
        model_ -- the TimelineModel; cache -- the PhotoThumbnailCache it paints from.
    """

    open_photo = Signal(int, object)

    def __init__(self, cache: PhotoThumbnailCache, parent=None):
        super().__init__(parent)
        self.cache = cache
        self.model_ = TimelineModel(self)
        self.setModel(self.model_)
        self.setItemDelegate(_TimelineDelegate(self, cache))
        self.setViewMode(QListView.ListMode)
        self.setFlow(QListView.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setLayoutMode(QListView.Batched)
        self.setBatchSize(500)
        self.setUniformItemSizes(False)
        self.setSpacing(0)
        # Always there: a scroll bar that comes and goes changes the width headers take, which
        # lays the list out again, which can make the bar go again.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(32)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        cache.loaded.connect(self.viewport().update)
        self.doubleClicked.connect(self._open)

    def set_rows(self, rows: list[PhotoRow]) -> None:
        self.model_.set_photos(rows)

    def sequence(self) -> list[tuple[int, int | None]]:
        return [(r.photo_id, r.face_id) for r in self.model_.photos()]

    def headers(self) -> list[str]:
        return [r.title for r in self.model_.rows if isinstance(r, MonthHeader)]

    def row_of_photo(self, photo_id: int) -> int | None:
        return next((i for i, r in enumerate(self.model_.rows)
                     if isinstance(r, PhotoRow) and r.photo_id == photo_id), None)

    def _open(self, index) -> None:
        r = index.data(Qt.UserRole)
        if isinstance(r, PhotoRow):
            self.open_photo.emit(r.photo_id, r.face_id)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentIndex().isValid():
            self._open(self.currentIndex())
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.scheduleDelayedItemsLayout()  # headers follow the new width
