"""The window's menu bar: File, Edit, People, View (views, Back, Full Screen, Colours) and Help.

Every item is a QAction of the window, so Help → Keyboard Shortcuts lists it with its keys.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

#: The sidebar's views, in order (View → 1..4 switch to them).
NAV = ["People", "Unsorted faces", "Hidden", "Folders"]


def _item(window, menu, text, slot, shortcut=None) -> QAction:
    """A menu item of the window: text, what it runs, and its keys."""
    act = QAction(text, window)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
    act.triggered.connect(slot)
    menu.addAction(act)
    return act


def build_menus(window) -> None:
    """Builds the menu bar of a MainWindow (its slots and views must exist)."""
    mb = window.menuBar()
    m = mb.addMenu("&File")
    _item(window, m, "&Add Folder…", window.add_folder_dialog, QKeySequence.Open)
    _item(window, m, "&Rescan All Folders", lambda: window.scan_folders(None), "F5")
    m.addSeparator()
    _item(window, m, "&Export Albums…", window.show_export, "Ctrl+E")
    _item(window, m, "Files That Could Not Be &Read…", window.show_errors)
    # The platform's Preferences key where it has one (none on most Linux desktops: Ctrl+,).
    preferences = QKeySequence(QKeySequence.Preferences)
    _item(window, m, "&Preferences…", window.show_preferences,
          preferences if not preferences.isEmpty() else "Ctrl+,")
    m.addSeparator()
    _item(window, m, "&Quit", window.close, QKeySequence.Quit)
    m = mb.addMenu("&Edit")
    m.addAction(window.actions.undo_action)
    m.addAction(window.actions.redo_action)
    window.addAction(window.actions.undo_action)
    window.addAction(window.actions.redo_action)
    m = mb.addMenu("&People")
    _item(window, m, "&Same Person?…", window.show_same_person)
    _item(window, m, "&Is This…? (review the open person)", window._review_current, "Ctrl+R")
    _item(window, m, "&Merge Selected", window.people.merge_selected, "Ctrl+M")
    _item(window, m, "&Dismiss Background Faces (Unsorted)", window._dismiss_background)
    _item(window, m, "Photos &Together…", window.people.show_shared, "Ctrl+T")
    m.addSeparator()
    _item(window, m, "Re&group Faces", lambda: window.run_cluster(full=True))
    _item(window, m, "Improve &Recognition…", window.show_improve)
    m = mb.addMenu("&View")
    for i, name in enumerate(NAV):
        _item(window, m, name, lambda checked=False, n=name: window.show_view(n), f"Ctrl+{i + 1}")
    # Esc, Alt+Left (the platform's Back) and Backspace, as in a browser or a file manager;
    # a line edit keeps Backspace (it claims the key before shortcuts are looked up).
    window.back_action = _item(window, m, "&Back to People", window.go_back)
    window.back_action.setShortcuts([QKeySequence("Esc"), QKeySequence("Alt+Left"), QKeySequence("Backspace")])
    m.addSeparator()
    window.fullscreen_action = _item(window, m, "&Full Screen", window.toggle_full_screen, "F11")
    window.fullscreen_action.setCheckable(True)
    colours = m.addMenu("&Colours")
    window.scheme_actions = {}
    group = QActionGroup(window)
    for choice, label in (("system", "Like the &System"), ("light", "&Light"), ("dark", "&Dark")):
        act = colours.addAction(label)
        act.setCheckable(True)
        act.setChecked(window.theme.choice == choice)
        act.triggered.connect(lambda checked=False, c=choice: window.theme.set_choice(c))
        group.addAction(act)
        window.scheme_actions[choice] = act
    m = mb.addMenu("&Help")
    _item(window, m, "&Keyboard Shortcuts…", window.show_shortcuts, "F1")
    _item(window, m, "&About photoface", window.show_about)
