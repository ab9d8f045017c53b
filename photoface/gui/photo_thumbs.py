"""Photo thumbnails: a square, centre-cropped view of each photo, decoded from its file on demand.

The same lazy, newest-first loader as the face thumbnails (`ThumbnailCache`), keyed by photo id.
JPEGs decode straight at the small size (Qt's reader scales in the JPEG decoder: ~5-15 ms for a
12 MP photo instead of ~150 ms), so a timeline of thousands of photos costs only what is shown.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QImageReader

from photoface.gui.thumbnails import ThumbnailCache

PHOTO_THUMB_LOGICAL_PX = 150


def read_photo(path: str, short_side: int | None = None) -> QImage:
    """The photo at `path`, EXIF-oriented (face boxes are in those pixels), decoded at about
    `short_side` pixels on its shorter side when given; formats Qt cannot read (e.g. HEIC) go
    through the core's decoder. Raises the core's error when neither can read it."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    full = reader.size()
    if short_side and full.isValid() and min(full.width(), full.height()) > short_side:
        s = short_side / min(full.width(), full.height())
        reader.setScaledSize(QSize(max(1, round(full.width() * s)), max(1, round(full.height() * s))))
    image = reader.read()
    if image.isNull():
        from photoface.core.faces.imaging import load_image

        rgb = load_image(path).rgb
        h, w = rgb.shape[:2]
        image = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    return image


def square_thumbnail(path: str, size: int) -> QImage:
    """The photo at `path`, EXIF-oriented, scaled so its shorter side is `size` pixels and cropped
    to the centre square (a null image if it cannot be read)."""
    try:
        image = read_photo(path, size)
    except Exception:  # noqa: BLE001 - an unreadable file keeps its placeholder
        return QImage()
    side = min(image.width(), image.height())
    if side != size:
        image = image.scaled(size, size, Qt.KeepAspectRatioByExpanding, Qt.SmoothTransformation)
        side = min(image.width(), image.height())
    return image.copy(QRect((image.width() - side) // 2, (image.height() - side) // 2, side, side))


class PhotoThumbnailCache(ThumbnailCache):
    """Square photo thumbnails by photo id (`pixmap(photo_id)`); see ThumbnailCache."""

    logical_px = PHOTO_THUMB_LOGICAL_PX

    def _image(self, lib, photo_id: int, size: int) -> QImage:
        try:
            paths = lib.photo_paths(photo_id)
        except Exception:  # noqa: BLE001 - a photo removed meanwhile: placeholder stays
            return QImage()
        for path in paths:
            image = square_thumbnail(path, size)
            if not image.isNull():
                return image
        return QImage()
