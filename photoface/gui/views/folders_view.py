"""The library's folders: add, remove, rescan, exclude a subfolder; offline ones are marked."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from photoface.gui import prompts
from photoface.gui.context import Context


class FoldersView(QWidget):
    """Attributes:
        roots -- QListWidget of folders (item data: path); excludes -- QListWidget of patterns.
        add_requested -- the user wants to add (and scan) folders; rescan_requested -- folders or [] for all.
    """

    add_requested = Signal(list)
    rescan_requested = Signal(list)
    changed = Signal()

    def __init__(self, ctx: Context, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(QLabel("<b>Folders</b> — photoface looks for photos in these folders and below."))
        self.roots = QListWidget()
        self.roots.setSelectionMode(QListWidget.ExtendedSelection)
        layout.addWidget(self.roots, 2)
        bar = QHBoxLayout()
        for label, slot in (("&Add folder…", self.add_folder), ("&Remove", self.remove_selected),
                            ("&Exclude a subfolder…", self.exclude_subfolder),
                            ("Re&scan", self.rescan_selected), ("Rescan a&ll", lambda: self.rescan_requested.emit([]))):
            b = QPushButton(label)
            b.clicked.connect(slot)
            bar.addWidget(b)
        bar.addStretch(1)
        layout.addLayout(bar)
        layout.addWidget(QLabel("<b>Excluded</b> — folder names or paths (wildcards allowed) that are skipped."))
        self.excludes = QListWidget()
        layout.addWidget(self.excludes, 1)
        bar2 = QHBoxLayout()
        add_pattern = QPushButton("Exclude by &pattern…")
        add_pattern.clicked.connect(self.exclude_pattern)
        include = QPushButton("&Include again")
        include.clicked.connect(self.include_selected)
        bar2.addWidget(add_pattern)
        bar2.addWidget(include)
        bar2.addStretch(1)
        layout.addLayout(bar2)

    def reload(self) -> None:
        lib = self.ctx.library
        self.roots.clear()
        for _, path in lib.roots():
            online = os.path.isdir(path)
            item = QListWidgetItem(path if online else f"{path}   — offline (drive or folder missing; its photos are kept)")
            item.setData(Qt.UserRole, path)
            if not online:
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
                item.setToolTip("This folder is missing: its photos stay in the library until it comes back.")
            self.roots.addItem(item)
        self.excludes.clear()
        for pattern in lib.excludes():
            self.excludes.addItem(pattern)

    def selected_roots(self) -> list[str]:
        return [i.data(Qt.UserRole) for i in self.roots.selectedItems()]

    def add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if path:
            self.add_requested.emit([path])

    def remove_selected(self) -> None:
        paths = self.selected_roots()
        if paths and prompts.ask_yes_no(self, "Remove folders",
                                        "Stop looking in these folders? Their photos leave the albums; "
                                        "names and decisions are kept.\n\n" + "\n".join(paths)):
            for p in paths:
                self.ctx.library.remove_root(p)
            self.reload()
            self.changed.emit()

    def exclude_subfolder(self) -> None:
        roots = self.selected_roots() or [p for _, p in self.ctx.library.roots()]
        start = roots[0] if roots else ""
        path = QFileDialog.getExistingDirectory(self, "Exclude a subfolder", start)
        if path:
            self.add_exclude(path)

    def exclude_pattern(self) -> None:
        pattern = prompts.ask_text(self, "Exclude", "Skip folders matching (e.g. *.thumbnails or /home/me/Pictures/Private):")
        if pattern:
            self.add_exclude(pattern)

    def add_exclude(self, pattern: str) -> None:
        self.ctx.library.add_exclude(pattern)
        self.reload()
        self.changed.emit()

    def include_selected(self) -> None:
        for item in self.excludes.selectedItems():
            self.ctx.library.remove_exclude(item.text())
        self.reload()
        self.changed.emit()

    def rescan_selected(self) -> None:
        paths = self.selected_roots()
        if paths:
            self.rescan_requested.emit(paths)
