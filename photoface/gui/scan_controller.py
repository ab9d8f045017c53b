"""The scan queue: one scan child process at a time, later requests wait in line; its progress,
outcome and errors shown in the status bar's widgets."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QWidget

from photoface.core.library.store import Library
from photoface.core.text import plural
from photoface.gui import prompts
from photoface.gui.workers import ProcessJob

log = logging.getLogger(__name__)


def duration(seconds: float | None) -> str:
    """m:ss, or h:mm:ss from an hour up; "?" when unknown."""
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


@dataclass
class StatusWidgets:
    """The status-bar widgets a scan speaks through."""

    state: QLabel
    progress: QProgressBar
    cancel: QPushButton


class ScanController(QObject):
    """Runs scans of a library in a child process, one after another.

    Attributes:
        job -- the running scan's ProcessJob, or None; queue -- folder lists waiting (None: all).
        queue_quiet -- for each entry of `queue`, whether it is a quiet scan; quiet -- whether the
            running scan is. A quiet scan (the folder watch, the start-up check) shows its progress
            in the status bar like any scan but never a dialog, and loads the models only when a
            file needs reading. last -- the result dict of the last finished scan, or None.
    Signals:
        finished(dict) -- a scan ended well; stopped() -- it failed or was cancelled (what it
        committed stays); info(dict) -- the child's device/model report.
    """

    finished = Signal(dict)
    stopped = Signal()
    info = Signal(dict)

    def __init__(self, library: Library, widgets: StatusWidgets, dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.library = library
        self.w = widgets
        self.dialog_parent = dialog_parent
        self.job: ProcessJob | None = None
        self.queue: list[list[str] | None] = []
        self.queue_quiet: list[bool] = []
        self.quiet = False
        self._last_word: str | None = None
        self.last: dict | None = None
        self.w.cancel.clicked.connect(self.cancel)

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def request(self, folders: list[str] | None, quiet: bool = False) -> None:
        """Scans these folders (None: every folder of the library), after the running scan if any.

        A quiet request already waiting in the queue for the same folders is not queued twice.
        """
        if self.running:
            if quiet and any(q and f == folders for f, q in zip(self.queue, self.queue_quiet)):
                return
            self.queue.append(folders)
            self.queue_quiet.append(quiet)
            self.w.state.setText(f"{self.w.state.text().split(' (')[0]}{self._queued_suffix()}")
            return
        self._start(folders, quiet)

    def cancel(self) -> None:
        if self.running:
            self.w.cancel.setEnabled(False)
            self.w.state.setText("Cancelling…")
            self.job.cancel()

    def kill(self) -> None:
        if self.job is not None:
            self.job.kill()

    # --- one scan ---------------------------------------------------------------------------

    def _start(self, folders: list[str] | None, quiet: bool = False) -> None:
        job = ProcessJob("scan", self.library.root, {"folders": folders, "quiet": quiet})
        self.job = job
        self.quiet = quiet
        self._started = time.monotonic()
        job.stage.connect(self._stage)
        job.progress.connect(self._progress)
        job.step_progress.connect(self._step_progress)
        job.info.connect(self.info)
        job.finished.connect(self._done)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        job.ended.connect(self._ended)
        self.w.progress.setRange(0, 0)
        self.w.progress.show()
        self.w.cancel.show()
        self.w.cancel.setEnabled(True)
        self._last_word = self.w.state.text()  # what a quiet scan that finds nothing gives back
        self.w.state.setText("Looking for new or changed photos…" if quiet else "Starting the scan…")
        job.start()

    def _queued_suffix(self) -> str:
        return f" ({len(self.queue)} queued)" if self.queue else ""

    def _stage(self, text: str) -> None:
        if text.startswith("Grouping"):
            self.w.progress.setRange(0, 0)
        self.w.state.setText(text + "…" + self._queued_suffix())

    def _progress(self, p: dict) -> None:
        self.w.progress.setRange(0, max(int(p["files_total"]), 1))
        self.w.progress.setValue(int(p["files_done"]))
        self.w.progress.setFormat(f"{p['files_done']}/{p['files_total']}")
        self.w.state.setText(
            f"Scanning: {p['files_done']} of {plural(p['files_total'], 'file')} · {plural(p['faces'], 'face')} · "
            f"{p['rate']:.1f} files/s · {duration(p['eta_s'])} left" + self._queued_suffix())

    def _step_progress(self, done: int, total: int) -> None:
        self.w.progress.setRange(0, max(total, 1))
        self.w.progress.setValue(done)
        self.w.progress.setFormat("%p%")

    def _done(self, result: dict) -> None:
        s = result.get("scan", {})
        if self.quiet and not (s.get("new_photos") or s.get("faces_added") or s.get("gone")
                               or s.get("offline_roots")):
            # A background check that found nothing new gives the last word back (its "Grouping
            # faces into people…" stayed for good), unless it placed faces that were waiting:
            # a new user saw a person's count change with nothing said.
            c = result.get("cluster", {})
            news = ([f"{plural(c['suggested_to_known'], 'face')} newly suggested for people you named"]
                    if c.get("suggested_to_known") else []) + \
                   ([f"{plural(c['new_albums'], 'new album')}"] if c.get("new_albums") else [])
            if news:
                self.w.state.setText(f"Faces that waited were grouped: {', '.join(news)}.")
            elif self._last_word is not None:
                self.w.state.setText(self._last_word)
            self.finished.emit(result)
            return
        self.last = result
        text = (f"Scan finished in {duration(s.get('seconds'))}: {plural(s.get('new_photos', 0), 'new photo')}, "
                f"{plural(s.get('faces_added', 0), 'face')}")
        if s.get("offline_roots"):
            text += f"; {plural(len(s['offline_roots']), 'folder')} offline"
        self.w.state.setText(text + self._queued_suffix())
        self.finished.emit(result)

    def _failed(self, kind: str, message: str, details: str) -> None:
        if self.quiet:  # nobody asked for this scan: say it where the user looks, no dialog
            log.error("a background scan failed: %s: %s\n%s", kind, message, details)
            self.w.state.setText(f"Looking for new photos failed: {message}")
            self.stopped.emit()
            return
        self.w.state.setText("The scan stopped with an error.")
        if kind == "ModelNotFoundError":
            message = f"A model file is missing: {message}. Reinstall photoface to restore it."
        elif kind == "StoreError":
            message = f"The library could not be written: {message}"
        prompts.show_error(self.dialog_parent, "Scan failed", message, details or None)
        self.stopped.emit()

    def _cancelled(self) -> None:
        self.w.state.setText("Scan cancelled; everything finished so far is kept.")
        self.queue.clear()
        self.queue_quiet.clear()
        self.stopped.emit()

    def _ended(self) -> None:
        self.w.progress.hide()
        self.w.cancel.hide()
        if self.queue:
            self._start(self.queue.pop(0), self.queue_quiet.pop(0))
