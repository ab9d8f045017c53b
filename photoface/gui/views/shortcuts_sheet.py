"""Help → Keyboard Shortcuts: one table, generated from the window's actions (and the review
dialogs' bare keys), so it cannot fall behind a menu; and the check that no two actions that can
be active together share a key (Qt runs neither of two ambiguous shortcuts, silently).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QMenu, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from photoface.gui.views.review_keys import sheet_rows

SCOPE = "shortcut_scope"  # an action's property: where a widget-wide shortcut works ("Selected faces")
SHEET_TEXT = "shortcut_text"  # an action's property: its words in the sheet when its text changes ("Undo")
WINDOW_WIDE = (Qt.WindowShortcut, Qt.ApplicationShortcut)


@dataclass(frozen=True)
class ShortcutRow:
    """One line of the sheet: where it works, what it does, its keys ("Ctrl+Z, Ctrl+Y")."""

    where: str
    what: str
    keys: str


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".…")


def _menu_path(action: QAction) -> str | None:
    for obj in action.associatedObjects():
        if isinstance(obj, QMenu):
            return _plain(obj.title())
    return None


def _widget(action: QAction) -> QWidget | None:
    return next((o for o in action.associatedObjects() if isinstance(o, QWidget) and not isinstance(o, QMenu)), None)


def shortcut_actions(window) -> list[QAction]:
    """Every action of the window (menus, views, panels) that has a shortcut."""
    return [a for a in window.findChildren(QAction) if any(not s.isEmpty() for s in a.shortcuts())]


def action_words(action: QAction) -> str:
    """What an action does, in the sheet: "Undo", not whatever "Undo Merge" the history makes it."""
    return action.property(SHEET_TEXT) or _plain(action.text())


def keys_text(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.NativeText) for s in action.shortcuts() if not s.isEmpty())


def shortcut_rows(window) -> list[ShortcutRow]:
    """The sheet's rows: the menus' actions (by menu), then those of views and panels, then the
    review dialogs' keys."""
    rows = []
    for action in shortcut_actions(window):
        if action.shortcutContext() in WINDOW_WIDE:
            where = _menu_path(action) or "Window"
        else:
            # Never a class name: a new user saw "PhotoDialog" in the sheet.
            owner = _widget(action) or action.parent()
            title = owner.window().windowTitle() if isinstance(owner, QWidget) else ""
            where = action.property(SCOPE) or title or "Elsewhere"
        rows.append(ShortcutRow(str(where), action_words(action), keys_text(action)))
    rows = list(dict.fromkeys(rows))  # one line for the same panel shown in two views
    order = {"File": 0, "Edit": 1, "People": 2, "View": 3, "Help": 4}
    rows.sort(key=lambda r: (order.get(r.where, 5), r.where))
    rows += [ShortcutRow("Review dialogs (Is this…?, Same person?)", what, keys) for keys, what in sheet_rows()]
    return rows


def shortcut_conflicts(window) -> list[str]:
    """Pairs of actions with a common key that can be active at the same time: two window-wide
    ones, a window-wide one and one of a view, or two of the same view or of nested ones."""
    found = []
    actions = shortcut_actions(window)
    for i, a in enumerate(actions):
        for b in actions[i + 1:]:
            common = {s.toString() for s in a.shortcuts()} & {s.toString() for s in b.shortcuts()} - {""}
            if not common:
                continue
            wa, wb = _widget(a), _widget(b)
            a_wide, b_wide = a.shortcutContext() in WINDOW_WIDE, b.shortcutContext() in WINDOW_WIDE
            together = a_wide or b_wide or wa is wb or (wa is not None and wb is not None
                                                        and (wa.isAncestorOf(wb) or wb.isAncestorOf(wa)))
            if together:
                found.append(f"{_plain(a.text())} and {_plain(b.text())}: {', '.join(sorted(common))}")
    return found


class ShortcutsDialog(QDialog):
    """The sheet as a read-only table. Attributes: table -- the QTableWidget; rows -- its ShortcutRows."""

    def __init__(self, window, parent=None):
        super().__init__(parent if parent is not None else window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.rows = shortcut_rows(window)
        layout = QVBoxLayout(self)
        self.table = QTableWidget(len(self.rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "What", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        for r, row in enumerate(self.rows):
            for c, text in enumerate((row.where, row.what, row.keys)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeToContents)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        # Tall enough for the whole table where the screen allows: a sheet is read at a glance.
        rows_px = self.table.verticalHeader().length() + self.table.horizontalHeader().height() + 2 * 4
        screen = self.screen().availableGeometry()
        self.resize(min(900, screen.width()), min(rows_px + 120, round(screen.height() * 0.9)))
