"""Window state (geometry, splitters, last view) in QSettings. Library settings live in the library."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from photoface import APP_NAME


def ui_settings(path: str | None = None) -> QSettings:
    """The UI state store: the platform's default place, or an INI file at `path` (tests)."""
    if path is not None:
        return QSettings(path, QSettings.IniFormat)
    return QSettings(APP_NAME, APP_NAME)
