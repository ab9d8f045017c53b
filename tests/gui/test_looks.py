"""Issue 17, part 8: looks at home. The palette follows the system's colour scheme with a View
menu override (remembered), counts read "1 face" / "2 faces", and Help → About says what runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette

from photoface import __version__
from photoface.gui.theme import SETTING, Theme, effective_scheme, is_dark

from .conftest import screenshot, wait_idle

GUI = Path(__file__).resolve().parents[2] / "photoface" / "gui"


def test_effective_scheme():
    assert effective_scheme("system", Qt.ColorScheme.Dark) == "dark"
    assert effective_scheme("system", Qt.ColorScheme.Light) == "light"
    assert effective_scheme("system", Qt.ColorScheme.Unknown) == "light"
    assert effective_scheme("dark", Qt.ColorScheme.Light) == "dark"
    assert effective_scheme("light", Qt.ColorScheme.Dark) == "light"
    assert effective_scheme("nonsense", Qt.ColorScheme.Dark) == "dark"


def test_no_count_in_gui_text_skips_the_plural():
    """Counts go through core.text.plural: no "face(s)", no "{n} faces" that reads "1 faces"."""
    bad = []
    count_then_word = re.compile(r"\{[^{}]+\} (faces|photos|files|persons|people|folders|pairs|suggestions)\b(?!/)")  # "files/s": a rate
    for path in GUI.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "(s)" in line or count_then_word.search(line):
                bad.append(f"{path.relative_to(GUI)}:{number}: {line.strip()}")
    assert bad == []


@pytest.mark.model
def test_dark_scheme_from_the_view_menu_is_remembered_and_system_is_followed(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    try:
        assert win.theme.choice == "system" and win.scheme_actions["system"].isChecked()
        win.scheme_actions["dark"].trigger()
        assert win.theme.scheme == "dark" and is_dark(QGuiApplication.palette())
        assert win.qsettings.value(SETTING) == "dark"
        win.people.grid.viewport().update()
        wait_idle(qtbot, win)
        screenshot(win, "dark-scheme")
        win.open_person(win.people.model.items[0].id)
        wait_idle(qtbot, win)
        screenshot(win, "dark-scheme-person")

        again = Theme(win.qsettings)  # what the next start reads
        assert again.choice == "dark" and again.scheme == "dark"

        win.scheme_actions["light"].trigger()
        assert not is_dark(QGuiApplication.palette())
        assert QGuiApplication.palette().color(QPalette.Base).lightness() > 200

        # "Like the system": the desktop switching to dark switches the window.
        win.scheme_actions["system"].trigger()
        win.theme.system_scheme = lambda: Qt.ColorScheme.Dark
        QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert win.theme.scheme == "dark"
        win.theme.system_scheme = lambda: Qt.ColorScheme.Light
        QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert win.theme.scheme == "light"
    finally:
        win.theme.set_choice("light")  # the palette is the application's: leave it light for later tests


@pytest.mark.model
def test_about_names_version_model_device_and_library(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    win.device_label.setText("Device: CPU")
    box = win.show_about()
    text = box.text()
    assert __version__ in text and "shipped" in text and "CPU" in text and str(win.library.root) in text
    qtbot.wait(50)
    screenshot(box, "about")
    box.close()
