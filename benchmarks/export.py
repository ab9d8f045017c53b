"""Exporting person albums: photos/s in copy and hard-link modes, with XMP, and a no-op re-export.

For each set, a copy of its scanned library (cached under benchmarks/out/libraries by
benchmarks.cluster) gets albums from `update_albums(full=True)`, every album is named, and
all of them are exported into fresh temporary folders.

    python -m benchmarks.export [--set NAME ...]

Each copy is fsynced before its rename (crash safety), which dominates copy times on most disks.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.cluster import scanned_library
from benchmarks.common import add_set_argument, chosen_sets, emit, peak_rss_mb
from photoface.core.albums import update as cluster
from photoface.core.library import people
from photoface.core.interop.export import export_albums
from photoface.core.albums.review import NameTaken, Review
from photoface.core.library.store import Library


def _name_every_album(lib: Library) -> int:
    cluster.update_albums(lib, full=True)
    review = Review(lib)
    named = 0
    for p in people.list_people(lib):
        if p.name is None:
            try:
                review.rename(p.id, f"Person {p.id}")
                named += 1
            except NameTaken:
                pass
    return named


def run_set(name: str, folder: Path) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="photoface-export-bench-") as tmp:
        lib_dir = Path(tmp) / "lib"
        shutil.copytree(scanned_library(name, folder), lib_dir)
        with Library(lib_dir) as lib:
            albums = _name_every_album(lib)
            runs = [("copy", "copy", False, "a"), ("copy+xmp", "copy", True, "b"),
                    ("hardlink", "hardlink", False, "c"), ("re-export (copy)", "copy", False, "a")]
            for label, mode, xmp, dest in runs:
                t0 = time.perf_counter()
                report = export_albums(lib, Path(tmp) / dest, mode=mode, xmp=xmp)
                seconds = time.perf_counter() - t0
                row = {"set": name, "run": label, "albums": albums, "photos": report.photos,
                       "written": report.copied + report.hardlinked, "unchanged": report.unchanged,
                       "fallback_copies": report.fallback_copies, "sidecars": report.sidecars_written,
                       "seconds": round(seconds, 3), "photos_per_s": round(report.photos / max(seconds, 1e-9), 1),
                       "peak_rss_mb": round(peak_rss_mb(), 1)}
                emit(row)
                rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_set_argument(parser)
    args = parser.parse_args()
    rows = [r for name, folder in chosen_sets(args) for r in run_set(name, folder)]
    print(f"\n{'set':22} {'run':18} {'albums':>6} {'photos':>7} {'written':>7} {'seconds':>8} {'photos/s':>9}")
    for r in rows:
        print(f"{r['set']:22} {r['run']:18} {r['albums']:6d} {r['photos']:7d} {r['written']:7d} "
              f"{r['seconds']:8.2f} {r['photos_per_s']:9.1f}")


if __name__ == "__main__":
    main()
