"""The grid's tile cache paints exactly what TileDelegate paints, redraws a tile when what it
shows changes, and asks for the next screenful's thumbnails ahead of the scroll. No models
needed: persons and thumbnails are made up."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QObject, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QStyle

from photoface.core.library.people import PersonSummary
from photoface.gui.delegates import TileDelegate
from photoface.gui.item_models import NameFilter, PeopleModel
from photoface.gui.views.grids import CachedTileDelegate, Grid


class FakeThumbs(QObject):
    """A ThumbnailCache stand-in: `faces` maps face id -> pixmap; every ask is recorded."""

    loaded = Signal()

    def __init__(self):
        super().__init__()
        self.faces: dict[int, QPixmap] = {}
        self.asked: list[int] = []

    def pixmap(self, face_id: int):
        self.asked.append(face_id)
        return self.faces.get(face_id)


def _face(seed: int) -> QPixmap:
    rng = np.random.default_rng(seed)
    pixels = np.ascontiguousarray(rng.integers(0, 256, (112, 112, 3), dtype=np.uint8))
    return QPixmap.fromImage(QImage(pixels.data, 112, 112, 336, QImage.Format_RGB888).copy())


def _people(n: int) -> list[PersonSummary]:
    return [PersonSummary(i, f"Person {i}" if i % 3 == 0 else None, False, 20 - i % 7, i % 4, 1000 + i)
            for i in range(1, n + 1)]


def _grid(qtbot, thumbs, people, delegate_class=CachedTileDelegate) -> Grid:
    grid = Grid(thumbs, "person", 104)
    if delegate_class is not CachedTileDelegate:
        grid.delegate = delegate_class(thumbs, "person", 104, grid)
        grid.setItemDelegate(grid.delegate)
    model, proxy = PeopleModel(grid), NameFilter(grid)
    proxy.setSourceModel(model)
    model.set_items(people)
    grid.setModel(proxy)
    qtbot.addWidget(grid)
    grid.resize(700, 500)
    grid.show()
    qtbot.waitExposed(grid)
    qtbot.waitUntil(lambda: grid.visualRect(proxy.index(len(people) - 1, 0)).isValid())
    return grid


def _shot(grid) -> np.ndarray:
    grid.viewport().repaint()
    img = grid.viewport().grab().toImage().convertToFormat(QImage.Format_RGB888)
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return rows[:, : img.width() * 3].copy()


def test_cached_tiles_look_like_tile_delegate(qtbot):
    thumbs = FakeThumbs()
    people = _people(12)
    thumbs.faces = {p.cover_face_id: _face(p.id) for p in people[::2]}  # half still loading
    plain = _grid(qtbot, thumbs, people, TileDelegate)
    cached = _grid(qtbot, thumbs, people)
    for grid in (plain, cached):
        grid.selectionModel().select(grid.model().index(1, 0), QItemSelectionModel.Select)
    assert np.array_equal(_shot(cached), _shot(plain))
    assert np.array_equal(_shot(cached), _shot(plain))  # from the cache this time


def test_tile_redrawn_when_what_it_shows_changes(qtbot):
    thumbs = FakeThumbs()
    people = _people(6)
    grid = _grid(qtbot, thumbs, people)
    rect = grid.visualRect(grid.model().index(0, 0))

    def tile():
        shot = _shot(grid)
        return shot[rect.top():rect.bottom() + 1, rect.left() * 3:(rect.right() + 1) * 3]

    placeholder = tile()
    thumbs.faces[people[0].cover_face_id] = _face(1)  # its face arrived
    with_face = tile()
    assert not np.array_equal(with_face, placeholder)
    grid.model().sourceModel().set_items([PersonSummary(1, "Zed", False, 99, 1, 1001), *people[1:]])
    renamed = tile()
    assert not np.array_equal(renamed, with_face)
    grid.selectionModel().select(grid.model().index(0, 0), QItemSelectionModel.Select)
    assert not np.array_equal(tile(), renamed)
    grid.selectionModel().clearSelection()
    assert np.array_equal(tile(), renamed)


def _on_screen(grid) -> list[int]:
    model = grid.model()
    return [r for r in range(model.rowCount())
            if grid.visualRect(model.index(r, 0)).intersects(grid.viewport().rect())]


def test_scrolling_asks_ahead_so_tiles_are_drawn_once(qtbot):
    thumbs = FakeThumbs()
    people = _people(600)
    grid = _grid(qtbot, thumbs, people)
    grid.viewport().repaint()
    thumbs.asked.clear()
    bar = grid.verticalScrollBar()
    bar.setValue(bar.pageStep() // 2)  # before any paint: only the prefetch has asked
    row_of_face = {p.cover_face_id: r for r, p in enumerate(people)}
    asked = [row_of_face[f] for f in thumbs.asked]
    visible = _on_screen(grid)
    assert max(asked) > max(visible) + 5  # past the screen's edge, in the scroll direction
    assert asked == sorted(asked, reverse=True)  # farthest first: the nearest load first
    assert min(asked) in visible

    thumbs.faces = {p.cover_face_id: _face(p.id) for p in people}  # they arrived
    grid.viewport().repaint()
    drawn = []
    render = grid.delegate._render

    def counted(option, index, dpr):
        if not option.state & QStyle.State_MouseOver:  # the offscreen cursor may rest on a tile
            drawn.append(index.row())
        return render(option, index, dpr)

    grid.delegate._render = counted
    bar.setValue(bar.value() + bar.pageStep() // 2)
    grid.viewport().repaint()
    new_rows = set(_on_screen(grid)) - set(visible)
    assert new_rows and new_rows <= set(asked)  # asked for before they showed
    assert sorted(drawn) == sorted(new_rows)  # drawn once, with their faces
    drawn.clear()
    grid.viewport().repaint()
    assert drawn == []  # from the cache


def test_grid_delegate_keeps_review_marks_in_its_key(qtbot):
    from photoface.core.library.people import FaceInfo
    from photoface.core.types import Box
    from photoface.gui.item_models import FacesModel

    thumbs = FakeThumbs()
    faces = [FaceInfo(i, 1, Box(0, 0, 10, 10), "suggested", 1, None, 0.9, None, None) for i in range(1, 4)]
    thumbs.faces = {f.id: _face(f.id) for f in faces}
    grid = Grid(thumbs, "face", 96)
    model = FacesModel(grid)
    model.set_items(faces)
    grid.setModel(model)
    grid.delegate.marks = model.marks
    qtbot.addWidget(grid)
    grid.resize(500, 300)
    grid.show()
    qtbot.waitExposed(grid)
    before = _shot(grid)
    model.set_mark(2, "yes")
    after = _shot(grid)
    assert not np.array_equal(before, after)
    model.set_mark(2, None)
    assert np.array_equal(_shot(grid), before)


def test_select_ids_through_the_name_filter(qtbot):
    people = _people(30)
    grid = _grid(qtbot, FakeThumbs(), people)
    grid.select_ids([3, 4, 999, 6])  # 999: gone since
    assert grid.selected_ids() == [3, 4, 6]
    grid.model().set_text("person")  # only the named (ids 3, 6, 9, …) pass
    grid.select_ids([3, 4, 6])
    assert grid.selected_ids() == [3, 6]
