"""A person's photos as photos (issue 17, part 7): the Photos tab is a month timeline of photo
thumbnails, "Photos together" has all / any / only them, and unsorted faces carry a hint."""

from __future__ import annotations

import collections
import os
import time

import pytest
from PySide6.QtWidgets import QListView

from photoface.core.albums.review import Review
from photoface.core.library.people import list_people, person_faces, person_photos, shared_photos
from photoface.core.library.store import Library
from photoface.gui import prompts
from photoface.gui.views.photo_list import PhotoRow
from photoface.gui.views.photo_timeline import UNKNOWN, month_title, timeline_rows

from .conftest import screenshot, wait_idle

pytestmark = pytest.mark.model


def _name_albums(lib_dir) -> None:
    """Names each album after the identity (dataset folder) most of its faces have."""
    with Library(lib_dir) as lib:
        review = Review(lib)
        taken = set()
        for p in list_people(lib):
            ids = collections.Counter(os.path.basename(os.path.dirname(f.path)) for f in person_faces(lib, p.id))
            name = ids.most_common(1)[0][0].replace("_", " ").title()
            if name in taken:
                name += f" {p.id}"
            taken.add(name)
            review.rename(p.id, name)


def test_month_titles_and_order():
    rows = [PhotoRow(1, None, "a", None), PhotoRow(2, "2019-03-05T10:00:00", "b", None),
            PhotoRow(3, "2018-12-31T23:59:59-05:00", "c", None), PhotoRow(4, "2019-03-01T08:00:00", "d", None),
            PhotoRow(5, "garbage", "e", None)]
    out = timeline_rows(rows)
    assert [getattr(r, "title", None) or r.photo_id for r in out] == \
        ["December 2018", 3, "March 2019", 4, 2, UNKNOWN, 1, 5]
    assert [r.count for r in out if hasattr(r, "title")] == [1, 2, 2]
    assert month_title(None) == UNKNOWN and month_title("2019-13-01") == UNKNOWN


def test_person_photos_tab_is_a_month_timeline(qtbot, make_window, library_dir):
    _name_albums(library_dir)
    win = make_window(library_dir)
    # The person with the most photos that carry an EXIF date (five_celebrity_faces has a few).
    people = list(win.people.model.items)
    dated = {p.id: sum(t is not None for _, t, _ in person_photos(win.library, p.id)) for p in people}
    person = max(people, key=lambda p: dated[p.id])
    assert dated[person.id] >= 3
    win.open_person(person.id)
    win.person.tabs.setCurrentWidget(win.person.photos)
    wait_idle(qtbot, win)
    timeline = win.person.photos
    photos = person_photos(win.library, person.id)
    expected = list(dict.fromkeys(month_title(t) for _, t, _ in sorted(
        photos, key=lambda r: (r[1] is None, r[1] or ""))))
    assert timeline.headers() == expected and expected[-1] == UNKNOWN
    assert len(timeline.headers()) >= 3
    assert [p for p, _ in timeline.sequence()] == [p for p, _, _ in
                                                   sorted(photos, key=lambda r: (r[1] is None, r[1] or "", r[0]))]
    # Headers start a line of their own: the first photo after each header is at the left edge.
    model = timeline.model_
    for row, r in enumerate(model.rows):
        if hasattr(r, "title") and row + 1 < len(model.rows):
            assert timeline.visualRect(model.index(row + 1)).left() <= timeline.spacing() + 1
            assert timeline.visualRect(model.index(row)).width() >= timeline.viewport().width() - 20
    assert win.photo_thumbs.pending() == 0
    assert win.photo_thumbs.pixmap(photos[0][0]) is not None, "photo thumbnails were decoded"
    screenshot(win, "person-timeline")


def test_timeline_of_thousands_lays_out_fast(qtbot, make_window, library_dir):
    win = make_window(library_dir)
    base = [r for p in list(win.people.model.items) for r in person_photos(win.library, p.id)]
    # 5,000 photos over 10 years (the library's own photos, repeated with spread-out dates).
    rows = [PhotoRow(base[i % len(base)][0], f"{2010 + (i // 12) % 10}-{1 + i % 12:02d}-01T12:00:00" if i % 7 else None,
                     base[i % len(base)][2], None) for i in range(5000)]
    win.open_person(win.people.model.items[0].id)
    win.person.tabs.setCurrentWidget(win.person.photos)
    wait_idle(qtbot, win)
    timeline = win.person.photos
    timeline.setLayoutMode(QListView.SinglePass)  # the whole layout at once, to time it
    t0 = time.perf_counter()
    timeline.set_rows(rows)
    timeline.doItemsLayout()
    timeline.viewport().repaint()
    elapsed = time.perf_counter() - t0
    print(f"timeline of {len(rows)} photos + {len(timeline.headers())} months: set, laid out and painted "
          f"in {elapsed * 1000:.0f} ms")
    assert len(timeline.headers()) == 121
    assert elapsed < 1.0
    timeline.setLayoutMode(QListView.Batched)


def test_photos_together_only_them(qtbot, make_window, clustered_copy):
    lib_dir = clustered_copy("sports_celebrities")
    _name_albums(lib_dir)
    win = make_window(lib_dir)
    lib = win.library
    people = [p.id for p in list_people(lib)]
    photos = {p: {f.photo_id for f in person_faces(lib, p)} for p in people}
    # The biggest album with photos of others in it too.
    crowded = max((p for p in people if len(shared_photos(lib, [p], "only")) < len(photos[p])),
                  key=lambda p: len(photos[p]))
    dlg = win.show_shared_photos([crowded])
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    assert {p for p, _ in dlg.timeline.sequence()} == photos[crowded]
    dlg.set_mode("only")
    assert dlg.only_button.isChecked()
    qtbot.waitUntil(lambda: not dlg.loading, timeout=10000)
    only = {p for p, _ in dlg.timeline.sequence()}
    assert only == {p for p, _, _ in shared_photos(lib, [crowded], "only")}
    assert only < photos[crowded]
    assert "no one else recognised" in dlg.title.text()
    qtbot.waitUntil(lambda: win.photo_thumbs.pending() == 0, timeout=20000)
    screenshot(dlg, "photos-together-only")

    # Two persons: all / any / only from the radio buttons.
    a, b = max(((a, b) for a in people for b in people if a < b),
               key=lambda ab: len(photos[ab[0]] & photos[ab[1]]))
    dlg2 = win.show_shared_photos([a, b])
    qtbot.waitUntil(lambda: not dlg2.loading, timeout=10000)
    assert {p for p, _ in dlg2.timeline.sequence()} == photos[a] & photos[b]
    dlg2.any_button.click()
    qtbot.waitUntil(lambda: not dlg2.loading, timeout=10000)
    assert dlg2.mode == "any" and {p for p, _ in dlg2.timeline.sequence()} == photos[a] | photos[b]
    dlg2.only_button.click()
    qtbot.waitUntil(lambda: not dlg2.loading, timeout=10000)
    assert {p for p, _ in dlg2.timeline.sequence()} == {p for p, _, _ in shared_photos(lib, [a, b], "only")}
    # Opening a photo steps through this list in the viewer.
    seq = dlg.timeline.sequence()
    dlg.timeline.open_photo.emit(*seq[0])
    qtbot.waitUntil(lambda: win.photo_dialog is not None and not win.photo_dialog.loading, timeout=10000)
    assert win.photo_dialog.sequence == seq


def test_unsorted_faces_show_their_best_match(qtbot, make_window, library_dir, monkeypatch):
    _name_albums(library_dir)
    with Library(library_dir) as lib:  # one person's faces back to Unsorted, five of them named again
        review = Review(lib)
        gone = list_people(lib)[0]
        faces = person_faces(lib, gone.id)
        review.forget_person(gone.id)
        review.split([f.id for f in faces[:5]], gone.name)
        rest = {f.id for f in faces[5:]}
    win = make_window(library_dir)
    win.show_view("Unsorted faces")
    wait_idle(qtbot, win)
    panel = win.unsorted_panel
    qtbot.waitUntil(lambda: bool(panel.hints.hints), timeout=10000)
    wait_idle(qtbot, win)
    shown = {f.id for f in panel.model.items}
    assert rest <= shown
    hinted = {fid for fid, name in panel.hints.hints.items() if name == gone.name}
    assert len(hinted & rest) >= 0.8 * len(rest)
    assert set(panel.hints.hints) <= shown
    screenshot(win, "unsorted-hints")
    # A hint is one step from an answer: Move to… starts with its name, and "Yes, this is NAME"
    # moves the face there.
    first, second = sorted(hinted & rest)[:2]
    row = panel.model.row_of(first)
    panel.grid.setCurrentIndex(panel.grid.model().index(row, 0))
    asked = []
    monkeypatch.setattr(prompts, "ask_text", lambda *a, **k: asked.append(a[4] if len(a) > 4 else k.get("text")))
    panel.move_selected()
    assert asked == [gone.name]
    panel.accept_hint(second)
    wait_idle(qtbot, win)
    named = next(p for p in list_people(win.library) if p.name == gone.name)
    assert second in {f.id for f in person_faces(win.library, named.id)}
