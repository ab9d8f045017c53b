"""Scanning from the window: a dropped folder is scanned in a child process, persons appear,
the UI thread stays responsive, a second drop is queued, bad files are listed, Cancel stops."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from PySide6.QtCore import QElapsedTimer, QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from photoface.core.library.people import list_people

from ..conftest import dataset_path
from .conftest import screenshot, wait_idle

pytestmark = pytest.mark.model

IDENTITIES = ("bill_clinton", "hans_blix", "kofi_annan")


def _drop(win, folders) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in folders])
    enter = QDragEnterEvent(QPoint(200, 200), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(200, 200), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(win, event)
    if not event.isAccepted():  # some Qt versions deliver a drop only during a real drag
        win.dropEvent(event)


class _Lateness:
    """A 20 ms QTimer on the UI thread.

    Attributes:
        worst_ms -- how late its worst tick came (wall clock).
        worst_busy_ms -- the most CPU time the UI thread spent between two ticks: the part of the
            lateness that is the window's own work, whatever else the machine is running.
    """

    def __init__(self):
        self.cpu = time.thread_time()
        self.worst_busy_ms = 0.0
        self.clock = QElapsedTimer()
        self.clock.start()
        self.last = 0
        self.worst_ms = 0
        self.events: list[tuple[int, int]] = []  # (ms since start, lateness ms) of late ticks
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.elapsed()
        late = now - self.last - 20
        cpu = time.thread_time()
        busy_ms = (cpu - self.cpu) * 1000
        self.cpu = cpu
        self.worst_busy_ms = max(self.worst_busy_ms, busy_ms)
        if late > 50:
            self.events.append((now, late, round(busy_ms)))
        self.worst_ms = max(self.worst_ms, late)
        self.last = now


def test_drop_scans_in_background_and_ui_stays_responsive(qtbot, make_window, datasets_dir, tmp_path):
    src = dataset_path(datasets_dir, "lfw_subset")
    photos = tmp_path / "photos"
    for name in IDENTITIES:
        shutil.copytree(src / name, photos / name)
    (photos / "bill_clinton" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    # More bad input from the window's side: a truncated photo, an empty file, a text file named
    # like a photo, and a name that is not UTF-8. Each must be listed with its reason.
    first = sorted((photos / "hans_blix").iterdir())[0]
    (photos / "hans_blix" / "truncated.jpg").write_bytes(first.read_bytes()[:700])
    (photos / "hans_blix" / "empty.jpg").write_bytes(b"")
    (photos / "kofi_annan" / "notes.jpg").write_text("not a photo")
    bad_name = os.fsencode(photos / "kofi_annan") + b"/caf\xe9-broken.jpg"
    with open(bad_name, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 not really a jpeg")
    extra = tmp_path / "more"
    extra.mkdir()
    for p in sorted((src / "jennifer_aniston").iterdir())[:3]:
        shutil.copy(p, extra / p.name)

    win = make_window(tmp_path / "lib")
    assert win.current_view == "Welcome"
    screenshot(win, "welcome-drop-zone")

    lateness = _Lateness()
    _drop(win, [photos])
    assert win.scanning
    _drop(win, [extra])  # while the first scan runs: queued
    assert win.scan_queue == [[str(extra)]]
    shot = False
    deadline = time.monotonic() + 150
    while (win.scanning or win.scan_queue) and time.monotonic() < deadline:
        qtbot.wait(50)
        if not shot and win.progress.maximum() > 1 and win.progress.value() > 10:
            worst_before = lateness.worst_ms  # the grab itself is slow: keep it out of the measure
            screenshot(win, "scanning-progress")
            lateness.worst_ms, lateness.last, shot = worst_before, lateness.clock.elapsed(), True
            lateness.cpu = time.thread_time()
    lateness.timer.stop()
    assert not win.scanning and not win.scan_queue, "the scans did not finish in time"
    print(f"UI thread during the scan: worst timer lateness {lateness.worst_ms} ms, worst busy "
          f"{lateness.worst_busy_ms:.0f} ms; late ticks (ms, late ms, busy ms) {lateness.events}; "
          f"load average {os.getloadavg()}")
    assert lateness.worst_busy_ms < 100  # the window's own work never blocks it
    if os.getloadavg()[0] <= (os.cpu_count() or 1):
        # On a machine that is not oversubscribed, the wall-clock lateness is the user's view.
        assert lateness.worst_ms < 100

    wait_idle(qtbot, win)
    assert win.last_scan["scan"]["roots"] == 1  # the last one: the queued folder
    people = list_people(win.library)
    assert len(people) >= 3
    assert [p.id for p in win.people.model.items] == [p.id for p in people]
    assert win.current_view == "People"
    assert {r for _, r in win.library.roots()} == {str(photos), str(extra)}
    assert win.errors_button.isVisible()
    errors = win.show_errors()
    listed = {errors.table.item(r, 0).text(): errors.table.item(r, 1).text() for r in range(errors.table.rowCount())}
    for name in ("broken.jpg", "truncated.jpg", "empty.jpg", "notes.jpg", "-broken.jpg"):
        hits = [path for path in listed if path.endswith(name) and (name != "broken.jpg" or "caf" not in path)]
        assert len(hits) == 1, f"{name} is not listed once in the errors dialog: {sorted(listed)}"
        assert listed[hits[0]].strip(), f"{hits[0]} is listed without a reason"
    screenshot(errors, "errors-dialog")
    errors.close()
    screenshot(win, "people-after-drop")


def test_cancel_stops_within_a_second(qtbot, make_window, datasets_dir, tmp_path):
    src = dataset_path(datasets_dir, "lfw_subset")
    win = make_window(tmp_path / "lib")
    win.scan_folders([str(src)])
    qtbot.wait(300)
    assert win.scanning
    started = time.monotonic()
    win.cancel_scan()
    qtbot.waitUntil(lambda: not win.scanning, timeout=3000)
    assert time.monotonic() - started < 1.0
    assert "cancelled" in win.state_label.text()
    assert not win.cancel_button.isVisible()
