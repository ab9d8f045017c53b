"""A grid of faces with the actions on a selection: confirm, not this person, move, new person,
not a face, set as cover, open the photo. Used by the person view and by Unsorted."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

from photoface.core.text import plural
from photoface.gui.context import Context
from photoface.gui.item_models import FacesModel, ItemRole
from photoface.gui.views.face_hints import FaceHints
from photoface.gui.views.flow import FlowLayout
from photoface.gui.views.grids import Grid
from photoface.gui.views.shortcuts_sheet import SCOPE


class FacesPanel(QWidget):
    """Faces of one person (person_id set) or unsorted faces (person_id None).

    Attributes:
        model -- the FacesModel.
        grid -- the Grid of faces; hints -- the FaceHints of Unsorted faces.
    """

    def __init__(self, ctx: Context, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.person_id: int | None = None
        self.model = FacesModel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = FlowLayout()  # wraps at a narrow window instead of setting its minimum width
        self.buttons: dict[str, QPushButton] = {}
        self._actions: dict[str, QAction] = {}
        spec = [
            ("confirm", "&Confirm", "Y", "These faces are this person", self.confirm_selected),
            ("reject", "&Not this person", "N", "Take these faces out of this person", self.reject_selected),
            ("move", "Mo&ve to…", "M", "Move these faces to another person (or drag them onto a person)",
             self.move_selected),
            ("split", "New person from &selection", "Ctrl+N", "Make a new person of these faces",
             self.split_selected),
            ("not_face", "Not a &face", "X", "These are not faces", self.not_face_selected),
            ("cover", "Use as co&ver", "", "Show this face for the person", self.cover_selected),
        ]
        for key, label, shortcut, tip, slot in spec:
            b = QPushButton(label)
            b.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
            b.clicked.connect(slot)
            bar.addWidget(b)
            self.buttons[key] = b
            act = QAction(label.replace("&", ""), self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
                act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
                act.setProperty(SCOPE, "Faces (of a person, or Unsorted)")
            act.triggered.connect(slot)
            self.addAction(act)
            self._actions[key] = act
        self.count_label = QLabel()
        bar.addWidget(self.count_label)
        layout.addLayout(bar)
        self.grid = Grid(ctx.thumbs, "face", 96, self)
        self.grid.setModel(self.model)
        self.grid.activated_id.connect(self.open_face)
        self.grid.setContextMenuPolicy(Qt.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._menu)
        self.grid.selectionModel().selectionChanged.connect(self._update)
        layout.addWidget(self.grid, 1)
        self.hints = FaceHints(ctx.lib_dir, self.grid, self)  # "maybe Ann?" on unsorted faces
        self.legend = QLabel("✓ confirmed by you · no mark: accepted (in the album when you named, merged or hid "
                             "it) · ? suggested by photoface (dashed): confirm it or say no. Double-click or Enter "
                             "opens the photo.")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)
        self._update()

    def set_faces(self, person_id: int | None, faces: list) -> None:
        selected = self.grid.selected_ids()
        self.person_id = person_id
        self.model.set_items(faces)
        self.hints.reset(enabled=person_id is None)
        if selected:
            self.grid.select_ids(selected)
        if faces and not self.grid.currentIndex().isValid():
            self.grid.setCurrentIndex(self.model.index(0))
            self.grid.clearSelection()
        confirmed = sum(f.state == "confirmed" for f in faces)
        accepted = sum(f.state == "accepted" for f in faces)
        self.count_label.setText(plural(len(faces), "face")
                                 + (f", {confirmed} confirmed, {accepted} accepted" if person_id else ""))
        self.legend.setVisible(person_id is not None)
        self._update()

    def _update(self, *_) -> None:
        n = len(self.grid.selected_ids())
        is_person = self.person_id is not None
        for key, b in self.buttons.items():
            needs_person = key in ("confirm", "reject", "cover")
            b.setVisible(is_person or not needs_person)
            enabled = n >= 1 and (is_person or not needs_person) and (key != "cover" or n == 1)
            b.setEnabled(enabled)
            self._actions[key].setEnabled(enabled)

    # --- actions ----------------------------------------------------------------------------

    def confirm_selected(self) -> None:
        ids = self.grid.selected_ids()
        if ids and self.person_id is not None:
            self.ctx.actions.confirm(ids, self.person_id)

    def reject_selected(self) -> None:
        ids = self.grid.selected_ids()
        if ids and self.person_id is not None:
            self.ctx.actions.reject(ids, self.person_id)

    def move_selected(self) -> None:
        ids = self.grid.selected_ids()
        # One hinted face: Move to… starts with the name the hint gives ("maybe Ann?" -> Ann).
        self.ctx.actions.ask_move(ids, self.hints.hints.get(ids[0], "") if len(ids) == 1 else "")

    def accept_hint(self, face_id: int) -> None:
        """"Yes, this is Ann": the face goes to the person its hint names (a move, one undo step)."""
        name = self.hints.hints.get(face_id)
        if name:
            self.ctx.actions.move_to_name([face_id], name)

    def split_selected(self) -> None:
        self.ctx.actions.ask_split(self.grid.selected_ids())

    def not_face_selected(self) -> None:
        ids = self.grid.selected_ids()
        if ids:
            self.ctx.actions.not_a_face(ids)

    def cover_selected(self) -> None:
        ids = self.grid.selected_ids()
        if len(ids) == 1 and self.person_id is not None:
            self.ctx.actions.set_cover(self.person_id, ids[0])

    def open_face(self, face_id: int) -> None:
        """Opens the face's photo; the viewer's arrows step through the photos of these faces."""
        row = self.model.row_of(face_id)
        if row is not None:
            sequence = {}
            for f in self.model.items:
                sequence.setdefault(f.photo_id, f.id)
            self.ctx.open_photo(self.model.items[row].photo_id, face_id, list(sequence.items()))

    def _menu(self, pos) -> None:
        idx = self.grid.indexAt(pos)
        if not idx.isValid():
            return
        menu = QMenu(self)
        face = idx.data(ItemRole)
        hint = self.hints.hints.get(face.id)
        if hint:
            menu.addAction(f"Yes, this is {hint}", lambda: self.accept_hint(face.id))
        menu.addAction("Open photo", lambda: self.open_face(face.id))
        menu.addSeparator()
        for key in ("confirm", "reject", "move", "split", "not_face", "cover"):
            if self.buttons[key].isVisible():
                act = self._actions[key]
                menu.addAction(act)
        menu.exec(self.grid.viewport().mapToGlobal(pos))
