"""Does memory stay flat while a scan goes on? RSS after 1,000 and after 5,000 photos of lfw.

The first `--count` files of the lfw set in sorted order are symlinked into a temporary folder
(the images are never copied into the repo) and scanned into a fresh library in this process,
with the real models. The scan's progress callback samples VmRSS from /proc/self/status.
Target: RSS(count) - RSS(at) < `--limit-mb` (defaults: 5,000, 1,000, 100 MB).

    .venv/bin/python benchmarks/memory.py [--count 5000] [--at 1000] [--limit-mb 100]

Prints one JSON line per sample (every `--every` files) and a summary line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import datasets_root, emit, peak_rss_mb  # noqa: E402

EXTS = {".jpg", ".jpeg", ".png"}


def rss_mb() -> float:
    """Resident set size of this process now, in MB (VmRSS of /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def first_files(folder: Path, count: int) -> list[Path]:
    """The first `count` photos under `folder` in sorted path order."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTS and p.is_file())
    if len(files) < count:
        sys.exit(f"only {len(files)} photos under {folder}, {count} asked for")
    return files[:count]


def link_tree(files: list[Path], src_root: Path, dest: Path) -> None:
    """Symlinks each file at the same relative path under `dest`."""
    for f in files:
        target = dest / f.relative_to(src_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="lfw")
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--at", type=int, default=1000, help="the first RSS reading, after this many files")
    ap.add_argument("--every", type=int, default=500, help="a sample every N files")
    ap.add_argument("--limit-mb", type=float, default=100.0)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()

    src = datasets_root() / args.set
    if not src.is_dir():
        sys.exit(f"dataset {args.set!r} not found under {datasets_root()} (set PHOTOFACE_DATASETS)")
    from photoface.core.learning.versions import face_models
    from photoface.core.library.ingest import scan
    from photoface.core.library.store import Library

    rss_start = rss_mb()
    with tempfile.TemporaryDirectory(prefix="photoface-memory-") as tmp:
        photos = Path(tmp) / "photos"
        link_tree(first_files(src, args.count), src, photos)
        lib = Library(Path(tmp) / "library")
        models = face_models(lib)
        models.load()
        rss_loaded = rss_mb()
        emit({"event": "models_loaded", "rss_mb": round(rss_loaded, 1), "rss_start_mb": round(rss_start, 1)})
        samples: dict[int, float] = {}
        next_mark = [args.every]
        t0 = time.perf_counter()

        def progress(p) -> None:
            # Called at most ~10 times a second: the first call at or past a mark takes the sample.
            marks = sorted({m for m in (args.at, next_mark[0], p.files_total) if p.files_done >= m and m not in samples})
            if not marks:
                return
            now = rss_mb()
            for m in marks:
                samples[m] = now
                emit({"event": "sample", "files_mark": m, "files_done": p.files_done, "faces": p.faces,
                      "rss_mb": round(now, 1), "seconds": round(time.perf_counter() - t0, 1)})
            while next_mark[0] <= p.files_done:
                next_mark[0] += args.every

        report = scan(lib, [str(photos)], models=models, progress=progress, workers=args.workers)
        counts = lib.counts()
        lib.close()
    first, last = samples.get(args.at), samples.get(args.count)
    growth = None if first is None or last is None else last - first
    ok = growth is not None and growth < args.limit_mb
    emit({"event": "summary", "files": args.count, "photos": counts["photos"], "faces": counts["faces"],
          "errors": report.errors, "scan_seconds": round(report.seconds, 1),
          f"rss_after_{args.at}_mb": None if first is None else round(first, 1),
          f"rss_after_{args.count}_mb": None if last is None else round(last, 1),
          "growth_mb": None if growth is None else round(growth, 1), "limit_mb": args.limit_mb,
          "peak_rss_mb": round(peak_rss_mb(), 1), "ok": ok})
    print(f"RSS after {args.at}: {first:.1f} MB, after {args.count}: {last:.1f} MB, growth "
          f"{growth:.1f} MB (target < {args.limit_mb:.0f} MB): {'PASS' if ok else 'FAIL'}"
          if growth is not None else "RSS samples missing")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
