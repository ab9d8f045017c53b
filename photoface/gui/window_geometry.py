"""Where the window first opens: about 80 % of the screen, centred, never smaller than the
window can be nor larger than the screen."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize

FIRST_OPEN_SHARE = 0.8  # of the available screen, each way: room to see the desktop around it


def first_geometry(available: QRect, minimum: QSize) -> QRect:
    """The window's first rectangle on a screen whose free area is `available` (logical px)."""
    width = min(available.width(), max(minimum.width(), round(available.width() * FIRST_OPEN_SHARE)))
    height = min(available.height(), max(minimum.height(), round(available.height() * FIRST_OPEN_SHARE)))
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect
