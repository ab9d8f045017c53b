"""Watches the library's folders while the window runs: photos added, changed, moved or removed
under a folder ask for a scan of that folder once things are quiet; a folder that disappears
(an unmounted drive, a renamed folder) is reported offline, and watched again when it returns.

watchdog rather than QFileSystemWatcher: QFileSystemWatcher watches one folder level, so a photo
tree of thousands of folders would need a path added for each one (and re-added as folders
appear); watchdog's inotify/FSEvents/ReadDirectoryChangesW observers watch a whole tree.
"""

from __future__ import annotations

import logging
import os
import threading

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from photoface.core.faces.imaging import RAW_EXTENSIONS, SUPPORTED_EXTENSIONS

log = logging.getLogger(__name__)

_PHOTO_EXTENSIONS = {e.lower() for e in (*SUPPORTED_EXTENSIONS, *RAW_EXTENSIONS)}
# Opening or reading a file changes nothing a scan would see.
_IGNORED_EVENTS = {"opened", "closed_no_write", "attrib"}


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def is_photo_event(path: str, is_directory: bool, skip_dir: str) -> bool:
    """Whether an event at `path` can change what a scan finds: a photo file, or a folder (a folder
    of photos moved in or out), never hidden names (a copy's temporary file) nor the library itself."""
    if _within(path, skip_dir):
        return False
    if os.path.basename(path).startswith("."):
        return False
    return is_directory or os.path.splitext(path)[1].lower() in _PHOTO_EXTENSIONS


class FolderWatcher(QObject):
    """Watches folder trees and says, on the GUI thread, which ones changed.

    The observer lives in a background thread, and so do the start of a watch (inotify adds one
    watch per subfolder, seconds on a big tree) and the online checks (a stat of a dead network
    mount can hang), so the window never waits on the disk.

    Attributes:
        quiet_ms -- how long no event must come before a changed folder is reported (default 2000);
        max_wait_ms -- a folder that keeps changing (a long copy) is reported after this anyway
            (default 30000); poll_s -- seconds between online checks of the folders (default 3).
    Signals:
        folders_changed(list) -- folders whose photos changed, after `quiet_ms` of calm.
        online_changed(list, list) -- (folders gone offline, folders back online); the first one
            after start() or a new folder sorts every folder into one of the two.
    """

    folders_changed = Signal(list)
    online_changed = Signal(list, list)
    _touched = Signal(str)          # from watchdog's thread
    _went = Signal(list, list)      # from the manager thread

    def __init__(self, skip_dir: str, quiet_ms: int = 2000, max_wait_ms: int = 30000, poll_s: float = 3.0,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.skip_dir = os.path.abspath(skip_dir)
        self.quiet_ms = quiet_ms
        self.max_wait_ms = max_wait_ms
        self.poll_s = poll_s
        self._pending: set[str] = set()
        self._wanted: list[str] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer = None
        self._watches: dict[str, object] = {}
        self._quiet = QTimer(self, singleShot=True, interval=quiet_ms)
        self._quiet.timeout.connect(self._report)
        self._deadline = QTimer(self, singleShot=True, interval=max_wait_ms)
        self._deadline.timeout.connect(self._report)
        # Queued: both signals are emitted from other threads and must run their slots here.
        self._touched.connect(self._on_touched, Qt.QueuedConnection)
        self._went.connect(self._on_went, Qt.QueuedConnection)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def set_folders(self, folders: list[str]) -> None:
        """The folders to watch (the library's roots); takes effect within a moment."""
        with self._lock:
            self._wanted = [os.path.abspath(f) for f in folders]
        self._wake.set()

    def start(self) -> None:
        if self.running:
            return
        from watchdog.observers import Observer

        self._stopping.clear()
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._thread = threading.Thread(target=self._manage, name="photoface-folder-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops watching (returns within about a second); pending changes are dropped."""
        self._stopping.set()
        self._wake.set()
        self._quiet.stop()
        self._deadline.stop()
        self._pending.clear()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None
        self._watches.clear()

    # --- the manager thread --------------------------------------------------------------------------

    def _manage(self) -> None:
        state: dict[str, bool] = {}  # folder -> watched (online) when last reported
        while not self._stopping.is_set():
            with self._lock:
                wanted = list(self._wanted)
            now = {f for f in wanted if os.path.isdir(f)}
            for folder in sorted(set(self._watches) - now):
                self._unwatch(folder)
            for folder in sorted(now - set(self._watches)):
                if self._stopping.is_set():
                    return
                self._watch(folder)
            gone, back = [], []
            for folder in wanted:
                is_on = folder in self._watches
                if state.get(folder) != is_on:
                    (back if is_on else gone).append(folder)
                    state[folder] = is_on
            for folder in set(state) - set(wanted):
                del state[folder]
            if gone or back:
                self._went.emit(gone, back)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _watch(self, folder: str) -> None:
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if event.event_type in _IGNORED_EVENTS:
                    return
                paths = [os.fsdecode(event.src_path)]
                if getattr(event, "dest_path", ""):
                    paths.append(os.fsdecode(event.dest_path))
                if any(is_photo_event(p, event.is_directory, watcher.skip_dir) for p in paths):
                    watcher._touched.emit(folder)

        try:
            self._watches[folder] = self._observer.schedule(Handler(), folder, recursive=True)
        except OSError as exc:  # e.g. the inotify watch limit (fs.inotify.max_user_watches)
            # Kept as None: the folder is online, only not watched, and is not retried every poll.
            log.warning("cannot watch %s for new photos: %s", folder, exc)
            self._watches[folder] = None

    def _unwatch(self, folder: str) -> None:
        watch = self._watches.pop(folder)
        if watch is None:
            return
        try:
            self._observer.unschedule(watch)
        except (KeyError, OSError) as exc:  # its emitter may have ended with the folder
            log.info("unwatching %s: %s", folder, exc)

    # --- the GUI thread ----------------------------------------------------------------------------------

    def _on_touched(self, folder: str) -> None:
        if self._stopping.is_set():
            return
        self._pending.add(folder)
        self._quiet.start()
        if not self._deadline.isActive():
            self._deadline.start()
        # A folder renamed away sends events too: look at once rather than at the next poll.
        self._wake.set()

    def _report(self) -> None:
        self._quiet.stop()
        self._deadline.stop()
        if self._pending:
            folders = sorted(self._pending)
            self._pending.clear()
            self.folders_changed.emit(folders)

    def _on_went(self, gone: list, back: list) -> None:
        self._pending.difference_update(gone)
        self.online_changed.emit(list(gone), list(back))
