"""One window per library: the first window holds a lock file in the library folder and listens on a
local socket named after the library; a second `photoface [FOLDER…]` on the same library hands its
folders to that window (which comes to the front and scans them) and exits, instead of opening a
second window on the same albums.

Headless commands (`photoface status`, `photoface scan`, …) do not take the lock: SQLite in WAL
mode lets them read while the window writes, and every write is one short transaction, so they
work beside the window (a write waits up to 30 s for the window's, then says the library is busy).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

LOCK_NAME = "window.lock"


def server_name(library_dir: str | os.PathLike) -> str:
    """The local socket's name: the same for every spelling of one library folder, short enough for
    a Unix socket path, and private to the user (the uid is part of it)."""
    real = os.path.realpath(library_dir)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return f"photoface-{uid}-{digest}"


class WindowBusy(Exception):
    """A window holds the library but did not take the folders (it may be hung or starting)."""


class LibraryInstance(QObject):
    """The lock and the hand-over channel of one library folder.

    Attributes:
        library_dir -- the library folder; lock -- the QLockFile in it; server -- the QLocalServer
            the window listens on (None until serve()).
    Signals:
        handed(list) -- another process handed over these folders (possibly none: just show up).
    """

    handed = Signal(list)

    def __init__(self, library_dir: str | os.PathLike, parent: QObject | None = None):
        super().__init__(parent)
        self.library_dir = Path(library_dir)
        self.lock = QLockFile(str(self.library_dir / LOCK_NAME))
        # A window holds the lock for days: never call it stale for its age, only for a dead owner
        # (QLockFile checks the owner's process id and host).
        self.lock.setStaleLockTime(0)
        self.server: QLocalServer | None = None

    def claim(self) -> bool:
        """True when this process now holds the library (no other window has it)."""
        return self.lock.tryLock(0)

    def serve(self) -> None:
        """Listens for hand-overs; call after claim() succeeded."""
        name = server_name(self.library_dir)
        QLocalServer.removeServer(name)  # a socket file left by a window that crashed
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.UserAccessOption)
        if not self.server.listen(name):
            log.warning("cannot listen for other photoface processes: %s", self.server.errorString())
            return
        self.server.newConnection.connect(self._connection)

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        self.lock.unlock()

    def _connection(self) -> None:
        while self.server is not None and self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            sock.setParent(self)
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(sock.deleteLater)

    def _read(self, sock: QLocalSocket) -> None:
        if not sock.canReadLine():
            return
        try:
            message = json.loads(bytes(sock.readLine()).decode("utf-8"))
            folders = [str(f) for f in message.get("folders", [])]
        except (ValueError, AttributeError) as exc:
            log.warning("ignoring a bad message from another photoface process: %s", exc)
            sock.write(b"error\n")
            sock.flush()
            return
        sock.write(b"ok\n")
        sock.flush()
        self.handed.emit(folders)


def hand_over(library_dir: str | os.PathLike, folders: list[str], timeout_s: float = 10.0) -> None:
    """Gives `folders` to the window that holds the library. Tries for `timeout_s` (that window may
    be starting: it takes the lock before it listens).

    Raises:
        WindowBusy: no answer in time.
    """
    name = server_name(library_dir)
    message = (json.dumps({"folders": [os.path.abspath(f) for f in folders]}) + "\n").encode("utf-8")
    deadline = time.monotonic() + timeout_s
    last_error = ""
    while time.monotonic() < deadline:
        sock = QLocalSocket()
        sock.connectToServer(name)
        if sock.waitForConnected(1000):
            sock.write(message)
            sock.flush()
            sock.waitForBytesWritten(1000)
            remaining = max(int((deadline - time.monotonic()) * 1000), 1000)
            if sock.waitForReadyRead(remaining) and bytes(sock.readLine()).strip() == b"ok":
                sock.disconnectFromServer()
                return
            last_error = "no answer"
        else:
            last_error = sock.errorString()
        sock.abort()
        time.sleep(0.2)
    raise WindowBusy(last_error)


def bring_up(window, folders: list[str]) -> None:
    """What a window does with a hand-over: come to the front, and scan the folders (if any)."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
    if folders:
        window.scan_folders(folders)
