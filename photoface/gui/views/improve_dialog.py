"""People → Improve Recognition…: fine-tune on the user's confirmations, show before/after,
then Activate or Discard; also lists every model version for a one-click rollback.

Training and re-embedding load TensorFlow, so they run as child-process jobs ("finetune",
"activate") like the scan: the window stays responsive and Cancel stops them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

from photoface.gui import prompts
from photoface.gui.workers import ProcessJob


class ImproveDialog(QDialog):
    """Attributes:
        job -- the running child job, or None.
        result -- the last fine-tuning result (a plain dict), or None.
    """

    model_changed = Signal()

    def __init__(self, lib_dir, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Improve Recognition")
        self.lib_dir = str(lib_dir)
        self.job = None
        self.result = None
        self.intro = QLabel(
            "photoface trains its own copy of its face model on the people you confirmed, checks it "
            "on confirmed faces it did not train on, and offers it only if it tells people apart at "
            "least as well. Your names and decisions are kept whatever you choose.", self)
        self.intro.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, 5, self)
        self.table.setHorizontalHeaderLabels(["Model", "Telling apart (AUC)", "Corrections needed", "Wrong suggestions", "Faces"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setVisible(False)
        self.models = QListWidget(self)
        self.train_button = QPushButton("Improve Recognition", self)
        self.activate_button = QPushButton("Activate", self)
        self.discard_button = QPushButton("Discard", self)
        self.use_button = QPushButton("Use Selected Model", self)
        self.cancel_button = QPushButton("Cancel", self)
        for b, slot in ((self.train_button, self.start_training), (self.activate_button, self.activate_new),
                        (self.discard_button, self.discard_new), (self.use_button, self.use_selected),
                        (self.cancel_button, self.cancel)):
            b.clicked.connect(slot)
        self.activate_button.setEnabled(False)
        self.discard_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        row = QHBoxLayout()
        for b in (self.train_button, self.activate_button, self.discard_button, self.cancel_button):
            row.addWidget(b)
        close = QDialogButtonBox(QDialogButtonBox.Close, self)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.table)
        layout.addWidget(QLabel("Models (the active one is marked; roll back to any of them):", self))
        layout.addWidget(self.models)
        layout.addWidget(self.use_button)
        layout.addWidget(close)
        self.resize(640, 560)
        self.reload_models()

    # --- model list -----------------------------------------------------------------------

    def reload_models(self) -> None:
        from photoface.core.learning.versions import list_models
        from photoface.core.library.store import Library

        self.models.clear()
        with Library(self.lib_dir) as lib:
            for m in list_models(lib):
                label = "shipped (FaceNet 20180408-102900)" if m.id == "shipped" else f"{m.id}  {m.created_at}"
                item = QListWidgetItem(("● " if m.active else "   ") + label, self.models)
                item.setData(256, m.id)

    # --- jobs -----------------------------------------------------------------------------

    def _run(self, name: str, args: dict, done) -> None:
        self.job = ProcessJob(name, self.lib_dir, args, self)
        self.job.stage.connect(self.status.setText)
        self.job.step_progress.connect(self._progress)
        self.job.finished.connect(done)
        self.job.failed.connect(self._failed)
        self.job.cancelled.connect(lambda: self.status.setText("Cancelled; nothing changed."))
        self.job.ended.connect(self._idle)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        for b in (self.train_button, self.activate_button, self.discard_button, self.use_button):
            b.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job.start()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _idle(self) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.train_button.setEnabled(True)
        self.use_button.setEnabled(True)
        offered = bool(self.result and self.result.get("accepted"))
        self.activate_button.setEnabled(offered)
        self.discard_button.setEnabled(offered)

    def _failed(self, kind: str, message: str, details: str) -> None:
        self.status.setText(message if kind == "NotEnoughToLearn" else f"{kind}: {message}")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def start_training(self) -> None:
        self.result = None
        self.table.setVisible(False)
        self._run("finetune", {}, self._trained)

    def _trained(self, result: dict) -> None:
        self.result = result
        rows = [("Shipped model", result["shipped"])]
        if result["current_model"] != "shipped":
            rows.append(("Current model", result["before"]))
        rows.append(("New model", result["after"]))
        self.table.setRowCount(len(rows))
        for r, (name, fig) in enumerate(rows):
            for c, text in enumerate((name, f"{fig['auc']:.4f}", str(fig["ops_to_clean"]),
                                      str(fig.get("wrong_suggestions", 0)), str(fig["faces"]))):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.setVisible(True)
        self.status.setText(result["reason"])
        self.reload_models()

    def activate_new(self) -> None:
        if self.result and self.result.get("model_id"):
            self._activate(self.result["model_id"])

    def use_selected(self) -> None:
        item = self.models.currentItem()
        if item is not None:
            self._activate(item.data(256))

    def _activate(self, model_id: str) -> None:
        """Re-embeds and plans (a child process), shows what the switch would change in named
        albums, and switches only on Apply (one undoable decision)."""
        def switched(result: dict) -> None:
            self.status.setText(f"Now using {model_id}: every face was re-embedded and the undecided "
                                f"faces regrouped; your decisions are unchanged (Edit → Undo switches back).")
            self.reload_models()
            self.model_changed.emit()

        def prepared(result: dict) -> None:
            summary = result["summary"]
            if summary["needs_confirmation"] and not prompts.ask_apply(
                    self, "Switch model", f"Using {model_id} would change these albums "
                    f"(Edit → Undo takes it back):", summary["lines"]):
                Path(result["plan"]).unlink(missing_ok=True)
                self.status.setText("Not switched; the current model stays in use.")
                return
            # Started once this job has ended (its `ended` re-enables the buttons first).
            QTimer.singleShot(0, lambda: self._run("apply_plan", {"plan": result["plan"],
                                                                  "activation": result["activation"]}, switched))

        self._run("activate", {"model_id": model_id}, prepared)

    def discard_new(self) -> None:
        from photoface.core.learning.versions import discard_model
        from photoface.core.library.store import Library

        if self.result and self.result.get("model_id"):
            with Library(self.lib_dir) as lib:
                discard_model(lib, self.result["model_id"])
            self.result = None
            self.status.setText("Discarded; the current model stays.")
            self.reload_models()
            self._idle()
