"""The main window: sidebar, views, menus, status bar and drag-and-drop of folders (scans: scan_controller)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QLabel, QListView, QListWidget,
                               QMainWindow, QProgressBar, QPushButton, QSplitter, QStackedWidget,
                               QVBoxLayout, QWidget)

from photoface import APP_NAME
from photoface.core.config import model_version
from photoface.core.library.people import dismissed_faces, unsorted_faces
from photoface.core.library.store import Library
from photoface.core.text import plural
from photoface.gui import prompts
from photoface.gui.actions import Actions
from photoface.gui.context import Context
from photoface.gui.item_models import NameFilter
from photoface.gui.menus import NAV, build_menus
from photoface.gui.model_switch import ModelSwitch
from photoface.gui.photo_thumbs import PhotoThumbnailCache
from photoface.gui.qtfix import protect_none
from photoface.gui.resources import app_icon
from photoface.gui.scan_controller import ScanController, StatusWidgets
from photoface.gui.settings import ui_settings
from photoface.gui.thumbnails import ThumbnailCache
from photoface.gui.theme import Theme
from photoface.gui.views.about import show_about
from photoface.gui.views.dialogs import ErrorsDialog
from photoface.gui.views.unsorted_view import UnsortedView
from photoface.gui.views.folders_view import FoldersView
from photoface.gui.views.people_view import PeopleView
from photoface.gui.views.person_view import PersonView
from photoface.gui.views.photo_view import PhotoDialog
from photoface.gui.views.preferences import PreferencesDialog
from photoface.gui.views.review_dialog import ReviewDialog
from photoface.gui.views.same_person import SamePersonDialog
from photoface.gui.views.shared_photos import SharedPhotosDialog
from photoface.gui.views.shortcuts_sheet import ShortcutsDialog
from photoface.gui.window_geometry import first_geometry
from photoface.gui.workers import ProcessJob, ThreadJob

log = logging.getLogger(__name__)



class WelcomePage(QWidget):
    """Shown while the library has no folder: drop folders here, or Add Folder."""

    add_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel(f"<h1>Welcome to {APP_NAME}</h1>")
        title.setAlignment(Qt.AlignCenter)
        text = QLabel("Drop folders of photos anywhere on this window,<br>or add one. photoface finds the "
                      "faces and groups them by person — privately, on this computer.")
        text.setAlignment(Qt.AlignCenter)
        text.setWordWrap(True)
        self.zone = QLabel("⬇  Drop folders here")
        self.zone.setAlignment(Qt.AlignCenter)
        self.zone.setMinimumSize(QSize(420, 160))
        self.zone.setStyleSheet("QLabel { border: 3px dashed palette(mid); border-radius: 16px; font-size: 20px; }")
        button = QPushButton("&Add Folder…")
        button.clicked.connect(self.add_clicked)
        for w in (title, text):
            layout.addWidget(w)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.zone)
        row.addStretch(1)
        layout.addLayout(row)
        brow = QHBoxLayout()
        brow.addStretch(1)
        brow.addWidget(button)
        brow.addStretch(1)
        layout.addLayout(brow)
        layout.addStretch(2)


class MainWindow(QMainWindow):
    """The photoface window over one library.

    Attributes:
        library -- the GUI thread's Library; actions -- the undoable Actions; thumbs -- the cache.
        people, person, unsorted, hidden, folders, welcome -- the views.
        scan_job -- the running scan ProcessJob or None; scan_queue -- folder lists waiting.
        last_scan -- the result dict of the last finished scan (or None).
    """

    scan_finished = Signal(dict)
    preferences_changed = Signal(list)  # the library setting keys Preferences just saved

    def __init__(self, library: Library, settings=None, probe_device: bool = True):
        protect_none()  # before any model/view traffic (see qtfix)
        super().__init__()
        self.library = library
        self.qsettings = settings if settings is not None else ui_settings()
        self.setWindowTitle(f"{APP_NAME}")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.thumbs = ThumbnailCache(library.root, parent=self)
        self.thumbs.follow(self)  # crisp on the screen the window is on, also after a move
        self.photo_thumbs = PhotoThumbnailCache(library.root, capacity_1x=300, parent=self)  # ~90 KB each at 1x
        self.photo_thumbs.follow(self)
        self.actions = Actions(library, self)
        self.ctx = Context(library, self.actions, self.thumbs, self.open_photo, self.open_person,
                           self.add_manual_face, self.photo_thumbs)
        self.other_jobs: list[ProcessJob] = []
        self.photo_dialog: PhotoDialog | None = None
        self._dialogs: list = []
        self._unsorted_generation = 0
        self.unsorted_loading = False
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(30)
        self._reload_timer.timeout.connect(self.reload_all)
        self.theme = Theme(self.qsettings, self)
        self._build_views()
        build_menus(self)
        self._build_status()
        self.scans = ScanController(library, StatusWidgets(self.state_label, self.progress, self.cancel_button), self)
        self.scans.finished.connect(self._scan_done)
        self.scans.stopped.connect(self.reload_all)
        self.scans.info.connect(self._worker_info)
        self.model_switch = ModelSwitch(library.root, self.state_label, self)
        self.model_switch.switched.connect(self._model_switched)
        self.model_switch.failed.connect(lambda m, d: self._job_failed("Switching the arithmetic", m, d))
        self.statusBar().insertWidget(3, self.model_switch.progress)
        self.statusBar().insertWidget(4, self.model_switch.cancel)
        self.actions.status.connect(self.state_label.setText)
        self.actions.changed.connect(self._reload_timer.start)
        self._restore_state()
        self.reload_all()
        if probe_device:
            QTimer.singleShot(1500, self._probe_device)

    # --- construction ---------------------------------------------------------------------------

    def _build_views(self) -> None:
        self.stack = QStackedWidget()
        self.welcome = WelcomePage()
        self.welcome.add_clicked.connect(self.add_folder_dialog)
        self.people = PeopleView(self.ctx)
        self.people.model.cache = self.thumbs
        self.people.same_person_requested.connect(self.show_same_person)
        self.people.shared_photos_requested.connect(self.show_shared_photos)
        self.person = PersonView(self.ctx)
        self.person.gone.connect(lambda: self.show_view("People"))
        self.person.back_requested.connect(lambda: self.show_view("People"))
        self.person.review_requested.connect(self.show_review)
        self.unsorted = UnsortedView(self.ctx)
        self.unsorted.mode_changed.connect(self.reload_unsorted)
        self.unsorted_panel = self.unsorted.panel
        self.hidden = PeopleView(self.ctx, hidden=True)
        self.folders = FoldersView(self.ctx)
        self.folders.add_requested.connect(self.scan_folders)
        self.folders.rescan_requested.connect(lambda paths: self.scan_folders(paths or None))
        self.folders.changed.connect(self._reload_timer.start)
        for w in (self.welcome, self.people, self.person, self.unsorted, self.hidden, self.folders):
            self.stack.addWidget(w)

        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(6, 6, 0, 6)
        self.nav = QListWidget()
        self.nav.addItems(NAV)
        self.nav.setFixedHeight(self.nav.sizeHintForRow(0) * len(NAV) + 2 * self.nav.frameWidth() + 6)
        self.nav.currentRowChanged.connect(lambda row: row >= 0 and self.show_view(NAV[row]))
        sl.addWidget(self.nav)
        side_label = QLabel("People (drop faces or persons on a name)")
        side_label.setWordWrap(True)
        sl.addWidget(side_label)
        self.side_proxy = NameFilter(self)
        self.side_proxy.setSourceModel(self.people.model)
        self.side_list = QListView()
        self.side_list.setModel(self.side_proxy)
        self.side_list.setIconSize(QSize(28, 28))
        self.side_list.setUniformItemSizes(True)
        self.side_list.setDragDropMode(QAbstractItemView.DragDrop)
        self.side_list.setAcceptDrops(True)
        self.side_list.setDropIndicatorShown(True)
        self.side_list.setDefaultDropAction(Qt.MoveAction)
        self.side_list.activated.connect(lambda idx: self.open_person(idx.data(Qt.UserRole + 1)))
        self.side_list.clicked.connect(lambda idx: self.open_person(idx.data(Qt.UserRole + 1)))
        self.thumbs.loaded.connect(self.side_list.viewport().update)
        sl.addWidget(self.side_list, 1)

        self.splitter = QSplitter()
        self.splitter.addWidget(side)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 900])
        self.setCentralWidget(self.splitter)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.state_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the scan; what was done so far is kept")
        self.cancel_button.hide()
        self.errors_button = QPushButton()
        self.errors_button.setFlat(True)
        self.errors_button.clicked.connect(self.show_errors)
        self.errors_button.hide()
        sb.addWidget(self.state_label, 1)
        sb.addWidget(self.progress)
        sb.addWidget(self.cancel_button)
        sb.addWidget(self.errors_button)
        self.device_label = QLabel("Device: …")
        self.device_label.setToolTip("Where faces are computed (found when the models first load)")
        self.model_label = QLabel()
        sb.addPermanentWidget(self.device_label)
        sb.addPermanentWidget(self.model_label)
        cached = self.qsettings.value("device")
        if cached:
            self.device_label.setText(f"Device: {cached}")
        self._update_model_label()

    def _update_model_label(self) -> None:
        s = self.library.settings()
        version = model_version(s["active_weights"], s["align_mode"], s["input_scaling"], s["embed_precision"])
        self.model_label.setText(f"Model: {version}")

    # --- state ------------------------------------------------------------------------------------

    def _restore_state(self) -> None:
        geometry = self.qsettings.value("window/geometry")
        if not (isinstance(geometry, (QByteArray, bytes)) and self.restoreGeometry(geometry)):
            self.setGeometry(first_geometry(self.screen().availableGeometry(), self.minimumSizeHint()))
        splitter = self.qsettings.value("window/splitter")
        if isinstance(splitter, (QByteArray, bytes)):
            self.splitter.restoreState(splitter)
        view = self.qsettings.value("window/view", "People")
        has_roots = bool(self.library.roots())
        self.show_view(view if has_roots and view in NAV else ("People" if has_roots else "Welcome"))

    def save_state(self) -> None:
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/splitter", self.splitter.saveState())
        self.qsettings.setValue("window/view", self.current_view)
        self.qsettings.sync()

    def closeEvent(self, event) -> None:
        self.save_state()
        self.scans.kill()
        for job in self.other_jobs:
            job.kill()
        if self.model_switch.job is not None:
            self.model_switch.job.kill()
        self.thumbs.stop()
        self.photo_thumbs.stop()
        super().closeEvent(event)

    # --- views ------------------------------------------------------------------------------------

    def show_view(self, name: str) -> None:
        widget = {"Welcome": self.welcome, "People": self.people, "Person": self.person,
                  "Unsorted faces": self.unsorted, "Hidden": self.hidden, "Folders": self.folders}[name]
        if name == "People" and not self.library.roots():
            widget, name = self.welcome, "Welcome"
        self.current_view = name
        self.stack.setCurrentWidget(widget)
        nav_row = NAV.index(name) if name in NAV else (0 if name == "Person" else -1)
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(nav_row)
        self.nav.blockSignals(False)
        self._reload_current()

    def _reload_current(self) -> None:
        view = self.current_view
        if view == "Person":
            self.person.reload()
        elif view == "Unsorted faces":
            self.reload_unsorted()
        elif view == "Hidden":
            self.hidden.reload()
        elif view == "Folders":
            self.folders.reload()

    def reload_all(self) -> None:
        """Everything that shows library data, after a change (coalesced by _reload_timer)."""
        self.actions.refresh()  # a job may have logged a decision (a regroup, a model switch)
        self._update_model_label()  # and undoing a model switch switches back
        self.people.reload()
        self._reload_current()
        if self.current_view == "Welcome" and self.library.roots():
            self.show_view("People")
        if self.photo_dialog is not None and self.photo_dialog.isVisible():
            self.photo_dialog.reload()

    def _dismiss_background(self) -> None:
        """People → Dismiss Background Faces: those Unsorted lists (opened first, so the user sees them go)."""
        self.unsorted.show_dismissed.setChecked(False)
        if self.stack.currentWidget() is not self.unsorted:
            self.show_view("Unsorted faces")
            self.state_label.setText("These are the unsorted faces; background faces are listed last. "
                                     "Use “Dismiss background faces” to dismiss them.")
            return
        self.unsorted.dismiss_background()

    def reload_unsorted(self) -> None:
        self._unsorted_generation += 1
        gen = self._unsorted_generation
        self.unsorted_loading = True
        job = ThreadJob(self.library.root, dismissed_faces if self.unsorted.show_dismissed.isChecked()
                        else unsorted_faces, owner=self)
        job.signals.finished.connect(lambda faces: self._unsorted_arrived(gen, faces))
        job.signals.failed.connect(lambda k, m, d: self._job_failed("Unsorted faces", m, d))
        job.start()

    def _unsorted_arrived(self, gen: int, faces) -> None:
        if gen == self._unsorted_generation:
            self.unsorted_loading = False
            self.unsorted.set_faces(faces)

    def is_idle(self) -> bool:
        """No reload pending or running (tests wait on this)."""
        return (not self._reload_timer.isActive() and ThreadJob.running() == 0 and not self.people.loading
                and self.thumbs.pending() == 0 and self.photo_thumbs.pending() == 0
                and not self.hidden.loading and not self.person.loading and not self.unsorted_loading)

    def open_person(self, person_id: int | None) -> None:
        if person_id is None:
            return
        self.person.show_person(int(person_id))
        self.current_view = "Person"
        self.stack.setCurrentWidget(self.person)
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(0)
        self.nav.blockSignals(False)

    def open_photo(self, photo_id: int, face_id: int | None = None, sequence=None) -> None:
        """Shows a photo; `sequence` ((photo id, face id) pairs) is what its arrows step through."""
        if self.photo_dialog is None:
            self.photo_dialog = PhotoDialog(self.ctx, self)
        self.photo_dialog.show_photo(photo_id, face_id, sequence)
        self.photo_dialog.show()
        self.photo_dialog.raise_()

    # --- dialogs ----------------------------------------------------------------------------------

    def _keep(self, dialog) -> None:
        self._dialogs.append(dialog)
        dialog.finished.connect(lambda *_: self._dialogs.remove(dialog) if dialog in self._dialogs else None)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.show()

    def show_review(self, person_id: int) -> ReviewDialog:
        summary = self.person.summary if self.person.person_id == person_id else None
        name = summary.label if summary is not None else "this person"
        dlg = ReviewDialog(self.ctx, person_id, name, self)
        self._keep(dlg)
        return dlg

    def _review_current(self) -> None:
        if self.current_view == "Person" and self.person.person_id is not None:
            self.show_review(self.person.person_id)
            return
        chosen = self.people.grid.selected_ids() if self.current_view == "People" else []
        if len(chosen) == 1:
            self.show_review(chosen[0])
        else:
            self.state_label.setText("Open a person, or select one in People, to review the faces that may be them.")

    def show_same_person(self) -> SamePersonDialog:
        dlg = SamePersonDialog(self.ctx, self)
        self._keep(dlg)
        return dlg

    def show_shared_photos(self, person_ids: list[int]) -> SharedPhotosDialog:
        dlg = SharedPhotosDialog(self.ctx, person_ids, self)
        self._keep(dlg)
        return dlg

    def show_export(self):
        from photoface.core.library.people import person_names
        from photoface.gui.views.export_dialog import ExportDialog

        dlg = ExportDialog(self.library.root, person_names(self.library), self)
        self._keep(dlg)
        return dlg

    def show_improve(self):
        from photoface.gui.views.improve_dialog import ImproveDialog

        dlg = ImproveDialog(self.library.root, self)
        dlg.model_changed.connect(self._update_model_label)
        dlg.model_changed.connect(self.reload_all)
        self._keep(dlg)
        return dlg

    def show_errors(self) -> ErrorsDialog:
        dlg = ErrorsDialog(self.library, self)
        self._keep(dlg)
        return dlg

    def show_preferences(self) -> None:
        dlg = PreferencesDialog(self.library, self, device=self.qsettings.value("device"))
        if not dlg.exec():
            return
        if dlg.changed_keys:
            self.preferences_changed.emit(list(dlg.changed_keys))
            self._update_model_label()
            grouping = any(k.startswith("cluster") or k.startswith("min_") for k in dlg.changed_keys)
            # A switch of arithmetic regroups with the new settings anyway.
            if grouping and not dlg.chosen_precision and prompts.ask_yes_no(
                    self, "Regroup faces", "Regroup the faces with the new settings now?"):
                self.run_cluster(full=True)
        if dlg.chosen_precision:
            self.switch_precision(dlg.chosen_precision)

    def switch_precision(self, precision: str) -> None:
        """Re-embeds every face in `precision` ("fp32" or "int8") and switches, as a model switch."""
        if self.scanning or self.model_switch.running:
            # Faces a running scan embeds in the old arithmetic would be missing from the new albums.
            busy = "a scan" if self.scanning else "another switch"
            self.state_label.setText(f"The arithmetic was not changed: {busy} is running. Choose it again "
                                     f"in Preferences when it has finished.")
            return
        self.model_switch.start(self.library.get_setting("active_weights"), precision)

    def _model_switched(self) -> None:
        self._update_model_label()
        self.reload_all()

    def show_about(self):
        device = self.device_label.text().removeprefix("Device: ")
        if device in ("…", ""):
            device = "not known yet (found when the face models first load)"
        return show_about(self, self.model_label.text().removeprefix("Model: "), device, str(self.library.root))

    def show_shortcuts(self) -> ShortcutsDialog:
        dlg = ShortcutsDialog(self)
        self._keep(dlg)
        return dlg

    def go_back(self) -> None:
        """From a person back to People (Esc, Alt+Left, Backspace); elsewhere nothing."""
        if self.current_view == "Person":
            self.show_view("People")

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.fullscreen_action.setChecked(self.isFullScreen())

    def _job_failed(self, what: str, message: str, details: str) -> None:
        prompts.show_error(self, what, f"{what} failed: {message}", details or None)

    # --- folders and drops ------------------------------------------------------------------------

    @staticmethod
    def _dropped_folders(mime) -> list[str]:
        if not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and os.path.isdir(u.toLocalFile())]

    def dragEnterEvent(self, event) -> None:
        if self._dropped_folders(event.mimeData()):
            event.acceptProposedAction()
            self.welcome.zone.setText("⬇  Release to add")
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if self._dropped_folders(event.mimeData()):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self.welcome.zone.setText("⬇  Drop folders here")

    def dropEvent(self, event) -> None:
        folders = self._dropped_folders(event.mimeData())
        self.welcome.zone.setText("⬇  Drop folders here")
        if folders:
            event.acceptProposedAction()
            self.scan_folders(folders)
        else:
            self.state_label.setText("Only folders can be dropped here.")

    def add_folder_dialog(self) -> None:
        start = str(self.qsettings.value("last_folder", os.path.expanduser("~")))
        path = QFileDialog.getExistingDirectory(self, "Add a folder of photos", start)
        if path:
            self.qsettings.setValue("last_folder", path)
            self.scan_folders([path])

    # --- scanning -----------------------------------------------------------------------------------

    def scan_folders(self, folders: list[str] | None) -> None:
        """Adds these folders and scans them (None: rescan every folder); queued behind a running scan."""
        if folders is not None:
            folders = [os.path.abspath(f) for f in folders if os.path.isdir(f)]
            if not folders:
                return
            for f in folders:
                self.library.add_root(f)  # shown in Folders at once; the scan adds it too
            if self.current_view in ("Welcome",):
                self.show_view("People")
            elif self.current_view == "Folders":
                self.folders.reload()
        self.scans.request(folders)

    def _scan_done(self, result: dict) -> None:
        self._show_error_count()
        self.thumbs.invalidate()
        self.reload_all()
        self.scan_finished.emit(result)

    def _show_error_count(self) -> None:
        n = self.library.counts()["errors"]
        self.errors_button.setText(f"⚠ {plural(n, 'file')} could not be read…")
        self.errors_button.setVisible(n > 0)

    def _worker_info(self, info: dict) -> None:
        if "device" in info:
            self.device_label.setText(f"Device: {info['device']}")
            self.qsettings.setValue("device", info["device"])
        if "model" in info:
            self.model_label.setText(f"Model: {info['model']}")

    def cancel_scan(self) -> None:
        self.scans.cancel()

    @property
    def scanning(self) -> bool:
        return self.scans.running

    @property
    def scan_job(self) -> ProcessJob | None:
        return self.scans.job

    @property
    def scan_queue(self) -> list[list[str] | None]:
        return self.scans.queue

    @property
    def last_scan(self) -> dict | None:
        return self.scans.last

    # --- other child-process work -------------------------------------------------------------------

    def _start_other(self, name: str, args: dict, done, what: str) -> ProcessJob:
        job = ProcessJob(name, self.library.root, args, self)
        self.other_jobs.append(job)
        job.finished.connect(done)
        job.info.connect(self._worker_info)
        job.failed.connect(lambda k, m, d: self._job_failed(what, m, d))
        job.ended.connect(lambda: self.other_jobs.remove(job) if job in self.other_jobs else None)
        job.start()
        return job

    def _probe_device(self) -> None:
        if not self.scanning:
            self._start_other("device", {}, self._worker_info, "Finding the compute device")

    def run_cluster(self, full: bool = False) -> ProcessJob:
        """Groups faces; a full regroup is planned first and, if it would change what a named
        person shows, applied only after the user saw the summary and chose Apply."""
        self.state_label.setText("Grouping faces into people…")
        if not full:
            return self._start_other("cluster", {"full": False}, self._regrouped, "Grouping faces")

        def planned(result: dict) -> None:
            summary = result["summary"]
            if summary["needs_confirmation"] and not prompts.ask_apply(
                    self, "Regroup faces", "Regrouping would change these albums (Edit → Undo takes it back):",
                    summary["lines"]):
                Path(result["plan"]).unlink(missing_ok=True)
                self.state_label.setText("Regroup cancelled; nothing changed.")
                return
            said = f"Faces regrouped: {'; '.join(summary['lines'])} (Edit → Undo takes it back)."
            self._start_other("apply_plan", {"plan": result["plan"]}, lambda r: self._regrouped(r, said),
                              "Grouping faces")

        return self._start_other("regroup_plan", {}, planned, "Grouping faces")

    def _regrouped(self, result: dict, said: str = "Faces grouped.") -> None:
        self.state_label.setText(said)
        self.reload_all()

    def add_manual_face(self, photo_id: int, box: tuple) -> ProcessJob:
        self.state_label.setText("Adding the face (loading the models)…")

        def done(result: dict) -> None:
            self.state_label.setText("Face added: name it on the photo (click its box), or find it in Unsorted faces.")
            self.last_manual_face = result.get("face_id")
            self.reload_all()

        return self._start_other("manual_face", {"photo_id": photo_id, "box": list(box)}, done, "Adding a face")
