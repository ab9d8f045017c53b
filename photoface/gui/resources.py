"""Files shipped next to the package (the app icon), found relative to the package, never the
working directory: `<repo>/resources` from a source tree, `sys._MEIPASS/resources` when frozen."""

from __future__ import annotations

import sys
from pathlib import Path

import photoface


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return Path(photoface.__file__).resolve().parent.parent / "resources"


def resource_path(name: str) -> Path:
    return resources_dir() / name


def app_icon():
    """The window icon (an empty QIcon when the file is missing: a missing icon is no reason to fail)."""
    from PySide6.QtGui import QIcon

    path = resource_path("photoface.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()
