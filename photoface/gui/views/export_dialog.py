"""File → Export Albums…: destination, persons, mode, XMP; runs in a thread with progress and cancel."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QVBoxLayout)

from photoface.core.text import plural
from photoface.gui.workers import ThreadJob

MODES = [("Copy the photos (safe everywhere)", "copy"),
         ("Hard links (same drive, no extra space)", "hardlink"),
         ("Symbolic links to the originals", "symlink")]


class ExportDialog(QDialog):
    """Exports named persons' photos to one folder per person; never touches an original.

    Attributes:
        job -- the running export (a ThreadJob), or None.
        report -- the last finished export's ExportReport, or None.
    """

    def __init__(self, lib_dir, persons: list[tuple[int, str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export Albums")
        self.lib_dir = lib_dir
        self.job = None
        self.report = None
        self.dest = QLineEdit(self)
        self.dest.setPlaceholderText("Folder to export into")
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.dest, 1)
        row.addWidget(browse)
        self.persons = QListWidget(self)
        for pid, name in persons:
            item = QListWidgetItem(name, self.persons)
            item.setData(Qt.UserRole, pid)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked)
        self.mode = QComboBox(self)
        for label, value in MODES:
            self.mode.addItem(label, value)
        self.xmp = QCheckBox("Write XMP face regions beside the exported photos (digiKam, Lightroom…)", self)
        self.include_suggested = QCheckBox("Include suggested faces (photoface's guesses you have not confirmed "
                                           "or accepted)", self)
        self.include_suggested.setToolTip("By default an album exports the faces you confirmed, and the faces you "
                                          "accepted by naming, merging or hiding the album; suggestions photoface "
                                          "made since then stay out unless you tick this.")
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Destination:", row)
        form.addRow("People:", self.persons)
        form.addRow("How:", self.mode)
        form.addRow("", self.xmp)
        form.addRow("", self.include_suggested)
        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.Close)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(560, 460)
        self._seen = {"done": 0, "total": 0}
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._show_progress)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into")
        if folder:
            self.dest.setText(folder)

    def selected_persons(self) -> list[int]:
        return [self.persons.item(i).data(Qt.UserRole) for i in range(self.persons.count())
                if self.persons.item(i).checkState() == Qt.Checked]

    def start(self) -> None:
        dest, persons = self.dest.text().strip(), self.selected_persons()
        if not dest or not persons:
            self.status.setText("Choose a destination folder and at least one person.")
            return
        mode, xmp = self.mode.currentData(), self.xmp.isChecked()
        include_suggested = self.include_suggested.isChecked()
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.status.setText("Exporting…")

        # The worker writes its progress here; a timer on the GUI thread shows it (no widget
        # is touched from the worker).
        self._seen = {"done": 0, "total": 0}
        seen = self._seen

        def progress(done: int, total: int) -> None:
            seen["done"], seen["total"] = done, total

        def work(lib):
            from photoface.core.interop.export import export_albums

            return export_albums(lib, dest, person_ids=persons, mode=mode, xmp=xmp,
                                 include_suggested=include_suggested, progress=progress, cancel=job.cancel)

        job = self.job = ThreadJob(self.lib_dir, work)
        job.signals.finished.connect(self._done)
        job.signals.failed.connect(self._failed)
        job.signals.cancelled.connect(self._cancelled)
        self._timer.start()
        job.start()

    def _show_progress(self) -> None:
        if self._seen["total"]:
            self.progress.setRange(0, self._seen["total"])
            self.progress.setValue(self._seen["done"])
            self.status.setText(f"Exporting… {self._seen['done']} of {plural(self._seen['total'], 'photo')}")

    def _done(self, report) -> None:
        self.report = report
        self._idle()
        text = report.summary()
        if report.notes:
            text += "\n" + "\n".join(report.notes)
        self.status.setText(text)

    def _failed(self, kind: str, message: str, details: str) -> None:
        self._idle()
        self.status.setText(f"Export stopped: {message}\nNothing of yours was removed; export again to finish.")

    def _cancelled(self) -> None:
        self._idle()
        self.status.setText("Export cancelled. What was exported is complete; export again to finish.")

    def _idle(self) -> None:
        self._timer.stop()
        self.job = None
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")

    def _cancel_or_close(self) -> None:
        if self.job is not None:
            self.job.cancel.set()
        else:
            self.reject()
