"""Help → About photoface: what runs here (version, face model, compute device) and where the library is."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QMessageBox

from photoface import APP_NAME, __version__


def about_html(model: str, device: str, library_dir: str, version: str = __version__) -> str:
    """The About text; `device` is what the status bar shows ("not known yet" before the models load)."""
    return (f"<h3>{APP_NAME} {escape(version)}</h3>"
            "<p>Finds the faces in your photos and groups them by person, privately, on this computer.</p>"
            "<table>"
            f"<tr><td nowrap>Version</td><td>{escape(version)}</td></tr>"
            f"<tr><td nowrap>Face&nbsp;model&nbsp;&nbsp;</td><td>{escape(model)}</td></tr>"
            f"<tr><td nowrap>Device</td><td>{escape(device)}</td></tr>"
            f"<tr><td nowrap>Library&nbsp;folder&nbsp;&nbsp;</td><td>{escape(library_dir)}</td></tr>"
            "</table>")


def show_about(parent, model: str, device: str, library_dir: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Information, f"About {APP_NAME}", "", QMessageBox.Close, parent)
    box.setText(about_html(model, device, library_dir))
    box.setIconPixmap(parent.windowIcon().pixmap(64, 64))
    box.open()  # not exec(): a test, or the user, may go on while it is open
    return box
