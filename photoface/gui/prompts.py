"""The few questions the window asks, in one place (tests replace these functions).

Callers use them as `prompts.ask_text(...)`, so a test can monkeypatch this module.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCompleter, QDialog, QDialogButtonBox, QLabel, QLineEdit, QMessageBox,
                               QVBoxLayout, QWidget)


def ask_text(parent: QWidget | None, title: str, label: str, completions: list[str] | None = None,
             text: str = "") -> str | None:
    """A line of text, with completion over `completions`; None when cancelled."""
    dlg = QDialog(parent)
    dlg.setWindowTitle(title)
    layout = QVBoxLayout(dlg)
    layout.addWidget(QLabel(label))
    edit = QLineEdit(text)
    edit.setMinimumWidth(320)
    if completions:
        completer = QCompleter(completions, edit)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        completer.setFilterMode(Qt.MatchContains)
        edit.setCompleter(completer)
    layout.addWidget(edit)
    buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    buttons.accepted.connect(dlg.accept)
    buttons.rejected.connect(dlg.reject)
    layout.addWidget(buttons)
    if dlg.exec() != QDialog.Accepted:
        return None
    return edit.text().strip()


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    return QMessageBox.question(parent, title, text, QMessageBox.Yes | QMessageBox.No,
                                QMessageBox.Yes) == QMessageBox.Yes


def apply_box(parent: QWidget | None, title: str, intro: str, lines: list[str]) -> QMessageBox:
    """The question `ask_apply` asks, built and not shown; its default button is Apply."""
    box = QMessageBox(QMessageBox.Question, title, intro, QMessageBox.NoButton, parent)
    box.setInformativeText("\n".join(lines))
    apply = box.addButton("Apply", QMessageBox.AcceptRole)
    box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(apply)
    return box


def ask_apply(parent: QWidget | None, title: str, intro: str, lines: list[str]) -> bool:
    """What a change will do, with Apply / Cancel; True for Apply."""
    box = apply_box(parent, title, intro, lines)
    box.exec()
    return box.clickedButton() is box.defaultButton()


def show_error(parent: QWidget | None, title: str, text: str, details: str | None = None) -> None:
    """A warning box; `details` (a traceback) goes behind "Show Details…"."""
    box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.exec()
