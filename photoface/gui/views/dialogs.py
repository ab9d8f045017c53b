"""Small dialogs: files that failed (Preferences: views/preferences.py; Photos together:
views/shared_photos.py)."""

from __future__ import annotations

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

from photoface.core.text import plural
from photoface.core.library.store import Library


class ErrorsDialog(QDialog):
    """The files that could not be read, with the reason (Library.errors())."""

    def __init__(self, library: Library, parent=None):
        super().__init__(parent)
        rows = library.errors()
        self.setWindowTitle("Files that could not be read")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{plural(len(rows), 'file')} could not be read. They are skipped; fix or remove them "
                                "and rescan." if rows else "Every file was read."))
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["File", "Reason"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        for r, (path, reason) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(path))
            self.table.setItem(r, 1, QTableWidgetItem(reason or ""))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(820, 420)
