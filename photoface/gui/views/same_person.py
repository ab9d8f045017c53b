"""“Same person?”: pairs of persons that look like one, from cluster.merge_suggestions.
Bare keys as in every review dialog (views/review_keys): Y merges, N says not the same, S or
Enter skips to the next pair, Esc closes."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from photoface.core.text import plural
from photoface.core.albums import update as cluster
from photoface.core.library.people import list_people
from photoface.gui.context import Context
from photoface.gui.views.loading import LoadsInBackground
from photoface.gui.views.review_keys import review_command


def _load_pairs(lib) -> list[tuple]:
    pairs = cluster.merge_suggestions(lib, limit=20)
    people = {p.id: p for p in list_people(lib, include_hidden=True, min_faces=0)}
    return [(people[a], people[b], d) for a, b, d in pairs if a in people and b in people]


class SamePersonDialog(LoadsInBackground, QDialog):
    """Attributes:
        pairs -- (PersonSummary a, PersonSummary b, distance), best first; index -- the one shown.
    """

    error_title = "Same person?"
    loaded = Signal()

    def __init__(self, ctx: Context, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.pairs: list[tuple] = []
        self.index = 0
        self.setWindowTitle("Same person?")
        layout = QVBoxLayout(self)
        self.title = QLabel("<h2>Same person?</h2>")
        layout.addWidget(self.title)
        grid = QGridLayout()
        self.pics = [QLabel(), QLabel()]
        self.names = [QLabel(), QLabel()]
        for i in range(2):
            self.pics[i].setFixedSize(QSize(160, 160))
            self.pics[i].setAlignment(Qt.AlignCenter)
            self.names[i].setAlignment(Qt.AlignCenter)
            grid.addWidget(self.pics[i], 0, i)
            grid.addWidget(self.names[i], 1, i)
        layout.addLayout(grid)
        self.status = QLabel("Looking for look-alike persons…")
        layout.addWidget(self.status)
        layout.addWidget(QLabel("Y = merge, N = not the same, S or Enter = skip, Esc = close."))
        bar = QHBoxLayout()
        self.merge_button = QPushButton("&Merge")
        self.merge_button.clicked.connect(self.merge)
        self.no_button = QPushButton("&Not the same")
        self.no_button.clicked.connect(self.not_same)
        self.skip_button = QPushButton("&Skip")
        self.skip_button.clicked.connect(self.skip)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        for b in (self.merge_button, self.no_button, self.skip_button, close):
            # No button takes the keyboard (nor Enter as a default button): the bare keys are the dialog's.
            b.setFocusPolicy(Qt.NoFocus)
            b.setAutoDefault(False)
        for b in (self.merge_button, self.no_button, self.skip_button):
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(close)
        layout.addLayout(bar)
        ctx.thumbs.loaded.connect(self._show)
        self._show()
        self.start_loading(ctx.lib_dir, _load_pairs)

    def _arrived(self, pairs) -> None:
        self.pairs, self.index = pairs, 0
        self._show()
        self.loaded.emit()

    def current(self):
        return self.pairs[self.index] if self.index < len(self.pairs) else None

    def _show(self) -> None:
        pair = self.current()
        for b in (self.merge_button, self.no_button, self.skip_button):
            b.setEnabled(pair is not None)
        if pair is None:
            if not self.loading:
                self.status.setText("No more look-alike persons." if self.pairs else "No look-alike persons found.")
            for i in range(2):
                self.pics[i].clear()
                self.names[i].clear()
            return
        a, b, d = pair
        for i, p in enumerate((a, b)):
            pm = self.ctx.thumbs.pixmap(p.cover_face_id) if p.cover_face_id else None
            if pm is not None and not pm.isNull():
                self.pics[i].setPixmap(pm)
            self.names[i].setText(f"<b>{p.label}</b><br>{plural(p.faces, 'face')}")
        self.status.setText(f"Pair {self.index + 1} of {len(self.pairs)} (distance {d:.2f})")

    def keyPressEvent(self, event) -> None:
        command = review_command(event)
        if command is None:
            super().keyPressEvent(event)
            return
        action = {"yes": self.merge, "no": self.not_same, "skip": self.skip, "next": self.skip}.get(command)
        if action is not None and self.current() is not None:
            action()

    def merge(self) -> None:
        pair = self.current()
        if pair is None:
            return
        a, b, _ = pair
        target, source = (a, b) if (a.name is not None or b.name is None) else (b, a)
        self.ctx.actions.merge([source.id], target.id)
        # Later pairs naming the merged person now mean its target.
        self.pairs = [(target if x.id == source.id else x, target if y.id == source.id else y, d)
                      for x, y, d in self.pairs]
        self.pairs = self.pairs[:self.index + 1] + [p for p in self.pairs[self.index + 1:] if p[0].id != p[1].id]
        self.skip()

    def not_same(self) -> None:
        pair = self.current()
        if pair is not None:
            self.ctx.actions.not_same(pair[0].id, pair[1].id)
            self.skip()

    def skip(self) -> None:
        self.index += 1
        self._show()
