"""Face thumbnails: decoded from the library's JPEG bytes on demand, off the GUI thread, cached.

A view asks `pixmap(face_id)`; a miss returns None (the delegate paints a placeholder) and queues
the face for the loader thread, newest request first, so what is on screen now loads first.
When thumbnails arrive `loaded` fires (coalesced) and views repaint.
"""

from __future__ import annotations

import collections
import threading
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPixmap

THUMB_LOGICAL_PX = 112  # the largest size a tile shows a face at, in logical pixels


class ThumbnailCache(QObject):
    """An LRU of face pixmaps and the thread that fills it.

    Attributes:
        loaded -- emitted (at most every ~30 ms) after thumbnails arrived.
        capacity -- how many pixmaps are kept (least recently used go first): `capacity_1x` at a
            device pixel ratio of 1, fewer on a HiDPI screen, where each holds dpr² the pixels
            (the same ~300 MB: at 2.0, 6000 pixmaps took the People benchmark from 0.5 to 1.5 GB).
    """

    loaded = Signal()
    _arrived = Signal(int, QImage, float)
    logical_px = THUMB_LOGICAL_PX  # side of the thumbnails made, in logical pixels

    def __init__(self, lib_dir: str | Path, capacity_1x: int = 6000, parent=None):
        super().__init__(parent)
        self.lib_dir = str(lib_dir)
        self._cache: collections.OrderedDict[int, QPixmap] = collections.OrderedDict()
        self._pending: collections.OrderedDict[int, None] = collections.OrderedDict()
        self._lock = threading.Condition()
        self._stop = False
        self._in_flight = 0  # popped by the loader, not yet stored by the GUI thread
        self._thread: threading.Thread | None = None
        self._arrived.connect(self._store, Qt.QueuedConnection)
        self._notify = QTimer(self)
        self._notify.setSingleShot(True)
        self._notify.setInterval(30)
        self._notify.timeout.connect(self.loaded)
        screen = QGuiApplication.primaryScreen()
        self._capacity_1x = capacity_1x
        self._dpr = 1.0
        self.set_device_pixel_ratio(screen.devicePixelRatio() if screen is not None else 1.0)

    def pixmap(self, face_id: int) -> QPixmap | None:
        pm = self._cache.get(face_id)
        if pm is not None:
            self._cache.move_to_end(face_id)
            return pm
        with self._lock:
            self._pending[face_id] = None
            self._pending.move_to_end(face_id)
            if len(self._pending) > 2000:  # scrolled past long ago: drop the oldest requests
                self._pending.popitem(last=False)
            self._lock.notify()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="photoface-thumbs", daemon=True)
            self._thread.start()
        return None

    def pending(self) -> int:
        """Thumbnails asked for and not yet in the cache."""
        with self._lock:
            return len(self._pending) + self._in_flight

    def invalidate(self, face_ids=None) -> None:
        if face_ids is None:
            self._cache.clear()
        else:
            for f in face_ids:
                self._cache.pop(f, None)

    def set_device_pixel_ratio(self, dpr: float) -> None:
        """Thumbnails from now on at this ratio (the window moved to a screen of another
        scale): the cache is dropped, and the views, repainting, ask again."""
        dpr = float(dpr) if dpr and dpr > 0 else 1.0
        self.capacity = max(1000, round(self._capacity_1x / max(1.0, dpr) ** 2))
        if dpr == self._dpr:
            return
        self._dpr = dpr
        self._cache.clear()
        if not self._notify.isActive():
            self._notify.start()

    def follow(self, widget) -> None:
        """Keeps the ratio of `widget`'s screen (Qt tells a window when it changes)."""
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.DevicePixelRatioChange:
            self.set_device_pixel_ratio(obj.devicePixelRatioF())
        return False

    def stop(self) -> None:
        with self._lock:
            self._stop = True
            self._lock.notify()

    def _run(self) -> None:
        from photoface.gui.workers import thread_library

        lib = thread_library(self.lib_dir)
        while True:
            with self._lock:
                while not self._pending and not self._stop:
                    self._lock.wait()
                if self._stop:
                    return
                face_id, _ = self._pending.popitem(last=True)  # newest first: what is on screen
                self._in_flight += 1
                dpr = self._dpr
            self._arrived.emit(face_id, self._image(lib, face_id, round(self.logical_px * dpr)), dpr)

    def _image(self, lib, face_id: int, size: int) -> QImage:
        """Runs in the loader thread: the face's thumbnail at `size` device pixels (null if none)."""
        try:
            data = lib.face_thumb(face_id)
        except Exception:  # noqa: BLE001 - a face deleted meanwhile: placeholder stays
            data = None
        image = QImage()
        if data:
            image.loadFromData(data, "JPEG")
        if not image.isNull() and max(image.width(), image.height()) != size:
            image = image.scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        return image

    def _store(self, face_id: int, image: QImage, dpr: float) -> None:
        with self._lock:
            self._in_flight -= 1
        if dpr != self._dpr:  # decoded for the screen the window just left: asked again when painted
            return
        pm = QPixmap.fromImage(image) if not image.isNull() else QPixmap()
        pm.setDevicePixelRatio(dpr)
        self._cache[face_id] = pm
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        if not self._notify.isActive():
            self._notify.start()
