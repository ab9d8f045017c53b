"""The Unsorted faces view: faces in no album, background faces (bystanders) last, and the
"Dismiss background faces" action with its way back ("Show dismissed", then restore)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from photoface.gui.context import Context
from photoface.gui.views.faces_panel import FacesPanel

_INTRO = ("<b>Unsorted faces</b> — faces in no album yet, background faces last. Select some and make a "
          "new person, move them to someone, or drag them onto a person on the left.")
_DISMISSED = ("<b>Dismissed faces</b> — background faces you found not interesting. They stay faces "
              "(not \"not a face\"); restore any to bring them back to Unsorted.")


class UnsortedView(QWidget):
    """Unsorted faces, or (with "Show dismissed") the dismissed ones.

    Attributes:
        panel -- the FacesPanel of the listed faces.
        dismiss_button -- dismisses the listed background faces, or restores dismissed ones.
        show_dismissed -- lists the dismissed faces instead of the unsorted ones.
        mode_changed -- emitted when "Show dismissed" flips (the window reloads the list).
    """

    mode_changed = Signal()

    def __init__(self, ctx: Context, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        self.intro = QLabel(_INTRO)
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        bar = QHBoxLayout()
        self.dismiss_button = QPushButton()
        self.dismiss_button.clicked.connect(self._dismiss_or_restore)
        bar.addWidget(self.dismiss_button)
        self.show_dismissed = QCheckBox("Show dismissed")
        self.show_dismissed.setToolTip("List the background faces you dismissed, to restore them")
        self.show_dismissed.toggled.connect(self._mode_flipped)
        bar.addWidget(self.show_dismissed)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.panel = FacesPanel(ctx)
        layout.addWidget(self.panel, 1)
        self.panel.grid.selectionModel().selectionChanged.connect(self._update)
        self._faces: list = []
        self._update()

    def set_faces(self, faces: list) -> None:
        self._faces = faces
        self.panel.set_faces(None, faces)
        self._update()

    def background_ids(self) -> list[int]:
        """The background faces listed now (what "Dismiss background faces" dismisses)."""
        return [f.id for f in self._faces if f.background]

    def dismiss_background(self) -> None:
        """Dismisses the background faces listed in Unsorted: one decision, Edit → Undo restores them."""
        ids = self.background_ids()
        if ids and not self.show_dismissed.isChecked():
            self.ctx.actions.dismiss_background(ids)

    def _dismiss_or_restore(self) -> None:
        if self.show_dismissed.isChecked():
            ids = self.panel.grid.selected_ids() or [f.id for f in self._faces]
            if ids:
                self.ctx.actions.restore_dismissed(ids)
        else:
            self.dismiss_background()

    def _mode_flipped(self) -> None:
        self.intro.setText(_DISMISSED if self.show_dismissed.isChecked() else _INTRO)
        self._update()
        self.mode_changed.emit()

    def _update(self, *_) -> None:
        if self.show_dismissed.isChecked():
            selected = len(self.panel.grid.selected_ids())
            self.dismiss_button.setText("Restore selected" if selected else "Restore all")
            self.dismiss_button.setToolTip("Bring these dismissed faces back to Unsorted")
            self.dismiss_button.setEnabled(bool(self._faces))
        else:
            n = len(self.background_ids())
            self.dismiss_button.setText(f"Dismiss background faces ({n})")
            self.dismiss_button.setToolTip("Faces much smaller or blurrier than the main faces of their photo, "
                                           "or cut by its edge: mark them not interesting (they stay faces; "
                                           "Edit → Undo or Show dismissed brings them back)")
            self.dismiss_button.setEnabled(n > 0)
