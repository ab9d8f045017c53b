"""A layout that wraps its widgets onto more lines when the width runs out (a toolbar row that
never forces the window wider than one button).

Qt has no such layout; this is its documented "Flow Layout" example, trimmed: items keep their
size hints, lines are as tall as their tallest item, and the height follows the width
(heightForWidth), so a QVBoxLayout above gives a wrapped row the height it needs.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QSizePolicy


class FlowLayout(QLayout):
    """Widgets left to right, wrapping to a new line where the next one would not fit.

    Attributes:
        spacing_px -- the gap between items, both ways (default: the style's button spacing).
    """

    def __init__(self, parent=None, spacing_px: int = -1):
        super().__init__(parent)
        self._items = []
        self.spacing_px = spacing_px
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        # One line of everything: what the row asks for when there is room.
        visible = [i for i in self._items if not i.isEmpty()]
        gap = self._gap()
        width = sum(i.sizeHint().width() for i in visible) + gap * max(0, len(visible) - 1)
        height = max((i.sizeHint().height() for i in visible), default=0)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        # The widest single item: anything wider wraps.
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _gap(self) -> int:
        if self.spacing_px >= 0:
            return self.spacing_px
        parent = self.parentWidget()
        style = parent.style() if parent is not None else None
        if style is None:
            return 6
        gap = style.layoutSpacing(QSizePolicy.PushButton, QSizePolicy.PushButton, Qt.Horizontal)
        return gap if gap >= 0 else 6

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Places the items inside `rect` (when `move`), each centred on its line; returns the
        height they take."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        gap = self._gap()
        lines: list[list[tuple]] = [[]]
        x = area.x()
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            width = min(hint.width(), area.width()) if area.width() > 0 else hint.width()
            if lines[-1] and x + width > area.right() + 1:
                lines.append([])
                x = area.x()
            lines[-1].append((item, x, width, hint.height()))
            x += width + gap
        y = area.y()
        for line in lines:
            line_height = max((h for *_, h in line), default=0)
            if move:
                for item, left, width, height in line:
                    item.setGeometry(QRect(QPoint(left, y + (line_height - height) // 2), QSize(width, height)))
            y += line_height + gap
        return max(0, y - gap - area.y()) + m.top() + m.bottom()
