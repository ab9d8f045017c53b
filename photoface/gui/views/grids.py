"""Icon-mode grids of persons and of faces: multi-select, drag, drop, keyboard."""

from __future__ import annotations

import collections

from PySide6.QtCore import QEvent, QItemSelectionModel, QPoint, QRect, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyleOptionViewItem

from photoface.gui.delegates import TileDelegate, source_item
from photoface.gui.item_models import IdRole, ItemRole
from photoface.gui.thumbnails import ThumbnailCache


def _bytes(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * 4


class CachedTileDelegate(TileDelegate):
    """A TileDelegate that keeps each finished tile (thumbnail, text, badges, selection) as a pixmap.

    Drawing a tile's text and its masked thumbnail costs 0.3-0.6 ms, and a screen of 40-50 tiles
    repaints on every scroll step and every time thumbnails arrive; one unscaled, unfiltered blit
    per cached tile makes that repaint ~2-3 ms instead of ~16 ms (benchmarks/gui.py). A tile is
    drawn again only when something it shows changes, which the cache key spells out: the item's
    shown fields, the thumbnail (its pixmap's cacheKey, 0 while loading), the style state
    (selected, hover, focus, active), the size, the device pixel ratio, the palette and the font.

    Attributes:
        budget_bytes -- pixels of finished tiles kept (least recently painted go first): a person
            tile is ~70 KB at 1x (~280 KB at 2x), so 48 MB holds 3-10 screens of them.
    """

    budget_bytes = 48 << 20

    def __init__(self, cache: ThumbnailCache, kind: str, thumb_px: int = 104, parent=None):
        super().__init__(cache, kind, thumb_px, parent)
        self._done: collections.OrderedDict[tuple, QPixmap] = collections.OrderedDict()
        self._done_bytes = 0
        self._font, self._font_serial = QFont(), 0  # QFont.key() per tile costs more than the blit

    def content(self, item) -> tuple[int | None, tuple]:
        """(face id shown, what else the tile shows) of a PersonSummary / FaceInfo."""
        if self.kind == "person":
            return item.cover_face_id, (item.id, item.name, item.faces, item.hidden)
        mark = self.marks.get(item.id) if self.marks is not None else None
        hint = self.hints.get(item.id) if self.hints is not None else None
        return item.id, (item.id, item.state, mark, hint)

    def paint(self, painter: QPainter, option, index) -> None:
        face_id, content = self.content(source_item(index))
        thumb = self.cache.pixmap(face_id) if face_id is not None else None  # a miss queues the load
        rect = option.rect
        dpr = painter.device().devicePixelRatio()
        if option.font != self._font:
            self._font, self._font_serial = QFont(option.font), self._font_serial + 1
        key = (content, thumb.cacheKey() if thumb is not None else 0, option.state.value,
               rect.width(), rect.height(), dpr, option.palette.cacheKey(), self._font_serial)
        tile = self._done.get(key)
        if tile is None:
            tile = self._store(key, self._render(option, index, dpr), face_id, thumb)
        else:
            self._done.move_to_end(key)
        painter.save()
        # Without smooth filtering an integer-aligned, unscaled drawPixmap is a plain blit: the
        # raster engine takes its slow, filtered path (~0.2 ms a tile) whenever the hint is on.
        painter.setRenderHint(QPainter.SmoothPixmapTransform, False)
        painter.drawPixmap(rect.topLeft(), tile)
        painter.restore()

    def _store(self, key: tuple, tile: QPixmap, face_id: int | None, thumb: QPixmap | None) -> QPixmap:
        self._done[key] = tile
        self._done_bytes += _bytes(tile)
        while self._done_bytes > self.budget_bytes and len(self._done) > 1:
            self._done_bytes -= _bytes(self._done.popitem(last=False)[1])
        if thumb is not None:
            # The masked thumbnail now lives inside the finished tile; keeping it in
            # TileDelegate's own cache too would hold every face twice.
            self._tiles.pop((face_id, thumb.cacheKey()), None)
        return tile

    def _render(self, option, index, dpr: float) -> QPixmap:
        """The tile as TileDelegate paints it, on the view's own background (an opaque tile
        keeps the text's antialiasing as on screen, and blits without blending)."""
        size = option.rect.size()
        tile = QPixmap(round(size.width() * dpr), round(size.height() * dpr))
        tile.setDevicePixelRatio(dpr)
        view = option.widget
        viewport = view.viewport() if isinstance(view, QAbstractItemView) else None
        if viewport is not None:
            tile.fill(viewport.palette().color(viewport.backgroundRole()))
        else:
            tile.fill(Qt.transparent)
        opt = QStyleOptionViewItem(option)
        opt.rect = QRect(0, 0, size.width(), size.height())
        p = QPainter(tile)
        super().paint(p, opt, index)
        p.end()
        return tile


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
        # Drops land on the viewport, and QListView's Static movement turned its drops off: a person
        # dragged onto another tile was silently refused (seen under Xvfb: only the sidebar merged).
        self.viewport().setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.delegate = CachedTileDelegate(cache, kind, thumb_px, self)
        self.setItemDelegate(self.delegate)
        cache.loaded.connect(self.viewport().update)
        self._scroll_value = 0
        self.verticalScrollBar().valueChanged.connect(self._prefetch)
        self.doubleClicked.connect(lambda idx: self.activated_id.emit(idx.data(IdRole)))

    def _prefetch(self, value: int) -> None:
        """Asks for the thumbnails from the middle of the screen to one screenful past its edge
        in the scroll direction, before they show.

        The loader decodes a thumbnail in ~0.25 ms, so by the time those rows scroll in their
        faces are there: each tile is drawn once, not first as a placeholder and again when its
        face arrives (half the drawing while scrolling, benchmarks/gui.py). The rows are asked for
        farthest first: the loader takes the newest request first, so the nearest load first.
        """
        down = value >= self._scroll_value
        self._scroll_value = value
        model = self.model()
        middle = self.viewport().rect().center()
        centre = self.indexAt(middle)
        if not centre.isValid():  # between two tiles: 8 px on is inside one (spacing is 4)
            centre = self.indexAt(middle + QPoint(8, 8))
        if model is None or not centre.isValid():
            return
        tile = self.visualRect(centre)
        step_x, step_y = tile.width() + self.spacing(), tile.height() + self.spacing()
        if step_x <= 0 or step_y <= 0:
            return
        per_row = max(1, self.viewport().width() // step_x)
        screen = per_row * (self.viewport().height() // step_y + 2)
        if down:
            end = min(model.rowCount(), centre.row() + screen + screen // 2)
            rows = range(end - 1, centre.row() - 1, -1)
        else:
            rows = range(max(0, centre.row() - screen - screen // 2), centre.row() + 1)
        for row in rows:
            face_id, _ = self.delegate.content(source_item(model.index(row, 0)))
            if face_id is not None:
                self.delegate.cache.pixmap(face_id)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentIndex().isValid() \
                and self.state() != QAbstractItemView.EditingState:
            self.activated_id.emit(self.currentIndex().data(IdRole))
            return
        super().keyPressEvent(event)

    def selectionCommand(self, index, event=None):
        # In an ExtendedSelection view Ctrl means "move the focus only": Ctrl+Home/End moved the
        # dotted focus to the first/last tile and left the selection behind, so the next action
        # went to tiles the user no longer looked at. They select like Home/End (Shift still extends).
        if event is not None and event.type() == QEvent.KeyPress \
                and event.key() in (Qt.Key_Home, Qt.Key_End) and event.modifiers() == Qt.ControlModifier:
            return QItemSelectionModel.ClearAndSelect
        return super().selectionCommand(index, event)

    def selected_ids(self) -> list[int]:
        return [i.data(IdRole) for i in sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())]

    def selected_items(self) -> list:
        return [i.data(ItemRole) for i in sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())]

    def select_ids(self, ids) -> None:
        """Selects the rows holding these ids (after a reload)."""
        from PySide6.QtCore import QItemSelection

        model = self.model()
        source = model.sourceModel() if isinstance(model, QSortFilterProxyModel) else model
        sel = QItemSelection()
        # The models map ids to rows: a reload with a selection stays O(selected), not a data()
        # call per row of 10k persons.
        for item_id in dict.fromkeys(ids):
            row = source.row_of(item_id)
            if row is None:
                continue
            idx = source.index(row, 0)
            if source is not model:
                idx = model.mapFromSource(idx)
            if idx.isValid():  # filtered out: not selectable, as before
                sel.select(idx, idx)
        self.selectionModel().select(sel, QItemSelectionModel.ClearAndSelect)

    def sizeHint(self) -> QSize:
        return QSize(600, 400)
