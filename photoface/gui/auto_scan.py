"""New photos appear by themselves: a quiet scan of the library at start-up, and of each folder
whose photos change while the window runs (gui/folder_watch.py), through the window's scan queue.

Both follow the library setting `watch_folders` (Preferences → "Watch folders for new photos"):
someone who turns it off (a slow network share, a laptop on battery) wants no scan they did not ask for.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QTimer

from photoface.gui.folder_watch import FolderWatcher

log = logging.getLogger(__name__)


class AutoScan(QObject):
    """Keeps a MainWindow's library in step with its folders.

    Attributes:
        window -- the MainWindow; watcher -- its FolderWatcher.
        offline -- folders last seen missing: when one comes back it is scanned.
        startup_delay_ms -- how long after start() the start-up scan begins (default 3000: the
            window paints and loads its views first).
    """

    def __init__(self, window, quiet_ms: int = 2000, poll_s: float = 3.0, startup_delay_ms: int = 3000):
        super().__init__(window)
        self.window = window
        self.startup_delay_ms = startup_delay_ms
        self.offline: set[str] = set()
        self.watcher = FolderWatcher(str(window.library.root), quiet_ms=quiet_ms, poll_s=poll_s, parent=self)
        self.watcher.folders_changed.connect(self._folders_changed)
        self.watcher.online_changed.connect(self._online_changed)
        # A scan may have added folders, the Folders view removed some: watch what the library has.
        window.scans.finished.connect(self._sync)
        window.folders.changed.connect(self._sync)
        window.preferences_changed.connect(self._preferences_changed)
        # An event filter, so that the window's own closeEvent stays the window's business.
        window.installEventFilter(self)

    @property
    def enabled(self) -> bool:
        return bool(self.window.library.get_setting("watch_folders"))

    @property
    def watching(self) -> bool:
        return self.watcher.running

    def start(self, rescan: bool = True) -> None:
        """Starts watching and, with `rescan`, a quiet scan of every folder; nothing when turned off."""
        if not self.enabled:
            return
        self._sync()
        self.watcher.start()
        if rescan:
            QTimer.singleShot(self.startup_delay_ms, self._rescan_all)

    def stop(self) -> None:
        self.watcher.stop()

    def _rescan_all(self) -> None:
        if self.watching and self.window.library.roots():
            self.window.scans.request(None, quiet=True)

    def _sync(self, *_) -> None:
        self.watcher.set_folders([path for _, path in self.window.library.roots()])

    def _folders_changed(self, folders: list[str]) -> None:
        roots = {path for _, path in self.window.library.roots()}
        # Only whole roots: a scan adds the folders it is given as roots, and a subfolder is not one.
        wanted = [f for f in folders if f in roots]
        if wanted:
            log.info("photos changed under %s: scanning", ", ".join(wanted))
            self.window.scans.request(wanted, quiet=True)

    def _online_changed(self, gone: list[str], back: list[str]) -> None:
        returned = [f for f in back if f in self.offline]
        self.offline = (self.offline | set(gone)) - set(back)
        if gone or returned:
            # Offline is shown, never treated as deleted: the scan keeps an offline root's photos.
            if self.window.current_view == "Folders":
                self.window.folders.reload()
            if gone:
                self.window.state_label.setText(
                    f"Offline (photos kept): {', '.join(gone)}")
        if returned:
            self.window.scans.request(returned, quiet=True)

    def _preferences_changed(self, keys: list[str]) -> None:
        if "watch_folders" not in keys:
            return
        if self.enabled:
            self.start(rescan=True)
        else:
            self.stop()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Close:
            self.stop()
        return False
