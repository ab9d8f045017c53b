"""A model switch run from the window (a change of arithmetic in Preferences), in the status bar.

The same two child jobs as People → Improve Recognition's Activate: "activate" re-embeds every face
and plans the regroup (progress, Cancel keeps the faces done for next time), the user sees what the
switch would change in named albums, and "apply_plan" switches in one undoable decision.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QWidget

from photoface.core.albums.review import ARITHMETIC
from photoface.gui import prompts
from photoface.gui.workers import ProcessJob


class ModelSwitch(QObject):
    """Switches the library's model or arithmetic in the background.

    Attributes:
        job -- the running child job, or None; applying -- the user chose Apply and "apply_plan" is
            about to start. progress, cancel -- their status-bar widgets (hidden while idle);
            state -- the window's status label, where it says what happened.
    Signals:
        switched() -- the switch was applied (the window reloads); failed(str, str) -- message, details.
    """

    switched = Signal()
    failed = Signal(str, str)

    def __init__(self, lib_dir, state: QLabel, dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.lib_dir = str(lib_dir)
        self.state = state
        self.dialog_parent = dialog_parent
        self.job: ProcessJob | None = None
        self.applying = False
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop switching; the faces re-read so far are kept for next time")
        self.cancel.clicked.connect(self._cancel)
        self.cancel.hide()

    @property
    def running(self) -> bool:
        """From start() until the switch is applied, refused, cancelled or failed."""
        return self.job is not None or self.applying

    def start(self, model_id: str, precision: str) -> None:
        """Re-embeds every face with `model_id` in `precision`, asks, then switches."""
        words = ARITHMETIC.get(precision, precision).lower()
        self.state.setText(f"Switching to {words} arithmetic: re-reading every face…")

        def switched(result: dict) -> None:
            # Short: the status bar cut the longer sentence off in the middle of a word.
            self.state.setText(f"Face matching now uses {words} arithmetic. Edit → Undo switches back.")
            self.switched.emit()

        def prepared(result: dict) -> None:
            summary = result["summary"]
            # The faces are read: no bar at 100 % and no Cancel beside a dialog that waits for an answer.
            self._idle()
            if summary["needs_confirmation"]:
                self.state.setText("Every face is re-read: choose Apply or Cancel in the dialog.")
            if summary["needs_confirmation"] and not prompts.ask_apply(
                    self.dialog_parent, "Switch arithmetic", f"{words.capitalize()} arithmetic would change "
                    f"these albums (Edit → Undo takes it back):", summary["lines"]):
                Path(result["plan"]).unlink(missing_ok=True)
                self.state.setText("Not switched; face matching stays as it was.")
                return
            # Started once this job has ended (its `ended` clears `job` first).
            self.applying = True
            QTimer.singleShot(0, lambda: self._run("apply_plan", {"plan": result["plan"],
                                                                  "activation": result["activation"]}, switched))

        self._run("activate", {"model_id": model_id, "precision": precision}, prepared)

    def _run(self, name: str, args: dict, done) -> None:
        self.applying = False
        self.job = ProcessJob(name, self.lib_dir, args, self)
        self.job.step_progress.connect(self._progress)
        self.job.finished.connect(done)
        self.job.failed.connect(lambda kind, message, details: self.failed.emit(message, details))
        self.job.cancelled.connect(lambda: self.state.setText(
            "Switch cancelled; face matching stays as it was (the faces re-read so far are kept for next time)."))
        self.job.ended.connect(self._idle)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel.setEnabled(True)
        self.cancel.show()
        self.job.start()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _cancel(self) -> None:
        if self.job is not None:
            self.cancel.setEnabled(False)
            self.state.setText("Cancelling…")
            self.job.cancel()

    def _idle(self) -> None:
        self.job = None
        self.progress.hide()
        self.cancel.hide()
