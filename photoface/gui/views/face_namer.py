"""The small name field that opens on a face box in the photo viewer: type a name (completing over
the named persons), Enter names the face; "Not this person" and "Not a face" beside it; Esc closes.

Each button is one of the window's undoable actions (a decision in the log), as everywhere else.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QStringListModel, Qt, Signal
from PySide6.QtWidgets import QCompleter, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from photoface.core.library.people import FaceInfo
from photoface.gui.actions import Actions


class FaceNamer(QFrame):
    """A floating frame over the photo canvas, for one face at a time.

    Attributes:
        face -- the FaceInfo being named (None while closed).
        edit -- the name field; not_this_button, not_face_button -- the other two answers.
        done -- emitted after an answer was applied (the viewer reloads the photo).
    """

    done = Signal()

    def __init__(self, actions: Actions, parent=None):
        super().__init__(parent)
        self.actions = actions
        self.face: FaceInfo | None = None
        self.setFrameShape(QFrame.StyledPanel)
        self.setAutoFillBackground(True)
        self.setFocusPolicy(Qt.StrongFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(4)
        self.title = QLabel("Who is this?")
        layout.addWidget(self.title)
        self.edit = QLineEdit()
        self.edit.setMinimumWidth(220)
        self.edit.setClearButtonEnabled(True)
        self.edit.returnPressed.connect(self.commit)
        self._names = QStringListModel(self)
        completer = QCompleter(self._names, self.edit)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        completer.setFilterMode(Qt.MatchContains)
        self.edit.setCompleter(completer)
        layout.addWidget(self.edit)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.not_this_button = QPushButton("Not this person")
        self.not_this_button.setToolTip("Take this face out of the person it is in now")
        self.not_this_button.clicked.connect(self.not_this_person)
        self.not_face_button = QPushButton("Not a face")
        self.not_face_button.clicked.connect(self.not_a_face)
        for b in (self.not_this_button, self.not_face_button):
            b.setAutoDefault(False)
            row.addWidget(b)
        layout.addLayout(row)
        self.hide()

    def open_on(self, face: FaceInfo, names: list[str], box: QRect, hint: str | None = None) -> None:
        """Shows the field under (or above) `box`, in the parent's coordinates, for `face`."""
        self.face = face
        self._names.setStringList(names)
        self.edit.setText(face.person_name or "")
        self.edit.selectAll()
        self.edit.setPlaceholderText(f"maybe {hint}? Type a name, Enter" if hint else "Type a name, Enter")
        self.title.setText("Who is this?" if face.state in ("undecided", "not_face") or not face.person_name
                           else f"Is this {face.person_name}? Enter confirms")
        self.not_this_button.setEnabled(face.person_id is not None and face.state != "not_face")
        self.not_face_button.setEnabled(face.state != "not_face")
        self.adjustSize()
        self.place(box)
        self.show()
        self.raise_()
        self.edit.setFocus(Qt.OtherFocusReason)

    def place(self, box: QRect) -> None:
        """Moves the frame under `box` (above it when there is no room below), inside the parent."""
        parent = self.parentWidget()
        x = min(max(0, box.left()), max(0, parent.width() - self.width()))
        y = box.bottom() + 6
        if y + self.height() > parent.height():
            y = max(0, box.top() - self.height() - 6)
        self.move(x, y)

    def close_namer(self) -> None:
        self.face = None
        self.hide()
        if self.parentWidget() is not None:
            self.parentWidget().setFocus(Qt.OtherFocusReason)

    def commit(self) -> None:
        face = self.face
        name = " ".join(self.edit.text().split())
        if face is None or not name:
            return
        self.close_namer()
        self.actions.name_face(face.id, face.person_id, name)
        self.done.emit()

    def not_this_person(self) -> None:
        face = self.face
        if face is None or face.person_id is None:
            return
        self.close_namer()
        self.actions.reject([face.id], face.person_id)
        self.done.emit()

    def not_a_face(self) -> None:
        face = self.face
        if face is None:
            return
        self.close_namer()
        self.actions.not_a_face([face.id])
        self.done.emit()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape:  # closes the field, not the viewer
            self.close_namer()
            event.accept()
            return
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            event.accept()  # handled by the field: the dialog must not press a default button too
            return
        super().keyPressEvent(event)
