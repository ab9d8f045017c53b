"""The bare keys of every review dialog ("Is this NAME?", "Same person?"): one table, so each
dialog answers the same keys and Help → Keyboard Shortcuts lists them from here.

Bare letters, not Alt+letters: a review is hundreds of answers in a row, one key each.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt

# key -> (command, what it does, as the shortcuts sheet says it)
REVIEW_KEYS: dict[Qt.Key, tuple[str, str]] = {
    Qt.Key_Y: ("yes", "Yes, it is this person (“Same person?”: merge the two)"),
    Qt.Key_N: ("no", "No, not this person (“Same person?”: not the same)"),
    Qt.Key_A: ("all", "Yes to every unanswered face of the page"),
    Qt.Key_S: ("skip", "Skip: leave it unanswered and go on"),
    Qt.Key_Return: ("next", "Next page (“Same person?”: next pair)"),
    Qt.Key_Enter: ("next", "Next page (“Same person?”: next pair)"),
    Qt.Key_Space: ("next", "Next page (“Same person?”: next pair)"),
}
SHEET_KEYS = {Qt.Key_Y: "Y", Qt.Key_N: "N", Qt.Key_A: "A", Qt.Key_S: "S", Qt.Key_Return: "Enter"}


def review_command(event) -> str | None:
    """The command of a key press without modifiers ("yes", "no", "all", "skip", "next"), else None."""
    if event.type() not in (QEvent.KeyPress, QEvent.ShortcutOverride):
        return None
    if event.modifiers() not in (Qt.NoModifier, Qt.KeypadModifier):
        return None
    entry = REVIEW_KEYS.get(Qt.Key(event.key()))
    return entry[0] if entry is not None else None


def sheet_rows() -> list[tuple[str, str]]:
    """(keys, what they do) for the shortcuts sheet, Esc included."""
    rows = [(SHEET_KEYS[k], text) for k, (_, text) in REVIEW_KEYS.items() if k in SHEET_KEYS]
    rows.append(("Esc", "Close the dialog; every answer so far is kept"))
    return rows
