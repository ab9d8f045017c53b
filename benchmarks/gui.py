"""The People view at scale: 10k persons / 100k faces. Prints one JSON line per result.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.gui [--persons 10000] [--faces 100000] [--scale 2]

Real thumbnails come from lfw_subset scanned into a library (cached under benchmarks/out/);
the persons, faces and embeddings are synthetic rows inserted in one transaction. Targets: the
People view shows (model filled and painted) in < 1 s, no frame > 50 ms while scrolling to the end
(a frame: one scroll step with its paint; the event-loop passes between steps, where arriving
thumbnails repaint, are reported as "between"). `uptime`'s load average is printed with the times:
the machine may be shared. `--scale` sets QT_SCALE_FACTOR (a HiDPI screen: 4× the pixels at 2.0,
thumbnails decoded at the device's pixels).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import OUT_DIR, datasets_root, emit, peak_rss_mb


def _source_library() -> Path:
    """lfw_subset scanned once (cached): the thumbnails and photos the synthetic faces reuse."""
    from photoface.core.library.ingest import scan
    from photoface.core.library.store import Library

    lib_dir = OUT_DIR / "gui-lfw_subset"
    if not (lib_dir / "library.sqlite").is_file():
        folder = datasets_root() / "lfw_subset"
        if not folder.is_dir():
            sys.exit(f"dataset lfw_subset not found under {datasets_root()} (set PHOTOFACE_DATASETS)")
        with Library(lib_dir) as lib:
            scan(lib, [str(folder)])
    return lib_dir


def _fill(lib_dir: Path, persons: int, faces: int) -> dict:
    import numpy as np

    from photoface.core.config import DEFAULTS, model_version
    from photoface.core.library.store import Library

    model = model_version("shipped", DEFAULTS["align_mode"], DEFAULTS["input_scaling"])
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    with Library(lib_dir) as lib:
        src = lib.con.execute("SELECT photo_id, x, y, w, h, thumb, crop FROM faces").fetchall()
        with lib.transaction() as con:
            con.execute("DELETE FROM faces")
            con.executemany("INSERT INTO persons(id, name, created_at) VALUES (?, ?, ?)",
                            ((i + 1, f"Person {i + 1:05d}" if i % 10 == 0 else None, 0.0) for i in range(persons)))
            rows = []
            for i in range(faces):
                s = src[i % len(src)]
                person = i % persons + 1
                rows.append((i + 1, s[0], s[1], s[2], s[3], s[4], 0.99, s[5], s[6], person,
                             "confirmed" if i % 7 == 0 else "suggested", 0.0))
            con.executemany("INSERT INTO faces(id, photo_id, x, y, w, h, score, thumb, crop, person_id, state, "
                            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            for start in range(0, faces, 10000):
                n = min(10000, faces - start)
                vec = rng.standard_normal((n, 512)).astype(np.float32)
                vec /= np.linalg.norm(vec, axis=1, keepdims=True)
                con.executemany("INSERT INTO embeddings(face_id, model, vec) VALUES (?, ?, ?)",
                                ((start + j + 1, model, vec[j].tobytes()) for j in range(n)))
        lib.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"fill_s": round(time.perf_counter() - t0, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the filled library (for profiling)")
    parser.add_argument("--scale", type=float, default=None, help="QT_SCALE_FACTOR, e.g. 2 (default: Qt's)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.scale is not None:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)  # read when the QApplication starts

    work = Path(tempfile.mkdtemp(prefix="photoface-gui-bench-"))
    try:
        lib_dir = work / "lib"
        shutil.copytree(_source_library(), lib_dir)
        fill = _fill(lib_dir, args.persons, args.faces)
        if args.keep:
            print(f"library kept at {lib_dir}", file=sys.stderr)
        emit({"bench": "gui", "what": "fill", "persons": args.persons, "faces": args.faces, **fill})
        _measure(lib_dir, work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _measure(lib_dir: Path, work: Path, args) -> None:
    from PySide6.QtWidgets import QApplication

    from photoface.core.library.people import list_people
    from photoface.core.library.store import Library
    from photoface.gui.main_window import MainWindow
    from photoface.gui.settings import ui_settings

    app = QApplication.instance() or QApplication([])
    with Library(lib_dir) as lib:
        runs = []
        for _ in range(2):
            t = time.perf_counter()
            people = list_people(lib)
            runs.append(round(time.perf_counter() - t, 3))
    emit({"bench": "gui", "what": "list_people", "persons": args.persons, "faces": args.faces,
          "seconds": runs[0], "second_run_s": runs[1], "rows": len(people)})

    # Shown = window built, list_people run (on its worker thread), the model filled and the
    # grid painted with its first screen of tiles (placeholders where thumbnails still load).
    load = os.getloadavg()
    t0 = time.perf_counter()
    win = MainWindow(Library(lib_dir), ui_settings(str(work / "ui.ini")), probe_device=False)
    win.resize(1280, 860)
    win.show()
    grid = win.people.grid
    while win.people.loading or win.people.model.rowCount() < len(people):
        app.processEvents()
        time.sleep(0.001)
    grid.viewport().repaint()
    app.processEvents()
    shown = time.perf_counter() - t0
    # What was timed must be the People grid with tiles on screen, not an empty or hidden view.
    first = grid.visualRect(grid.model().index(0, 0))
    if win.stack.currentWidget() is not win.people or not grid.isVisible() \
            or not first.isValid() or not first.intersects(grid.viewport().rect()):
        sys.exit("benchmark error: the People grid was not on screen when its paint was timed")
    while win.thumbs.pending():
        app.processEvents()
        time.sleep(0.001)
    with_thumbs = time.perf_counter() - t0
    emit({"bench": "gui", "what": "people_view_show", "persons": args.persons, "faces": args.faces,
          "scale": win.devicePixelRatioF(), "show_s": round(shown, 3), "show_with_thumbnails_s": round(with_thumbs, 3), "target_s": 1.0,
          "loadavg_1m": round(load[0], 2)})

    # Scroll to the end a step at a time. A frame = the scroll, its paint and the events it causes.
    # Between steps the event loop runs again (thumbnails arriving repaint the grid and the
    # sidebar): those passes hold the GUI thread as well, so they are timed too ("between").
    # CPU times are the GUI thread's own (time.thread_time): what is left of a frame once other
    # processes' load is taken out.
    bar = grid.verticalScrollBar()
    step = max(1, bar.pageStep() // 2)
    frames, between = [], []  # (wall s, GUI thread CPU s)
    value = 0
    load = os.getloadavg()
    while value < bar.maximum():
        value = min(bar.maximum(), value + step)
        t, c = time.perf_counter(), time.thread_time()
        bar.setValue(value)
        grid.viewport().repaint()
        app.processEvents()
        frames.append((time.perf_counter() - t, time.thread_time() - c))
        time.sleep(0.016)  # a wheel/scroll-bar drag delivers ~60 steps a second
        t, c = time.perf_counter(), time.thread_time()
        app.processEvents()
        between.append((time.perf_counter() - t, time.thread_time() - c))

    def ms(values, q):
        values = sorted(values)
        return round(1000 * values[min(len(values) - 1, int(len(values) * q))], 1)

    wall, cpu = [f[0] for f in frames], [f[1] for f in frames]
    emit({"bench": "gui", "what": "people_view_scroll", "persons": args.persons, "scale": win.devicePixelRatioF(),
          "frames": len(frames),
          "worst_frame_ms": ms(wall, 1), "p95_frame_ms": ms(wall, 0.95), "median_frame_ms": ms(wall, 0.5),
          "worst_between_ms": ms([b[0] for b in between], 1),
          "median_frame_cpu_ms": ms(cpu, 0.5), "worst_frame_cpu_ms": ms(cpu, 1),
          "worst_between_cpu_ms": ms([b[1] for b in between], 1), "target_ms": 50,
          "loadavg_1m": round(load[0], 2), "peak_rss_mb": round(peak_rss_mb(), 1)})
    win.close()


if __name__ == "__main__":
    main()
