"""Preferences in plain words: how eagerly faces are grouped, the smallest face to look for, the
detector, the device, the arithmetic (a model switch, which the window runs), watching folders; the
algorithm's numbers under a folded "Advanced" part, each with a line saying what it does. Every
setting lives in the library (core/config.py)."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QScrollArea, QSlider, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from photoface.core.config import DEFAULTS
from photoface.core.library.store import Library, write_setting

# How eagerly faces are grouped: one slider over the grouping ratios, strictest first. The middle
# step is the measured default (core/config.py); the others move every ratio together, so that
# "surer" means fewer links, fewer joins and fewer strays attached, never a mix. Measured with
# benchmarks.cluster's run_photoface, BCubed precision / recall, steps 1 → 5:
#   lfw_subset          P 1.0 1.0 1.0 0.953 0.953, R 0.963 0.977 0.981 0.981 0.986
#   sports_celebrities  P 1.0 at every step,       R 0.703 0.748 0.793 0.793 0.801
#   five_celebrity_faces 1.0 / 1.0 at every step.
EAGERNESS_KEYS = ("cluster_strictness", "cluster_link_ratio", "cluster_album_ratio", "cluster_centre_ratio",
                  "cluster_attach_ratio")
EAGERNESS_STEPS = [
    ("Fewest, surest albums: only faces that are clearly alike share one; more wait in Unsorted faces.",
     (1.5, 0.55, 0.75, 0.25, 0.8)),
    ("Careful: a little surer than the recommended setting.", (1.75, 0.6, 0.8, 0.27, 0.9)),
    ("Balanced (recommended): the setting measured best on the test photo sets.",
     tuple(DEFAULTS[k] for k in EAGERNESS_KEYS)),
    ("Eager: more faces grouped; check albums for strangers now and then.", (2.25, 0.7, 0.9, 0.35, 1.1)),
    ("Most faces grouped: few faces left unsorted, more mistakes to correct.", (2.5, 0.75, 0.95, 0.4, 1.2)),
]
DEFAULT_STEP = 2

DETECTORS = [("onnx", "Standard (MTCNN on ONNX Runtime, fast)"),
             ("keras", "MTCNN on TensorFlow (slower, the original)")]
PRECISIONS = {"fp32": "Exact (32-bit)", "int8": "Fast (8-bit, quantised)"}
# `python -m benchmarks.int8 --calibrate-on library` (README): verification AUC of the shipped FaceNet,
# FP32 / INT8, on every shared set it scans in minutes, each INT8 model calibrated as the app
# calibrates it (on that library's own stored faces); 2-4x the faces per second in INT8.
PRECISION_AUC = [("5 celebrities", 0.9984, 0.9982), ("LFW", 0.9930, 0.9930), ("sports", 0.9071, 0.9073),
                 ("Japanese", 0.9155, 0.9154), ("Turkish", 0.8460, 0.8457), ("Indian", 0.8498, 0.8497),
                 ("African", 0.9890, 0.9892)]


def precision_hint() -> str:
    """The arithmetic's hint: what Fast gains (the figures are in `precision_table`)."""
    return ("Fast reads faces 2–4× quicker and tells people apart about as well (AUC on the test photo "
            "sets below, 1 = perfect). Changing it re-reads every face; Edit → Undo switches back.")


def precision_table() -> QLabel:
    """What each arithmetic scored on each test set, in a label of its own: a table inside a
    word-wrapped label is measured too short and shows clipped on a real screen."""
    cells = lambda texts: "".join(f"<td align='right'>&nbsp;&nbsp;{t}</td>" for t in texts)  # noqa: E731
    rows = [("", [name for name, _, _ in PRECISION_AUC]),
            ("Exact", [f"{a:.4f}" for _, a, _ in PRECISION_AUC]),
            ("Fast", [f"{b:.4f}" for _, _, b in PRECISION_AUC])]
    table = QLabel("<table cellspacing='0'>" + "".join(f"<tr><td>{label}</td>{cells(texts)}</tr>"
                                                        for label, texts in rows) + "</table>")
    table.setStyleSheet("color: palette(placeholder-text);")
    return table


# Advanced: (key, label, kind, (min, max, step), what it does in one line), in the order shown.
ADVANCED = [
    ("cluster_strictness", "Grouping threshold", float, (0.1, 5.0, 0.05),
     "How alike two faces' nearest neighbours must be to link them; lower is stricter."),
    ("cluster_link_ratio", "Link distance", float, (0.1, 2.0, 0.05),
     "Two faces link only when closer than this × how close different people come in this library."),
    ("cluster_album_ratio", "Join distance", float, (0.1, 2.0, 0.05),
     "Two groups join only when their faces are on average closer than this × that distance."),
    ("cluster_centre_ratio", "Big-group join distance", float, (0.05, 10.0, 0.05),
     "Big groups join only when their centres are closer than this × that distance."),
    ("cluster_attach_ratio", "Stray face distance", float, (0.0, 2.0, 0.05),
     "A face left alone joins the album closer than this × that distance…"),
    ("cluster_attach_margin", "Stray face margin", float, (1.0, 3.0, 0.05),
     "…when the next album is at least this many times farther…"),
    ("cluster_attach_spread", "Stray face spread", float, (0.5, 5.0, 0.05),
     "…and it is closer than this × the album's own spread. Where most faces already have an album "
     "(a family's photos), these three loosen by themselves."),
    ("min_album_size", "Smallest unnamed album", int, (1, 100, 1),
     "Unnamed albums with fewer faces go to Unsorted faces."),
    ("cluster_k", "Neighbours compared", int, (2, 100, 1),
     "How many nearest faces each face is compared with when grouping."),
    ("min_detection_score", "Detection confidence", float, (0.5, 1.0, 0.01),
     "How sure the detector must be that a box is a face (1 = certain)."),
    ("detect_max_side", "Detection image size", int, (320, 4096, 32),
     "Photos are shrunk to this long side (pixels) to find faces: larger finds smaller faces, slower."),
    ("min_quality_face_px", "Smallest face used for matching", int, (0, 500, 1),
     "Smaller faces (pixels) are kept but never used to match others; 0 turns this off."),
    ("min_quality_sharpness", "Least sharpness used for matching", float, (0.0, 1000.0, 1.0),
     "Blurrier faces are kept but never used to match others; 0 turns this off."),
    ("min_quality_score", "Least confidence used for matching", float, (0.0, 1.0, 0.01),
     "Less certain detections are kept but never used to match others; 0 turns this off."),
]


def eagerness_step(values: dict) -> int | None:
    """The slider step whose ratios `values` hold (within rounding), or None: custom numbers."""
    for i, (_, preset) in enumerate(EAGERNESS_STEPS):
        if all(abs(float(values[k]) - v) < 0.005 for k, v in zip(EAGERNESS_KEYS, preset)):
            return i
    return None


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def _row(layout: QVBoxLayout, label: str, widget: QWidget, hint: str | None = None) -> None:
    """A labelled row, and under it a hint across the whole width."""
    row = QHBoxLayout()
    name = QLabel(label)
    name.setMinimumWidth(190)
    name.setBuddy(widget)
    row.addWidget(name)
    row.addWidget(widget, 1)
    layout.addLayout(row)
    if hint:
        layout.addWidget(_hint(hint))


def _number_editor(kind, extra, value):
    w = QSpinBox() if kind is int else QDoubleSpinBox()
    if kind is int:
        w.setRange(min(extra[0], int(value)), max(extra[1], int(value)))
        w.setValue(int(value))
    else:
        w.setDecimals(3)
        w.setRange(min(extra[0], float(value)), max(extra[1], float(value)))
        w.setValue(float(value))
    w.setSingleStep(extra[2])
    return w


class PreferencesDialog(QDialog):
    """Edits the library's settings (they live in the library, not in QSettings).

    Attributes:
        editors -- setting key -> its editor widget; changed_keys -- keys saved by the last accept().
        precision -- the arithmetic choice; it is not an editor: a change is a model switch (every
            face re-embedded), which accept() leaves to the window: chosen_precision -- the new
            choice after accept(), or None when unchanged.
        eagerness -- the grouping slider (steps of EAGERNESS_STEPS); it writes the Advanced
            editors, and shows "Custom" when they hold numbers of no step.
        advanced_button, advanced -- the "Advanced" toggle and the part it unfolds (folded at first).
    """

    def __init__(self, library: Library, parent=None, device: str | None = None):
        super().__init__(parent)
        self.library = library
        self.setWindowTitle("Preferences")
        self.changed_keys: list[str] = []
        self.chosen_precision: str | None = None
        self.editors: dict[str, QWidget] = {}
        settings = library.settings()
        layout = QVBoxLayout(self)
        layout.addWidget(self._grouping_box(settings))
        layout.addWidget(self._faces_box(settings, device))
        layout.addWidget(self._photos_box(settings))
        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced: the grouping and detection numbers")
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.RightArrow)
        self.advanced_button.setCheckable(True)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.toggled.connect(self._fold)
        layout.addWidget(self.advanced_button)
        self.advanced = self._advanced_area(settings)
        self.advanced.hide()
        layout.addWidget(self.advanced, 1)
        where = QLabel()
        where.setStyleSheet("color: palette(placeholder-text);")
        where.setText(where.fontMetrics().elidedText(f"Settings of the library at {library.root}",
                                                      Qt.ElideMiddle, 600))
        where.setToolTip(str(library.root))
        layout.addWidget(where)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel | QDialogButtonBox.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.RestoreDefaults).clicked.connect(self.restore_defaults)
        layout.addWidget(buttons)
        self._show_step()
        self.setMinimumWidth(640)

    # --- the parts ---------------------------------------------------------------------------------

    def _grouping_box(self, settings: dict) -> QGroupBox:
        box = QGroupBox("Grouping faces into people")
        v = QVBoxLayout(box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Fewer, surer albums"))
        self.eagerness = QSlider(Qt.Horizontal)
        self.eagerness.setRange(0, len(EAGERNESS_STEPS) - 1)
        self.eagerness.setPageStep(1)
        self.eagerness.setTickPosition(QSlider.TicksBelow)
        self.eagerness.setTickInterval(1)
        step = eagerness_step(settings)
        self.eagerness.setValue(DEFAULT_STEP if step is None else step)
        self.eagerness.setAccessibleName("How eagerly faces are grouped")
        self.eagerness.valueChanged.connect(self._step_chosen)
        row.addWidget(self.eagerness, 1)
        row.addWidget(QLabel("More faces grouped"))
        v.addLayout(row)
        self.step_label = QLabel()
        self.step_label.setWordWrap(True)
        v.addWidget(self.step_label)
        v.addWidget(_hint("Applies when faces are regrouped: you are asked when you save, or use "
                          "People → Regroup Faces later. Names and your decisions are kept."))
        return box

    def _faces_box(self, settings: dict, device: str | None) -> QGroupBox:
        # Rows of a QVBoxLayout rather than a QFormLayout: a form sizes word-wrapped hints too short.
        box = QGroupBox("Finding faces")
        v = QVBoxLayout(box)
        smallest = _number_editor(int, (10, 500, 1), settings["min_face_px"])
        smallest.setSuffix(" pixels")
        self.editors["min_face_px"] = smallest
        _row(v, "Smallest face to consider:", smallest,
             "Smaller faces (crowds, people far away) are skipped in photos scanned from now on.")
        detector = QComboBox()
        for key, label in DETECTORS:
            detector.addItem(label, key)
        if detector.findData(settings["detector_backend"]) < 0:
            detector.addItem(str(settings["detector_backend"]), settings["detector_backend"])
        detector.setCurrentIndex(detector.findData(settings["detector_backend"]))
        self.editors["detector_backend"] = detector
        _row(v, "Face detector:", detector)
        _row(v, "Computed on:", QLabel(device or "found when the models first load"),
             "Chosen by itself: the graphics card when ONNX Runtime has CUDA, else the processor.")
        self.precision = QComboBox()
        for key, label in PRECISIONS.items():
            self.precision.addItem(label, key)
        self.precision.setCurrentIndex(self.precision.findData(settings["embed_precision"]))
        _row(v, "Face matching arithmetic:", self.precision, precision_hint())
        v.addWidget(precision_table())
        model = "the shipped FaceNet" if settings["active_weights"] == "shipped" else settings["active_weights"]
        _row(v, "Recognition model:", QLabel(model),
             "People → Improve Recognition… learns from your confirmed faces and switches models.")
        return box

    def _photos_box(self, settings: dict) -> QGroupBox:
        box = QGroupBox("New photos")
        v = QVBoxLayout(box)
        watch = QCheckBox("Watch folders for new photos")
        watch.setChecked(bool(settings["watch_folders"]))
        self.editors["watch_folders"] = watch
        v.addWidget(watch)
        v.addWidget(_hint("While photoface runs, photos added, changed or removed in your folders are "
                          "picked up by themselves, and every folder is checked when it starts. Off: "
                          "only File → Rescan All Folders looks."))
        return box

    def _advanced_area(self, settings: dict) -> QScrollArea:
        inner = QWidget()
        form = QFormLayout(inner)
        for key, label, kind, extra, meaning in ADVANCED:
            w = _number_editor(kind, extra, settings.get(key, DEFAULTS[key]))
            w.setToolTip(f"{key} (default {DEFAULTS[key]})")
            if key in EAGERNESS_KEYS:
                w.valueChanged.connect(self._show_step)
            self.editors[key] = w
            cell = QWidget()
            cv = QVBoxLayout(cell)
            cv.setContentsMargins(0, 0, 0, 4)
            cv.setSpacing(1)
            cv.addWidget(w)
            cv.addWidget(_hint(meaning))
            form.addRow(label + ":", cell)
        form.addRow("", _hint("Distances are multiples of how close different people's faces come in "
                              "this library, so the same numbers suit small and large libraries."))
        area = QScrollArea()
        area.setWidget(inner)
        area.setWidgetResizable(True)
        area.setMinimumHeight(120)  # it scrolls: on a short screen it takes what is left
        return area

    # --- behaviour -----------------------------------------------------------------------------------

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit()

    def _fold(self, unfolded: bool) -> None:
        self.advanced_button.setArrowType(Qt.DownArrow if unfolded else Qt.RightArrow)
        self.advanced.setVisible(unfolded)
        self.adjustSize()
        self._fit()

    def _fit(self) -> None:
        """Tall enough for every word-wrapped hint at the width the dialog has (Qt sizes a dialog
        by hints measured at another width, and clipped them on a real screen), and never past the
        screen's edge: the Advanced numbers scroll within what is left, so OK and Cancel stay in
        sight."""
        wanted = self.layout().totalHeightForWidth(self.width())
        if wanted > self.height():
            self.resize(self.width(), wanted)
        screen = self.screen().availableGeometry()
        frame = self.frameGeometry().height() - self.height()
        if self.height() + frame > screen.height():
            self.resize(self.width(), screen.height() - frame)
        if self.frameGeometry().bottom() > screen.bottom():
            self.move(self.x(), max(screen.top(), screen.bottom() - self.frameGeometry().height()))

    def _step_chosen(self, step: int) -> None:
        for key, value in zip(EAGERNESS_KEYS, EAGERNESS_STEPS[step][1]):
            self.editors[key].setValue(value)
        self._show_step()

    def _show_step(self, *_) -> None:
        step = eagerness_step({k: self.editors[k].value() for k in EAGERNESS_KEYS})
        if step is None:
            self.step_label.setText("Custom: the numbers under Advanced are set by hand.")
        else:
            self.step_label.setText(EAGERNESS_STEPS[step][0])
            self.eagerness.blockSignals(True)
            self.eagerness.setValue(step)
            self.eagerness.blockSignals(False)

    def values(self) -> dict:
        out = {}
        for key, w in self.editors.items():
            if isinstance(w, QComboBox):
                out[key] = w.currentData()
            elif isinstance(w, QCheckBox):
                out[key] = w.isChecked()
            else:
                out[key] = w.value()
        return out

    def restore_defaults(self) -> None:
        self.precision.setCurrentIndex(self.precision.findData(DEFAULTS["embed_precision"]))
        for key, w in self.editors.items():
            d = DEFAULTS[key]
            if isinstance(w, QComboBox):
                w.setCurrentIndex(w.findData(d))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(d))
            else:
                w.setValue(d)

    def accept(self) -> None:
        """Saves the settings that changed, all in one transaction; a changed arithmetic is only
        noted in `chosen_precision`."""
        current = self.library.settings()
        precision = self.precision.currentData()
        self.chosen_precision = precision if precision != current["embed_precision"] else None
        changed = {}
        for key, value in self.values().items():
            old = current.get(key)
            if isinstance(value, float) and isinstance(old, (int, float)):
                same = abs(float(old) - value) < 0.5 * 10 ** -self.editors[key].decimals()
            else:
                same = old == value
            if not same:
                changed[key] = value
        if changed:
            with self.library.transaction() as con:
                for key, value in changed.items():
                    write_setting(con, key, json.dumps(value))
        self.changed_keys = list(changed)
        super().accept()
