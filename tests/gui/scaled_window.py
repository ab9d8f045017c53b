"""Run as a script by test_fits_screen.py: a window at a QT_SCALE_FACTOR (set by the caller
before Qt starts, which is why this is a child process), resized, grabbed and measured.

    python tests/gui/scaled_window.py LIBRARY_DIR UI_INI WIDTH HEIGHT PNG

Prints one JSON line: the device pixel ratio, the window's minimum and actual size (logical px),
the grab's size (device px) and a loaded thumbnail's pixmap size and ratio.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    lib_dir, ini, width, height, png = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from photoface.core.library.store import Library
    from photoface.gui.main_window import MainWindow
    from photoface.gui.settings import ui_settings

    win = MainWindow(Library(lib_dir), ui_settings(ini), probe_device=False)
    win.resize(width, height)
    win.show()
    deadline = time.monotonic() + 30
    thumb = None
    while time.monotonic() < deadline:
        app.processEvents()
        people = win.people.model.items
        if people and win.is_idle():
            thumb = win.thumbs.pixmap(people[0].cover_face_id)
            if thumb is not None:
                break
        time.sleep(0.02)
    for _ in range(20):  # the thumbnails that arrived get painted
        app.processEvents()
        time.sleep(0.01)
    grab = win.grab()
    grab.save(png)
    hint = win.minimumSizeHint()
    print(json.dumps({
        "dpr": win.devicePixelRatioF(), "min": [hint.width(), hint.height()],
        "size": [win.width(), win.height()], "grab": [grab.width(), grab.height()],
        "thumb": [thumb.width(), thumb.height(), thumb.devicePixelRatio()] if thumb is not None else None,
    }))
    win.close()
    win.thumbs.stop()


if __name__ == "__main__":
    main()
