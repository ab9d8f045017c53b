"""Light or dark: the palette follows the system's colour scheme (Qt's colour-scheme hint), unless
the View menu says Light or Dark; the choice is kept in the UI settings.

Qt's own styles follow the scheme only where the platform theme supplies a dark palette (not
under a bare X server or the offscreen platform), so a dark palette is set explicitly; where Qt
can (6.8+), the scheme is also requested from the platform, so native dialogs match.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette

CHOICES = ("system", "light", "dark")
SETTING = "view/color_scheme"


def effective_scheme(choice: str, system: Qt.ColorScheme) -> str:
    """'light' or 'dark': the user's choice, or for 'system' (and anything unknown) the system's,
    light where the system says nothing."""
    if choice in ("light", "dark"):
        return choice
    return "dark" if system == Qt.ColorScheme.Dark else "light"


def dark_palette() -> QPalette:
    """A dark palette for every role the widgets use, disabled text dimmed."""
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(230, 230, 230)
    accent = QColor(61, 142, 201)
    pal = QPalette()
    for role, colour in ((QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
                         (QPalette.AlternateBase, QColor(40, 40, 43)), (QPalette.ToolTipBase, QColor(60, 60, 64)),
                         (QPalette.ToolTipText, text), (QPalette.PlaceholderText, QColor(140, 140, 140)),
                         (QPalette.Text, text), (QPalette.Button, QColor(55, 55, 58)), (QPalette.ButtonText, text),
                         (QPalette.BrightText, QColor(255, 90, 90)), (QPalette.Light, QColor(80, 80, 84)),
                         (QPalette.Midlight, QColor(66, 66, 70)), (QPalette.Mid, QColor(90, 90, 94)),
                         (QPalette.Dark, QColor(25, 25, 27)), (QPalette.Shadow, QColor(0, 0, 0)),
                         (QPalette.Highlight, accent), (QPalette.HighlightedText, QColor(255, 255, 255)),
                         (QPalette.Link, QColor(110, 170, 230)), (QPalette.LinkVisited, QColor(170, 130, 220))):
        pal.setColor(role, colour)
    dim = QColor(125, 125, 125)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, dim)
    pal.setColor(QPalette.Disabled, QPalette.Highlight, QColor(80, 80, 84))
    return pal


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.Window).lightness() < 128


class Theme(QObject):
    """Applies the palette for the user's choice and follows the system while the choice is 'system'.

    Attributes:
        choice -- 'system', 'light' or 'dark' (kept in the settings under SETTING).
        scheme -- what is shown now: 'light' or 'dark'.
        changed -- emitted with `scheme` after the palette changed.
    """

    changed = Signal(str)

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        app = QGuiApplication.instance()
        self._light = QPalette(app.palette())  # the platform's own (light, or the system's dark)
        if is_dark(self._light):
            self._light = app.style().standardPalette() if hasattr(app, "style") else QPalette()
        self.choice = str(settings.value(SETTING, "system"))
        if self.choice not in CHOICES:
            self.choice = "system"
        self.scheme = ""
        # What the system says now (a test may stand in for a desktop switching to dark).
        self.system_scheme = lambda: QGuiApplication.styleHints().colorScheme()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_changed)
        if self.choice != "system":
            self._request()
        self.apply()

    def set_choice(self, choice: str) -> None:
        self.choice = choice if choice in CHOICES else "system"
        self.settings.setValue(SETTING, self.choice)
        self._request()
        self.apply()

    def _system_changed(self, _scheme) -> None:
        if self.choice == "system":
            self.apply()

    def _request(self) -> None:
        """Asks the platform for the chosen scheme (Qt 6.8+; Unknown gives the system's back), so
        native dialogs and the style match; a no-op where the platform cannot."""
        hints = QGuiApplication.styleHints()
        if not hasattr(hints, "setColorScheme"):
            return
        wanted = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(self.choice, Qt.ColorScheme.Unknown)
        hints.blockSignals(True)  # our own request is not the system changing its mind
        try:
            hints.setColorScheme(wanted)
        finally:
            hints.blockSignals(False)

    def apply(self) -> None:
        """Sets the application's palette for the choice (and, for 'system', the system's scheme)."""
        scheme = effective_scheme(self.choice, self.system_scheme())
        QGuiApplication.setPalette(dark_palette() if scheme == "dark" else self._light)
        if scheme != self.scheme:
            self.scheme = scheme
            self.changed.emit(scheme)
