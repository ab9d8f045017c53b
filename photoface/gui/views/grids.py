"""Icon-mode grids of persons and of faces: multi-select, drag, drop, keyboard."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView

from photoface.gui.delegates import TileDelegate
from photoface.gui.models import IdRole, ItemRole
from photoface.gui.thumbnails import ThumbnailCache


class Grid(QListView):
    """A grid of tiles (persons or faces) with ExtendedSelection and Enter to open.

    Attributes:
        activated_id -- emitted with the item id on double-click or Enter.
    """

    activated_id = Signal(int)

    def __init__(self, cache: ThumbnailCache, kind: str, thumb_px: int = 104, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.IconMode)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.Batched)  # 10k items lay out in slices, never one long stall
        self.setBatchSize(400)
        self.setSpacing(4)
        self.setWrapping(True)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDrop)
        self.setDefaultDropAction(Qt.MoveAction)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.delegate = TileDelegate(cache, kind, thumb_px, self)
        self.setItemDelegate(self.delegate)
        cache.loaded.connect(self.viewport().update)
        self.doubleClicked.connect(lambda idx: self.activated_id.emit(idx.data(IdRole)))

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentIndex().isValid() \
                and self.state() != QAbstractItemView.EditingState:
            self.activated_id.emit(self.currentIndex().data(IdRole))
            return
        super().keyPressEvent(event)

    def selected_ids(self) -> list[int]:
        return [i.data(IdRole) for i in sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())]

    def selected_items(self) -> list:
        return [i.data(ItemRole) for i in sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())]

    def select_ids(self, ids) -> None:
        """Selects the rows holding these ids (after a reload)."""
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        wanted = set(ids)
        model = self.model()
        sel = QItemSelection()
        for row in range(model.rowCount()):
            idx = model.index(row, 0)
            if idx.data(IdRole) in wanted:
                sel.select(idx, idx)
        self.selectionModel().select(sel, QItemSelectionModel.ClearAndSelect)

    def sizeHint(self) -> QSize:
        return QSize(600, 400)
