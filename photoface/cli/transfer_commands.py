"""Commands that take albums out of the library (export) or names into it (XMP import).
"""

from __future__ import annotations

import os
import sys

from photoface.cli.common import INTERRUPTED, count_progress, interruptible, open_library, resolve_person


def cmd_export(args) -> int:
    from photoface.core.interop.export import export_albums

    with open_library(args) as lib:
        ids = [resolve_person(lib, p) for p in args.persons] if args.persons else None
        report = interruptible(lambda cancel: export_albums(
            lib, args.dest, ids, mode=args.mode, xmp=args.xmp, include_suggested=args.include_suggested,
            progress=count_progress("exporting"), cancel=cancel), "export interrupted; run it again to finish")
        if report is None:
            return INTERRUPTED
    print(report.summary())
    for note in report.notes:
        print(note)
    for src, why in report.unreadable:
        print(f"photoface: cannot read {src}: {why}", file=sys.stderr)
    return 0


def cmd_import_xmp(args) -> int:
    from photoface.core.interop.xmp import import_xmp

    if not os.path.isdir(args.dir):
        print(f"photoface: {args.dir}: not a folder", file=sys.stderr)
        return 2
    with open_library(args) as lib:
        report = import_xmp(lib, args.dir, progress=count_progress("reading XMP"))
    r = report.result
    if report.photos == 0:
        print(f"photoface: no photos of the library are under {args.dir}; scan it first "
              f"(photoface scan {args.dir})", file=sys.stderr)
    print(f"imported {r.named} names from XMP ({len(r.persons_created)} new persons, {r.already} already "
          f"named, {len(r.conflicts)} conflicts): {report.regions} named face regions in "
          f"{report.files_with_regions} files of {report.photos} photos, {report.matched} on a detected face")
    for c in r.conflicts:
        print(f"conflict: face {c.face_id} ({c.path}): XMP says {c.xmp_name!r}, kept as it is: {c.reason}")
    for path, name in report.unmatched:
        print(f"no detected face for {name!r} in {path}", file=sys.stderr)
    for path, why in report.errors:
        print(f"photoface: {path}: {why}", file=sys.stderr)
    if r.decision_id is not None:
        print("`photoface undo` takes the imported names back; `photoface cluster --full` places the "
              "undecided faces around the imported names")
    return 0
