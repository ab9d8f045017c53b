"""The README's screenshot: the real People view on a real scanned set, with named and unnamed
albums, every face painted as a coarse mosaic.

The test photos belong to their owners (see each set's SOURCE.md), so no face of them may reach a
committed image: the window's thumbnail cache is wrapped to hand out mosaics, and the real
delegates paint those (grid and sidebar alike). The unpixelated window is grabbed only in memory,
to prove that every face in the saved image was replaced. `make screenshot` runs this test and
copies the image to docs/people-view.png.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPixmap

from photoface.core.albums.update import update_albums
from photoface.core.library.people import list_people, person_faces
from photoface.core.albums.review import Review
from photoface.core.library.store import Library

from .conftest import _copy_library, screenshot, wait_idle

pytestmark = pytest.mark.model

SHOT = "readme-people-view"  # test-artifacts/screens/readme-people-view.png
NAMES = ("Alice", "Bruno", "Chiara")  # made up: the set's real labels stay out of the README
MOSAIC_BLOCKS = 6  # blocks across a thumbnail: ~17 px blocks on a 104 px tile, no face survives
SAME = 3  # two channel values this close count as "the same colour" (smooth scaling's rounding)


@pytest.fixture
def named_library(scanned_set, tmp_path):
    """lfw_subset (20 identities) grouped into albums, its three largest named and partly confirmed."""
    lib_dir, _ = scanned_set("lfw_subset")
    dst = tmp_path / "lib"
    _copy_library(lib_dir, dst)
    with Library(dst) as lib:
        update_albums(lib)
        review = Review(lib)
        for person, name in zip(list_people(lib), NAMES):  # unnamed: largest first
            review.rename(person.id, name)
            review.confirm([f.id for f in person_faces(lib, person.id)[:3]], person.id)
    return dst


def _mosaic(pm: QPixmap) -> QPixmap:
    """pm averaged into MOSAIC_BLOCKS blocks across its longer side, at its size and pixel ratio."""
    img = pm.toImage()
    block = max(img.width(), img.height()) / MOSAIC_BLOCKS
    small = img.scaled(max(1, round(img.width() / block)), max(1, round(img.height() / block)),
                       Qt.IgnoreAspectRatio, Qt.SmoothTransformation)  # area average per block
    out = QPixmap.fromImage(small.scaled(img.size(), Qt.IgnoreAspectRatio, Qt.FastTransformation))
    out.setDevicePixelRatio(pm.devicePixelRatio())
    return out


def _pixelate_thumbnails(monkeypatch, thumbs) -> None:
    """Every face the views ask `thumbs` for comes back as a mosaic (one per loaded pixmap, so
    the delegate's tile cache, keyed on the pixmap, stays valid)."""
    plain = thumbs.pixmap
    made: dict[tuple[int, int], QPixmap] = {}

    def pixmap(face_id: int) -> QPixmap | None:
        pm = plain(face_id)
        if pm is None or pm.isNull():
            return pm
        key = (face_id, pm.cacheKey())
        if key not in made:
            made[key] = _mosaic(pm)
        return made[key]

    monkeypatch.setattr(thumbs, "pixmap", pixmap)


def _pixels(image: QImage) -> np.ndarray:
    """(h, w, 3) uint8 RGB copy of image."""
    img = image.convertToFormat(QImage.Format_RGB888)
    h, w = img.height(), img.width()
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())
    return rows[:, : w * 3].reshape(h, w, 3).copy()


def _window_rect(view, rect: QRect, win) -> tuple[int, int, int, int]:
    """A view's item rect (viewport coordinates) as (x0, y0, x1, y1) in the window's grab."""
    top_left = view.viewport().mapTo(win, rect.topLeft())
    return top_left.x(), top_left.y(), top_left.x() + rect.width(), top_left.y() + rect.height()


def _changed_box(plain: np.ndarray, shot: np.ndarray, box) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """The mask of pixels of box that differ between the grabs, and its bounding box (or None)."""
    x0, y0, x1, y1 = box
    mask = (np.abs(plain[y0:y1, x0:x1].astype(int) - shot[y0:y1, x0:x1]) > SAME).any(axis=2)
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return mask, None
    return mask, (x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1)


def _black_in_both(plain: np.ndarray, shot: np.ndarray, box) -> np.ndarray:
    """Pixels of box that are black in both grabs (a thumbnail's padding beyond its photo's edge)."""
    x0, y0, x1, y1 = box
    return (plain[y0:y1, x0:x1, :3] <= SAME).all(axis=2) & (shot[y0:y1, x0:x1, :3] <= SAME).all(axis=2)


def _extent_with_padding(mask: np.ndarray, padding: np.ndarray, box) -> tuple[int, int, int, int]:
    """The bounding box of the changed pixels, widened across padding in the same rows and
    heightened across padding in the same columns."""
    ys, xs = np.nonzero(mask)
    rows, cols = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    wide = np.flatnonzero((mask | padding)[rows].any(axis=0))
    wide = wide[(wide >= _run_start(wide, xs.min())) & (wide <= _run_end(wide, xs.max()))]
    tall = np.flatnonzero((mask | padding)[:, cols].any(axis=1))
    tall = tall[(tall >= _run_start(tall, ys.min())) & (tall <= _run_end(tall, ys.max()))]
    return box[0] + wide.min(), box[1] + tall.min(), box[0] + wide.max() + 1, box[1] + tall.max() + 1


def _run_start(values: np.ndarray, inside: int) -> int:
    """The first value of the unbroken run of consecutive integers in `values` that holds `inside`."""
    i = int(np.searchsorted(values, inside))
    while i > 0 and values[i - 1] == values[i] - 1:
        i -= 1
    return int(values[i])


def _run_end(values: np.ndarray, inside: int) -> int:
    i = int(np.searchsorted(values, inside))
    while i + 1 < len(values) and values[i + 1] == values[i] + 1:
        i += 1
    return int(values[i])


def _flat_share(pixels: np.ndarray, mask: np.ndarray) -> float:
    """Share of horizontally and vertically adjacent pixel pairs, both in mask, of the same colour:
    near 1 for a mosaic of big blocks, far lower for a photo."""
    pix = pixels.astype(int)
    same, total = 0, 0
    for a, b, m in ((pix[:, 1:], pix[:, :-1], mask[:, 1:] & mask[:, :-1]),
                    (pix[1:], pix[:-1], mask[1:] & mask[:-1])):
        same += int(((np.abs(a - b) <= SAME).all(axis=2) & m).sum())
        total += int(m.sum())
    return same / max(total, 1)


def test_readme_people_view(qtbot, make_window, named_library, monkeypatch):
    win = make_window(named_library)
    people = list(win.people.model.items)

    # Named albums first, by name, each with its face count; then the unnamed ones, largest first.
    assert [(p.id, p.name, p.faces) for p in people] == [(p.id, p.name, p.faces) for p in list_people(win.library)]
    named = [p for p in people if p.name is not None]
    assert [p.name for p in named] == sorted(NAMES) and people[: len(NAMES)] == named
    assert all(p.confirmed == 3 for p in named)
    unnamed = people[len(NAMES):]
    assert len(unnamed) >= 10 and [p.faces for p in unnamed] == sorted((p.faces for p in unnamed), reverse=True)
    wait_idle(qtbot, win)
    grid, proxy = win.people.grid, win.people.proxy
    rects = []
    for row, p in enumerate(people):
        idx = proxy.index(row, 0)
        assert idx.data(Qt.DisplayRole) == p.label
        assert idx.data(Qt.ToolTipRole).startswith(f"{p.label}: {p.faces} faces")
        rects.append(grid.visualRect(idx))
    # In reading order the named tiles come first.
    reading = sorted(range(len(rects)), key=lambda r: (rects[r].top(), rects[r].left()))
    assert reading[: len(NAMES)] == list(range(len(NAMES)))

    side_list = win.side_list
    side_rects = [side_list.visualRect(win.side_proxy.index(r, 0)) for r in range(win.side_proxy.rowCount())]

    plain = _pixels(win.grab().toImage())  # in memory only: it shows the test photos
    _pixelate_thumbnails(monkeypatch, win.thumbs)
    win.reload_all()  # a fresh model: the sidebar's cached icons go too
    wait_idle(qtbot, win)
    path = screenshot(win, SHOT)
    shot = _pixels(QImage(str(path)))
    assert shot.shape == plain.shape and shot.shape[1] == 1200
    assert [grid.visualRect(proxy.index(r, 0)) for r in range(len(people))] == rects  # same layout
    assert [side_list.visualRect(win.side_proxy.index(r, 0)) for r in range(len(people))] == side_rects

    # Every visible tile: its whole thumbnail, and nothing else, changed into a mosaic.
    viewport = grid.viewport().rect()
    visible = [r for r in rects if viewport.contains(r)]
    assert len(visible) >= len(NAMES) + 10
    side = grid.delegate.thumb_px
    for rect in visible:
        box = _window_rect(grid, rect, win)
        mask, changed = _changed_box(plain, shot, box)
        assert changed is not None, "a thumbnail is the same as the unpixelated grab"
        # A face at its photo's edge has black padding in its thumbnail; a mosaic block over the
        # padding stays black. Padding is no face: beside the changed pixels (in their rows, or
        # their columns) it counts towards the extent, never towards the area.
        x0, y0, x1, y1 = _extent_with_padding(mask, _black_in_both(plain, shot, box), box)
        # The face changed across its extent and most of its area (a mosaic block can match a
        # flat dark background), and the name and count under it did not.
        assert max(x1 - x0, y1 - y0) >= side * 0.9 and x1 - x0 <= side + 2 and y1 - y0 <= side + 2
        assert mask.sum() >= 0.4 * side * side
        tx0, ty0, _, _ = _window_rect(grid, rect, win)
        tile = (slice(ty0, ty0 + rect.height()), slice(tx0, tx0 + rect.width()))
        assert _flat_share(shot[tile], mask) > 0.8  # measured 0.87-0.89 with 6 blocks
        assert _flat_share(plain[tile], mask) < 0.7  # it was a photo (measured 0.22-0.52)

    # The sidebar's small faces too: each visible row changed, in its icon only.
    icon = side_list.iconSize().width()
    rows = [r for r in side_rects if side_list.viewport().rect().contains(r)]
    assert len(rows) >= len(NAMES) + 10
    for rect in rows:
        _, changed = _changed_box(plain, shot, _window_rect(side_list, rect, win))
        assert changed is not None, "a sidebar face is the same as the unpixelated grab"
        assert changed[2] - changed[0] <= icon + 2
