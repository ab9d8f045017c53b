"""Painting of person and face tiles: thumbnail, name, count, and state badges.

Colours come from the palette (light or dark follows the system); only the badges have fixed
colours, chosen to read on both (white glyph on a saturated disc with a dark outline).
"""

from __future__ import annotations

import collections

from PySide6.QtCore import QRectF, QSize, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from photoface.core.text import plural
from photoface.gui.thumbnails import ThumbnailCache

CONFIRMED = QColor("#2e9d48")
SUGGESTED = QColor("#e0901c")
REJECTED = QColor("#d64541")


def source_item(index):
    """The PersonSummary / FaceInfo of a row, read from the source model's list (no QVariant
    round trip: painting 10k tiles stays cheap)."""
    model = index.model()
    if isinstance(model, QSortFilterProxyModel):
        index = model.mapToSource(index)
        model = model.sourceModel()
    return model.items[index.row()]


class TileDelegate(QStyledItemDelegate):
    """A square thumbnail with up to two lines of text under it.

    Attributes:
        kind -- "person" (name + face count) or "face" (state badge, optional review mark).
        thumb_px -- thumbnail side in logical pixels.
        marks -- face id -> review mark ("yes"/"no"), or None; hints -- face id -> the name of the
            person an unsorted face resembles ("maybe Ann?"), or None; notes -- face id -> a few
            words shown across the top of the face as they are ("from Unsorted"), or None.
    """

    def __init__(self, cache: ThumbnailCache, kind: str, thumb_px: int = 104, parent=None):
        super().__init__(parent)
        self.cache, self.kind, self.thumb_px = cache, kind, thumb_px
        self.marks: dict[int, str] | None = None
        self.hints: dict[int, str] | None = None
        self.notes: dict[int, str] | None = None
        # Thumbnails already scaled and masked to this delegate's tile: painting is then one
        # unscaled blit, which keeps a scroll through 10k persons under a frame's budget.
        self._tiles: collections.OrderedDict[tuple[int, int], QPixmap] = collections.OrderedDict()

    def _tile(self, face_id: int | None) -> QPixmap | None:
        if face_id is None:
            return None
        pm = self.cache.pixmap(face_id)
        if pm is None or pm.isNull():
            return None
        key = (face_id, pm.cacheKey())
        tile = self._tiles.get(key)
        if tile is not None:
            self._tiles.move_to_end(key)
            return tile
        dpr = pm.devicePixelRatio()
        side = round(self.thumb_px * dpr)
        tile = QPixmap(side, side)
        tile.fill(Qt.transparent)
        p = QPainter(tile)
        p.setRenderHint(QPainter.Antialiasing)
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        clip = QPainterPath()
        radius = side / 2 if self.kind == "person" else 6 * dpr
        clip.addRoundedRect(QRectF(0, 0, side, side), radius, radius)
        p.setClipPath(clip)
        p.drawPixmap(QRectF(0, 0, side, side), pm, QRectF(pm.rect()))
        p.end()
        tile.setDevicePixelRatio(dpr)
        self._tiles[key] = tile
        if len(self._tiles) > 3000:
            self._tiles.popitem(last=False)
        return tile

    def sizeHint(self, option, index) -> QSize:
        fm = QFontMetrics(option.font)
        lines = 2 if self.kind == "person" else 0
        return QSize(self.thumb_px + 16, self.thumb_px + 14 + lines * fm.height())

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.SmoothPixmapTransform)
        pal: QPalette = option.palette
        rect = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.State_Selected)
        if selected:
            painter.setPen(Qt.NoPen)
            painter.setBrush(pal.color(QPalette.Highlight))
            painter.drawRoundedRect(QRectF(rect), 8, 8)
        elif option.state & QStyle.State_MouseOver:
            painter.setPen(Qt.NoPen)
            painter.setBrush(pal.color(QPalette.AlternateBase))
            painter.drawRoundedRect(QRectF(rect), 8, 8)
        thumb = QRectF(rect.x() + (rect.width() - self.thumb_px) / 2, rect.y() + 5, self.thumb_px, self.thumb_px)
        item = source_item(index)
        face_id = item.cover_face_id if self.kind == "person" else item.id
        tile = self._tile(face_id)
        if tile is not None:
            # Unscaled at a whole pixel: without the smooth hint the raster engine blits it (the
            # filtered path costs ~0.1 ms a tile).
            painter.setRenderHint(QPainter.SmoothPixmapTransform, False)
            painter.drawPixmap(thumb.topLeft().toPoint(), tile)
            painter.setRenderHint(QPainter.SmoothPixmapTransform)
        else:
            painter.setPen(Qt.NoPen)
            painter.setBrush(pal.color(QPalette.Mid))
            radius = self.thumb_px / 2 if self.kind == "person" else 6
            painter.drawRoundedRect(thumb, radius, radius)
        if self.kind == "person":
            self._person_text(painter, option, rect, thumb, item, selected)
        else:
            self._face_badges(painter, thumb, item)
        if option.state & QStyle.State_HasFocus:
            pen = QPen(pal.color(QPalette.Highlight if not selected else QPalette.HighlightedText), 1.5, Qt.DotLine)
            painter.setPen(pen)
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(QRectF(rect).adjusted(1, 1, -1, -1), 8, 8)
        painter.restore()

    def _person_text(self, painter, option, rect, thumb, person, selected) -> None:
        pal = option.palette
        fm = QFontMetrics(option.font)
        text_colour = pal.color(QPalette.HighlightedText if selected else QPalette.Text)
        y = thumb.bottom() + 4
        name_font = option.font
        if person.name is None:
            name_font.setItalic(True)
        else:
            name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(text_colour)
        name_rect = QRectF(rect.x() + 2, y, rect.width() - 4, fm.height())
        painter.drawText(name_rect, Qt.AlignHCenter | Qt.AlignVCenter,
                         QFontMetrics(name_font).elidedText(person.label, Qt.ElideRight, int(name_rect.width())))
        painter.setFont(option.font)
        sub = QColor(text_colour)
        sub.setAlphaF(0.7)
        painter.setPen(sub)
        count = plural(person.faces, "face")
        if person.hidden:
            count += " · hidden"
        painter.drawText(QRectF(rect.x() + 2, y + fm.height(), rect.width() - 4, fm.height()),
                         Qt.AlignHCenter | Qt.AlignVCenter, count)

    def _face_badges(self, painter, thumb: QRectF, face) -> None:
        hint = self.hints.get(face.id) if self.hints is not None else None
        note = self.notes.get(face.id) if self.notes is not None else None
        if hint is not None:
            self._hint(painter, thumb, hint)
        elif note is not None:
            self._strip(painter, thumb, note)
        if face.state == "suggested":
            pen = QPen(SUGGESTED, 2.5, Qt.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(thumb.adjusted(1, 1, -1, -1), 6, 6)
            self._badge(painter, thumb, SUGGESTED, "?")
        elif face.state == "confirmed":
            self._badge(painter, thumb, CONFIRMED, "✓")
        mark = self.marks.get(face.id) if self.marks is not None else None
        if mark is not None:
            colour = CONFIRMED if mark == "yes" else REJECTED
            painter.setPen(QPen(colour, 4))
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(thumb.adjusted(2, 2, -2, -2), 6, 6)
            self._badge(painter, thumb, colour, "✓" if mark == "yes" else "✗", left=True)

    @staticmethod
    def _hint(painter, thumb: QRectF, name: str) -> None:
        """A dark strip across the top of the thumbnail, "maybe NAME?" in white (reads on any face);
        "NAME?" where the whole sentence does not fit."""
        font = painter.font()
        font.setPixelSize(11)
        fm = QFontMetrics(font)
        room = int(thumb.width() - 8)
        text = f"maybe {name}?"
        if fm.horizontalAdvance(text) > room:
            text = fm.elidedText(f"{name}?", Qt.ElideMiddle, room)
        TileDelegate._strip(painter, thumb, text)

    @staticmethod
    def _strip(painter, thumb: QRectF, text: str) -> None:
        """`text` in white on a dark strip across the top of the thumbnail (reads on any face)."""
        font = painter.font()
        font.setPixelSize(11)
        painter.setFont(font)
        fm = QFontMetrics(font)
        strip = QRectF(thumb.left(), thumb.top(), thumb.width(), fm.height() + 4)
        text = fm.elidedText(text, Qt.ElideRight, int(strip.width() - 8))
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(strip, 6, 6)
        painter.setPen(QColor("white"))
        painter.drawText(strip.adjusted(4, 0, -4, 0), Qt.AlignCenter, text)

    @staticmethod
    def _badge(painter, thumb: QRectF, colour: QColor, glyph: str, left: bool = False) -> None:
        d = 22.0
        x = thumb.left() + 4 if left else thumb.right() - d - 4
        disc = QRectF(x, thumb.bottom() - d - 4, d, d)
        painter.setPen(QPen(QColor(0, 0, 0, 150), 1.5))
        painter.setBrush(colour)
        painter.drawEllipse(disc)
        font = painter.font()
        font.setBold(True)
        font.setPixelSize(14)
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(disc, Qt.AlignCenter, glyph)
