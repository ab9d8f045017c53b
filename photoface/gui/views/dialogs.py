"""Small dialogs: files that failed, photos together (Preferences: views/preferences.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

from photoface.core.library.store import Library
from photoface.gui.context import Context
from photoface.gui.views.photo_list import PhotoList, PhotoRow


class ErrorsDialog(QDialog):
    """The files that could not be read, with the reason (Library.errors())."""

    def __init__(self, library: Library, parent=None):
        super().__init__(parent)
        rows = library.errors()
        self.setWindowTitle("Files that could not be read")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{len(rows)} file(s) could not be read. They are skipped; fix or remove them "
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


class SharedPhotosDialog(QDialog):
    """Photos in which all the given persons appear (people.shared_photos)."""

    def __init__(self, ctx: Context, names: list[str], rows: list[PhotoRow], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Photos together")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{len(rows)}</b> photo(s) with " + ", ".join(names)
                                if rows else "No photo shows all of " + ", ".join(names) + "."))
        self.list = PhotoList(ctx.thumbs)
        self.list.set_rows(rows)
        self.list.open_photo.connect(lambda pid, fid: ctx.open_photo(pid, fid))
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 480)
        self.list.setFocus(Qt.OtherFocusReason)
