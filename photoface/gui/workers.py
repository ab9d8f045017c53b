"""Background work for the window: threads for reads, a child process for the models.

- `ThreadJob` runs `fn(library)` on a QThreadPool thread with that thread's own `Library`
  (one SQLite connection per thread) and posts the result or the error back to the GUI thread.
  For reads and numpy work, which release the GIL.
- `ProcessJob` runs a job of `photoface.gui.child` in a 'spawn' child process (TensorFlow's import
  and model loading hold the GIL for seconds; in a thread that would freeze the window) and turns
  the child's queue messages into signals, polled by a QTimer on the GUI thread.

No widget code runs in either: results come back through signals.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue as queue_mod
import threading
import traceback
from pathlib import Path
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from photoface.core.errors import Cancelled

log = logging.getLogger(__name__)

_local = threading.local()


def thread_library(lib_dir: str | Path):
    """This thread's own connection to the library (opened on first use, kept for the thread)."""
    from photoface.core.library.store import Library

    libs = getattr(_local, "libs", None)
    if libs is None:
        libs = _local.libs = {}
    key = str(lib_dir)
    if key not in libs:
        libs[key] = Library(key)
    return libs[key]


class _JobSignals(QObject):
    """Lives in the GUI thread. The worker emits the underscored signals; the relays re-emit them
    there only while the owner widget still exists (a view closed meanwhile gets nothing)."""

    finished = Signal(object)
    failed = Signal(str, str, str)  # error kind, message, traceback
    cancelled = Signal()
    _finished = Signal(object)
    _failed = Signal(str, str, str)
    _cancelled = Signal()

    def __init__(self, owner=None):
        super().__init__()
        self.owner = owner
        self._finished.connect(self._relay_finished)
        self._failed.connect(self._relay_failed)
        self._cancelled.connect(self._relay_cancelled)

    def _alive(self) -> bool:
        return self.owner is None or shiboken6.isValid(self.owner)

    def _relay_finished(self, result) -> None:
        ThreadJob._done(self)
        if self._alive():
            self.finished.emit(result)

    def _relay_failed(self, kind: str, message: str, details: str) -> None:
        ThreadJob._done(self)
        if self._alive():
            self.failed.emit(kind, message, details)

    def _relay_cancelled(self) -> None:
        ThreadJob._done(self)
        if self._alive():
            self.cancelled.emit()


class ThreadJob(QRunnable):
    """`fn(library)` on a pool thread. Connect to `signals` before `start()`.

    Attributes:
        signals -- finished(result), failed(kind, message, traceback), cancelled().
        cancel -- a threading.Event passed on to core functions that accept one.
    """

    _running: set["ThreadJob"] = set()  # keeps Python wrappers alive until they report

    def __init__(self, lib_dir: str | Path, fn: Callable[[Any], Any], owner: QObject | None = None):
        super().__init__()
        self.setAutoDelete(False)
        self.lib_dir, self.fn = lib_dir, fn
        self.signals = _JobSignals(owner)
        self.signals.job = self
        self.cancel = threading.Event()

    def start(self, pool: QThreadPool | None = None) -> "ThreadJob":
        ThreadJob._running.add(self)
        (pool or QThreadPool.globalInstance()).start(self)
        return self

    def run(self) -> None:
        if self.cancel.is_set():  # cancelled before it started: nothing to do
            self.signals._cancelled.emit()
            return
        try:
            result = self.fn(thread_library(self.lib_dir))
        except Cancelled:
            self.signals._cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - shown by the GUI, never a crash
            log.exception("background job failed")
            self.signals._failed.emit(type(exc).__name__, str(exc), traceback.format_exc())
        else:
            self.signals._finished.emit(result)

    @staticmethod
    def _done(signals: _JobSignals) -> None:
        ThreadJob._running.discard(signals.job)

    @staticmethod
    def running() -> int:
        return len(ThreadJob._running)


class ProcessJob(QObject):
    """A job of `photoface.gui.child` in a child process, reported through signals.

    Attributes:
        name -- the job ("scan", "cluster", "manual_face", "device").
        args -- its plain-data arguments.
    """

    stage = Signal(str)
    progress = Signal(dict)          # ScanProgress as a dict
    step_progress = Signal(int, int)
    info = Signal(dict)
    finished = Signal(dict)
    failed = Signal(str, str, str)
    cancelled = Signal()
    ended = Signal()                 # after finished, failed or cancelled

    POLL_MS = 50
    KILL_AFTER_MS = 700  # a cancel that the child has not honoured by then becomes a kill

    def __init__(self, name: str, lib_dir: str | Path, args: dict | None = None, parent=None):
        super().__init__(parent)
        self.name, self.lib_dir, self.args = name, str(lib_dir), dict(args or {})
        self._proc = None
        self._ended = False
        self.stage_text = ""
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self._poll)

    def start(self) -> "ProcessJob":
        from photoface.gui import child

        ctx = multiprocessing.get_context("spawn")
        self._queue = ctx.Queue()
        self._cancel = ctx.RawValue("b", 0)  # no lock: a killed child can never leave one held
        self._proc = ctx.Process(target=child.run_job, name=f"photoface-{self.name}",
                                 args=(self.name, self.lib_dir, self.args, self._queue, self._cancel),
                                 daemon=True)
        self._proc.start()
        self._timer.start()
        return self

    @property
    def running(self) -> bool:
        return self._proc is not None and not self._ended

    def cancel(self) -> None:
        """Asks the child to stop; kills it if it has not within KILL_AFTER_MS (a kill is safe:
        every batch is one transaction)."""
        if not self.running:
            return
        self._cancel.value = 1
        if self.stage_text in ("", "Loading models"):
            self._kill_if_alive()  # nothing written yet: no reason to wait
        else:
            QTimer.singleShot(self.KILL_AFTER_MS, self._kill_if_alive)

    def _kill_if_alive(self) -> None:
        if self._ended or self._proc is None:
            return
        if self._proc.is_alive():
            self._proc.kill()  # reaped later, off the UI thread's critical path (_reap)
        self._end("cancelled", None)

    def _poll(self) -> None:
        alive = self._proc.is_alive()
        last_progress = None
        for _ in range(500):  # bounded: the UI thread never drains forever
            try:
                kind, payload = self._queue.get_nowait()
            except queue_mod.Empty:
                break
            except (EOFError, OSError):
                break
            if kind == "progress":
                last_progress = payload  # only the newest matters
            elif kind == "steps":
                self.step_progress.emit(int(payload["done"]), int(payload["total"]))
            elif kind == "stage":
                self.stage_text = payload
                self.stage.emit(payload)
            elif kind == "info":
                self.info.emit(payload)
            else:
                if last_progress is not None:
                    self.progress.emit(last_progress)
                    last_progress = None
                self._end(kind, payload)
                return
        if last_progress is not None:
            self.progress.emit(last_progress)
        if not alive and not self._ended:
            code = self._proc.exitcode
            if bool(self._cancel.value):
                self._end("cancelled", None)
            else:
                self._end("error", ("WorkerDied", f"the background worker stopped unexpectedly "
                                                  f"(exit code {code})", ""))

    def _end(self, kind: str, payload) -> None:
        if self._ended:
            return
        self._ended = True
        self._timer.stop()
        if kind == "done":
            self.finished.emit(payload or {})
        elif kind == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(*payload)
        QTimer.singleShot(2000, self._reap)
        self.ended.emit()

    def _reap(self) -> None:
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(0.05)

    def kill(self) -> None:
        """Ends the child at once (window closing)."""
        if self._proc is not None and self._proc.is_alive():
            self._cancel.value = 1
            self._proc.kill()
            self._proc.join(1.0)
        self._ended = True
        self._timer.stop()
