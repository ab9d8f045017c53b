"""Issue 17, part 2: the window fits every screen. Usable down to 800 × 560 logical pixels, first
opened at about 80 % of the screen, geometry and splitter remembered, correct (and with crisp
thumbnails) at scale factors 1.25, 1.5 and 2.0."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import QPushButton

from photoface.gui.window_geometry import first_geometry

from .conftest import REPO_ROOT, SCREENS, screenshot, wait_idle

SMALLEST = QSize(800, 560)


def test_first_geometry_is_80_percent_centred():
    screen = QRect(0, 0, 1600, 900)
    rect = first_geometry(screen, QSize(600, 320))
    assert (rect.width(), rect.height()) == (1280, 720)
    assert rect.center() == screen.center()
    # Never smaller than the window can be, never larger than the screen.
    assert first_geometry(QRect(0, 0, 800, 600), QSize(700, 320)).width() == 700
    assert first_geometry(QRect(0, 0, 800, 600), QSize(900, 320)).width() == 800


def _buttons_inside(widget) -> list[str]:
    """Texts of the visible buttons of `widget` that are cut off by its edges."""
    outside = []
    for b in widget.findChildren(QPushButton):
        if b.isVisible():
            top_left = b.mapTo(widget, QPoint(0, 0))
            if not widget.rect().contains(QRect(top_left, b.size())):
                outside.append(b.text())
    return outside


@pytest.mark.model
def test_window_usable_at_800_by_560(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    people = list(win.people.model.items)
    screens = {"People": None, "Person": people[0].id, "Unsorted faces": None, "Hidden": None, "Folders": None}
    for view, person in screens.items():
        if person is not None:
            win.open_person(person)
        else:
            win.show_view(view)
        wait_idle(qtbot, win)
        hint = win.minimumSizeHint()
        assert hint.width() <= SMALLEST.width() and hint.height() <= SMALLEST.height(), (view, hint)
    win.show_view("People")
    win.resize(SMALLEST)
    wait_idle(qtbot, win)
    assert win.size() == SMALLEST
    assert not _buttons_inside(win.people), _buttons_inside(win.people)
    screenshot(win, "window-800x560")
    win.open_person(people[0].id)
    wait_idle(qtbot, win)
    assert win.size() == SMALLEST
    assert not _buttons_inside(win.person), _buttons_inside(win.person)  # the toolbar row wrapped
    screenshot(win, "person-800x560")


@pytest.mark.model
def test_first_open_fills_80_percent_then_geometry_and_splitter_are_remembered(qtbot, library_dir, tmp_path):
    from photoface.core.library.store import Library
    from photoface.gui.main_window import MainWindow
    from photoface.gui.settings import ui_settings

    ini = str(tmp_path / "fresh-ui.ini")
    win = MainWindow(Library(library_dir), ui_settings(ini), probe_device=False)
    qtbot.addWidget(win)
    available = win.screen().availableGeometry()
    expected = first_geometry(available, win.minimumSizeHint())
    assert win.size() == expected.size()
    assert abs(win.width() - 0.8 * available.width()) <= 1 or win.width() == win.minimumSizeHint().width()
    win.show()
    win.resize(700 if available.width() >= 700 else available.width(), 560)
    win.splitter.setSizes([150, win.splitter.width() - 150])
    sizes = win.splitter.sizes()
    size = win.size()
    win.close()  # saves the state
    win.thumbs.stop()

    again = MainWindow(Library(library_dir), ui_settings(ini), probe_device=False)
    qtbot.addWidget(again)
    again.show()
    qtbot.wait(50)
    assert again.size() == size
    assert again.splitter.sizes() == sizes
    again.close()
    again.thumbs.stop()


@pytest.mark.model
@pytest.mark.parametrize("scale,size", [(1.25, (1024, 700)), (1.5, (1280, 800)), (2.0, (1000, 700))])
def test_window_at_scale_factor(library_dir, tmp_path, scale, size):
    SCREENS.mkdir(parents=True, exist_ok=True)
    png = SCREENS / f"window-{size[0]}x{size[1]}-scale-{scale}.png"
    env = dict(os.environ, QT_SCALE_FACTOR=str(scale), QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, str(REPO_ROOT / "tests" / "gui" / "scaled_window.py"), str(library_dir),
                          str(tmp_path / "ui.ini"), str(size[0]), str(size[1]), str(png)],
                         env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["dpr"] == pytest.approx(scale)
    assert got["size"] == list(size)
    # The minimum is in logical pixels: the same at every scale, within the 800 × 560 target.
    assert got["min"][0] <= SMALLEST.width() and got["min"][1] <= SMALLEST.height(), got
    assert got["grab"] == [round(size[0] * scale), round(size[1] * scale)]
    # Crisp thumbnails: decoded at the device's pixels, drawn at their logical size.
    w, h, ratio = got["thumb"]
    assert ratio == pytest.approx(scale)
    assert max(w, h) == round(112 * scale)


@pytest.mark.model
def test_thumbnails_follow_the_screen_ratio(qtbot, make_window, library_dir):
    """A window moved to a screen of another scale gets thumbnails decoded for it."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    win = make_window(library_dir)
    face = win.people.model.items[0].cover_face_id
    win.thumbs.set_device_pixel_ratio(2.0)
    assert win.thumbs.pixmap(face) is None  # dropped with the old ratio; loading again
    qtbot.waitUntil(lambda: win.thumbs.pixmap(face) is not None, timeout=10000)
    pm = win.thumbs.pixmap(face)
    assert pm.devicePixelRatio() == 2.0 and max(pm.width(), pm.height()) == 224
    QApplication.sendEvent(win, QEvent(QEvent.DevicePixelRatioChange))  # what Qt sends on a move
    assert win.thumbs.pixmap(face) is None or win.thumbs.pixmap(face).devicePixelRatio() == win.devicePixelRatioF()
    qtbot.waitUntil(lambda: win.thumbs.pixmap(face) is not None, timeout=10000)
    assert win.thumbs.pixmap(face).devicePixelRatio() == win.devicePixelRatioF()
    wait_idle(qtbot, win)
