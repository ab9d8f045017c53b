"""Small dialogs: Preferences (library settings), files that failed, photos together."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QHeaderView,
                               QLabel, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout)

from photoface.core.config import DEFAULTS
from photoface.core.library.store import Library
from photoface.gui.context import Context
from photoface.gui.views.photo_list import PhotoList, PhotoRow

# (key, label, kind, choices or (min, max, step)) in the order shown.
_FIELDS = [
    ("cluster_strictness", "Grouping strictness (lower = stricter albums)", float, (0.1, 5.0, 0.05)),
    ("cluster_link_ratio", "Closest pair that links faces (× crowding)", float, (0.1, 2.0, 0.05)),
    ("cluster_album_ratio", "Mean distance that joins groups (× crowding)", float, (0.1, 2.0, 0.05)),
    ("cluster_centre_ratio", "Centre distance that joins big groups (× crowding)", float, (0.05, 10.0, 0.05)),
    ("cluster_attach_ratio", "A stray face joins an album closer than (× crowding)", float, (0.0, 2.0, 0.05)),
    ("cluster_attach_margin", "… when the next album is farther by (×)", float, (1.0, 3.0, 0.05)),
    ("cluster_attach_spread", "… and closer than the album's own spread (×)", float, (0.5, 5.0, 0.05)),
    ("min_album_size", "Smallest unnamed album (faces)", int, (1, 100, 1)),
    ("cluster_k", "Neighbours considered when grouping", int, (2, 100, 1)),
    ("min_detection_score", "Face detection confidence", float, (0.5, 1.0, 0.01)),
    ("min_face_px", "Smallest face found (pixels)", int, (10, 500, 1)),
    ("detect_max_side", "Detection image size (pixels)", int, (320, 4096, 32)),
    ("min_quality_face_px", "Smallest face used for matching (pixels)", int, (0, 500, 1)),
    ("min_quality_sharpness", "Least sharpness used for matching", float, (0.0, 1000.0, 1.0)),
    ("min_quality_score", "Least detection confidence used for matching", float, (0.0, 1.0, 0.01)),
    ("detector_backend", "Face detector", str, ["onnx", "keras"]),
    ("align_mode", "Face alignment", str, ["margin", "similarity"]),
    ("input_scaling", "Input scaling", str, ["fixed", "prewhiten"]),
    ("active_weights", "Recognition model", str, None),  # choices: "shipped" + the library's models
]


class PreferencesDialog(QDialog):
    """Edits the library's settings (they live in the library, not in QSettings).

    Attributes:
        editors -- key -> its editor widget; changed_keys -- keys saved by the last accept().
    """

    def __init__(self, library: Library, parent=None):
        super().__init__(parent)
        self.library = library
        self.setWindowTitle("Preferences")
        self.changed_keys: list[str] = []
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Settings of the library at {library.root}"))
        form = QFormLayout()
        settings = library.settings()
        self.editors = {}
        for key, label, kind, extra in _FIELDS:
            value = settings.get(key, DEFAULTS.get(key))
            if kind is str:
                w = QComboBox()
                choices = extra if extra is not None else self._models()
                w.addItems(choices)
                if value not in choices:
                    w.addItem(str(value))
                w.setCurrentText(str(value))
            elif kind is int:
                w = QSpinBox()
                w.setRange(min(extra[0], int(value)), max(extra[1], int(value)))
                w.setSingleStep(extra[2])
                w.setValue(int(value))
            else:
                w = QDoubleSpinBox()
                w.setDecimals(3)
                w.setRange(min(extra[0], float(value)), max(extra[1], float(value)))
                w.setSingleStep(extra[2])
                w.setValue(float(value))
            w.setToolTip(f"{key} (default {DEFAULTS.get(key)})")
            form.addRow(label, w)
            self.editors[key] = w
        layout.addLayout(form)
        note = QLabel("Distances “× crowding” are multiples of how close different people's faces come in "
                      "this library. Changing the detector, alignment, scaling or model takes effect on the "
                      "next scan; grouping settings when people are regrouped (Tools → Regroup faces).")
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel | QDialogButtonBox.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.RestoreDefaults).clicked.connect(self.restore_defaults)
        layout.addWidget(buttons)

    def _models(self) -> list[str]:
        names = ["shipped"]
        if self.library.models_dir.is_dir():
            names += sorted(p.name for p in self.library.models_dir.iterdir() if (p / "facenet.weights.h5").is_file())
        return names

    def values(self) -> dict:
        out = {}
        for key, w in self.editors.items():
            if isinstance(w, QComboBox):
                out[key] = w.currentText()
            else:
                out[key] = w.value()
        return out

    def restore_defaults(self) -> None:
        for key, w in self.editors.items():
            d = DEFAULTS[key]
            if isinstance(w, QComboBox):
                w.setCurrentText(str(d))
            else:
                w.setValue(d)

    def accept(self) -> None:
        current = self.library.settings()
        self.changed_keys = []
        for key, value in self.values().items():
            old = current.get(key)
            same = (abs(float(old) - float(value)) < 0.5 * 10 ** -self.editors[key].decimals()
                    if isinstance(value, float) and isinstance(old, (int, float)) else old == value)
            if not same:
                self.library.set_setting(key, value)
                self.changed_keys.append(key)
        super().accept()


class ErrorsDialog(QDialog):
    """The files that could not be read, with the reason (Library.errors())."""

    def __init__(self, library: Library, parent=None):
        super().__init__(parent)
        rows = library.errors()
        self.setWindowTitle("Files that could not be read")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{len(rows)} file(s) could not be read. They are skipped; fix or remove them "
                                "and rescan." if rows else "Every file was read."))
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["File", "Reason"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        for r, (path, reason) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(path))
            self.table.setItem(r, 1, QTableWidgetItem(reason or ""))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(820, 420)


class SharedPhotosDialog(QDialog):
    """Photos in which all the given persons appear (people.shared_photos)."""

    def __init__(self, ctx: Context, names: list[str], rows: list[PhotoRow], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Photos together")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{len(rows)}</b> photo(s) with " + ", ".join(names)
                                if rows else "No photo shows all of " + ", ".join(names) + "."))
        self.list = PhotoList(ctx.thumbs)
        self.list.set_rows(rows)
        self.list.open_photo.connect(lambda pid, fid: ctx.open_photo(pid, fid))
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 480)
        self.list.setFocus(Qt.OtherFocusReason)
