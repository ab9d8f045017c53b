"""The People grid (or the Hidden persons): cover faces, names, counts, a name filter, and the
actions on selected persons (merge, photos together, hide)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QLineEdit, QMenu, QPushButton, QVBoxLayout, QWidget

from photoface.core.library.people import list_people
from photoface.gui import prompts
from photoface.gui.context import Context
from photoface.gui.item_models import NameFilter, PeopleModel
from photoface.gui.views.flow import FlowLayout
from photoface.gui.views.grids import Grid
from photoface.gui.views.shortcuts_sheet import SCOPE
from photoface.gui.workers import ThreadJob


class PeopleView(QWidget):
    """Persons as a grid. `hidden=True` shows the hidden ones instead.

    Attributes:
        model -- the PeopleModel (all persons of this view, unfiltered).
        grid -- the Grid over the name filter.
        loaded -- emitted after each reload arrived.
    """

    loaded = Signal()
    same_person_requested = Signal()
    shared_photos_requested = Signal(list)

    def __init__(self, ctx: Context, hidden: bool = False, parent=None):
        super().__init__(parent)
        self.ctx, self.hidden = ctx, hidden
        self._generation = 0
        self.loading = False
        self.model = PeopleModel(self)
        self.proxy = NameFilter(self)
        self.proxy.setSourceModel(self.model)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        bar = FlowLayout()  # wraps at a narrow window instead of setting its minimum width
        self.title = QLabel("<b>Hidden people</b>" if hidden else "<b>People</b>")
        bar.addWidget(self.title)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setMinimumWidth(200)
        self.filter.textChanged.connect(self.proxy.set_text)
        bar.addWidget(self.filter)
        self.merge_button = QPushButton("&Merge")
        self.merge_button.setToolTip("Merge the selected persons into one (or drag a person onto another)")
        self.merge_button.clicked.connect(self.merge_selected)
        self.together_button = QPushButton("Photos &together")
        self.together_button.setToolTip("Photos in which all the selected persons appear")
        self.together_button.clicked.connect(self.show_shared)
        self.hide_button = QPushButton("Show" if hidden else "&Hide")
        self.hide_button.clicked.connect(self.toggle_hidden_selected)
        for b in (self.merge_button, self.together_button, self.hide_button):
            bar.addWidget(b)
        if not hidden:
            self.same_button = QPushButton("&Same person?…")
            self.same_button.setToolTip("Persons that look like one person: merge them or say they are not")
            self.same_button.clicked.connect(self.same_person_requested)
            bar.addWidget(self.same_button)
        layout.addLayout(bar)

        self.grid = Grid(ctx.thumbs, "person", 104, self)
        self.grid.setModel(self.proxy)
        self.grid.activated_id.connect(ctx.open_person)
        self.grid.setContextMenuPolicy(Qt.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._menu)
        self.grid.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.persons_dropped.connect(self._dropped_persons)
        self.model.faces_dropped.connect(lambda faces, pid: ctx.actions.move(faces, pid))
        layout.addWidget(self.grid, 1)
        self.empty = QLabel("No people yet. Add a folder of photos and they appear here as they are found.")
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.hide()
        layout.addWidget(self.empty, 1)

        rename = QAction("Rename", self.grid)
        rename.setShortcut(QKeySequence(Qt.Key_F2))
        rename.setShortcutContext(Qt.WidgetShortcut)
        rename.setProperty(SCOPE, "Hidden people (grid)" if hidden else "People (grid)")
        rename.triggered.connect(self.rename_current)
        self.grid.addAction(rename)
        self._update_buttons()

    # --- loading ----------------------------------------------------------------------------

    def reload(self) -> None:
        self._generation += 1
        gen, hidden = self._generation, self.hidden
        self.loading = True
        job = ThreadJob(self.ctx.lib_dir, lambda lib: list_people(lib, hidden_only=hidden), owner=self)
        job.signals.finished.connect(lambda people: self._arrived(gen, people))
        job.signals.failed.connect(lambda *err: self._failed(gen, *err))
        job.start()

    def _arrived(self, gen: int, people) -> None:
        if gen != self._generation:
            return
        selected = self.grid.selected_ids()
        current = self.grid.currentIndex().data(Qt.UserRole + 1)
        self.model.set_items(people)
        if selected:
            self.grid.select_ids(selected)
        if current is not None:
            row = self.model.row_of(current)
            if row is not None:
                self.grid.setCurrentIndex(self.proxy.mapFromSource(self.model.index(row)))
                if selected:
                    self.grid.select_ids(selected)
        self.grid.setVisible(bool(people))
        self.empty.setVisible(not people)
        if self.hidden:
            self.empty.setText("No hidden people.")
        self.loading = False
        self._update_buttons()
        self.loaded.emit()

    def _failed(self, gen: int, kind: str, message: str, details: str) -> None:
        if gen == self._generation:
            self.loading = False
            prompts.show_error(self, "Could not list the people", message, details)

    # --- actions ----------------------------------------------------------------------------

    def _update_buttons(self, *_) -> None:
        n = len(self.grid.selected_ids())
        self.merge_button.setEnabled(n >= 2)
        self.together_button.setEnabled(n >= 2)
        self.hide_button.setEnabled(n >= 1)

    def merge_selected(self) -> None:
        """Merges the selected persons into the first named one (else the largest)."""
        people = self.grid.selected_items()
        if len(people) < 2:
            return
        target = sorted(people, key=lambda p: (p.name is None, -p.faces, p.id))[0]
        self.ctx.actions.merge([p.id for p in people if p.id != target.id], target.id)

    def _dropped_persons(self, sources: list[int], target: int) -> None:
        self.ctx.actions.merge(sources, target)

    def toggle_hidden_selected(self) -> None:
        ids = self.grid.selected_ids()
        if ids:
            self.ctx.actions.hide(ids, not self.hidden)

    def show_shared(self) -> None:
        ids = self.grid.selected_ids()
        if len(ids) >= 2:
            self.shared_photos_requested.emit(ids)

    def rename_current(self) -> None:
        idx = self.grid.currentIndex()
        if not idx.isValid():
            return
        person = idx.data(Qt.UserRole + 2)
        from photoface.core.library.people import person_names

        names = [n for _, n in person_names(self.ctx.library)]
        name = prompts.ask_text(self, "Rename", "Name:", names, text=person.name or "")
        if name is not None:
            self.ctx.actions.rename(person.id, name or None)

    def _menu(self, pos) -> None:
        idx = self.grid.indexAt(pos)
        if not idx.isValid():
            return
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.ctx.open_person(idx.data(Qt.UserRole + 1)))
        menu.addAction("Rename…", self.rename_current)
        if len(self.grid.selected_ids()) >= 2:
            menu.addAction("Merge selected", self.merge_selected)
            menu.addAction("Photos together", self.show_shared)
        menu.addAction("Show" if self.hidden else "Hide", self.toggle_hidden_selected)
        menu.exec(self.grid.viewport().mapToGlobal(pos))
