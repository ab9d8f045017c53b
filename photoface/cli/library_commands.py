"""Commands over the library's folders and files: scan, status, errors, folders, verify, self-test.
"""

from __future__ import annotations

import json
import os
import sys

from photoface.cli.common import INTERRUPTED, interruptible, open_library, progress_printer, recluster
from photoface.core.text import plural


def cmd_scan(args) -> int:
    from photoface.core.library.ingest import scan

    for folder in args.folders:
        if not os.path.isdir(folder):
            print(f"photoface: {folder}: not a folder", file=sys.stderr)
            return 2
    with open_library(args) as lib:
        report = interruptible(lambda cancel: scan(lib, args.folders or None, progress=progress_printer(),
                                                   cancel=cancel, workers=args.workers),
                               "scan interrupted; everything finished so far is kept")
        if report is None:
            return INTERRUPTED
        print(f"scanned {plural(report.roots, 'folder')} in {report.seconds:.1f}s: "
              f"{plural(report.new_photos, 'new photo')}, {plural(report.faces_added, 'face')}, "
              f"{report.unchanged} unchanged, {report.known_content} moved/copied, "
              f"{report.gone} gone, {report.errors} errors, {report.unsupported} unsupported")
        if report.faces_kept_decisions:
            print(f"{report.faces_kept_decisions} faces of edited photos kept their names")
        for root in report.offline_roots:
            print(f"offline (kept as it was): {root}")
        if report.errors:
            print("see `photoface errors` for the files that could not be read")
        if not args.no_cluster:
            recluster(lib, full=False)
    return 0


def cmd_status(args) -> int:
    from photoface.core.config import model_version
    from photoface.core.faces.embed import compute_device

    with open_library(args) as lib:
        counts = lib.counts()
        settings = lib.settings()
        info = {
            "library": str(lib.root),
            **counts,
            "roots": [r for _, r in lib.roots()],
            "model": model_version(settings["active_weights"], settings["align_mode"],
                                   settings["input_scaling"], settings["embed_precision"]),
            "arithmetic": settings["embed_precision"],
            "detector": settings["detector_backend"],
            "device": compute_device(),
        }
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:>15}: {value}")
    return 0


def cmd_errors(args) -> int:
    with open_library(args) as lib:
        rows = lib.errors()
    if args.json:
        print(json.dumps([{"path": p, "reason": r} for p, r in rows]))
    else:
        for path, reason in rows:
            print(f"{path}: {reason}")
        print(f"{len(rows)} file(s) could not be read", file=sys.stderr)
    return 0


def cmd_folders(args) -> int:
    with open_library(args) as lib:
        if args.add:
            for f in args.add:
                lib.add_root(f)
        if args.remove:
            for f in args.remove:
                if not lib.remove_root(f):
                    print(f"photoface: {f} is not one of the library's folders", file=sys.stderr)
        if args.exclude:
            for pattern in args.exclude:
                lib.add_exclude(pattern)
        if args.include:
            for pattern in args.include:
                lib.remove_exclude(pattern)
        for _, root in lib.roots():
            state = "" if os.path.isdir(root) else "  (offline)"
            print(f"{root}{state}")
        for pattern in lib.excludes():
            print(f"excluded: {pattern}")
    return 0


def cmd_verify(args) -> int:
    from photoface.core.faces.verify import verify_photos
    from photoface.core.learning.versions import face_models, verify_threshold

    with open_library(args) as lib:
        models = face_models(lib)
        result = verify_photos(models, args.a, args.b, verify_threshold(lib, models.model_version))
    if args.json:
        print(json.dumps(result))
    else:
        verdict = "same person" if result["same"] else "different people"
        print(f"distance {result['distance']:.3f} (threshold {result['threshold']:.3f}, "
              f"model {result['model']}): {verdict}")
    return 0


def cmd_self_test(args) -> int:
    from photoface.core.faces.selftest import run_self_test

    result = run_self_test()
    if args.json:
        print(json.dumps(result))
    else:
        failed = [name for name, ok in result["checks"].items() if not ok]
        verdict = "ok" if result["ok"] else "FAILED: " + ", ".join(failed)
        print(f"photoface self-test {verdict}: {result['faces']} face(s) in {os.path.basename(result['photo'])}, "
              f"detector {result['detector']}, model {result['model']}, device {result['device']}, "
              f"{result['seconds']:.1f}s")
    return 0 if result["ok"] else 1
