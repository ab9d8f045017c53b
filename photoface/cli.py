"""The `photoface` command: with no argument (or a folder) the window, with a subcommand headless.

Only this module and `photoface.gui` decide how errors are shown; the work is all in the core.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time

from photoface import __version__

log = logging.getLogger("photoface")


def _library(args):
    from photoface.core.store import Library

    return Library(args.library)


def _progress_printer():
    """A one-line progress bar on a terminal; a line every few seconds otherwise (logs, CI)."""
    tty = sys.stderr.isatty()
    last = [0.0]

    def show(p) -> None:
        now = time.monotonic()
        if not tty and now - last[0] < 5 and p.files_done != p.files_total:
            return
        last[0] = now
        width = 30
        filled = int(width * p.files_done / max(p.files_total, 1))
        eta = f"{p.eta_s:5.0f}s" if p.eta_s is not None else "  ?  "
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {p.files_done}/{p.files_total} files, "
                f"{p.faces} faces, {p.rate:.1f}/s, ETA {eta}")
        if tty:
            sys.stderr.write("\r" + line)
            if p.files_done == p.files_total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return show


def cmd_scan(args) -> int:
    from photoface.core.errors import Cancelled
    from photoface.core.pipeline import scan

    for folder in args.folders:
        if not os.path.isdir(folder):
            print(f"photoface: {folder}: not a folder", file=sys.stderr)
            return 2
    cancel = threading.Event()
    with _library(args) as lib:
        try:
            report = scan(lib, args.folders or None, progress=_progress_printer(), cancel=cancel,
                          workers=args.workers)
        except KeyboardInterrupt:
            cancel.set()
            print("\nscan interrupted; everything finished so far is kept", file=sys.stderr)
            return 130
        except Cancelled:
            return 130
        print(f"scanned {report.roots} folder(s) in {report.seconds:.1f}s: "
              f"{report.new_photos} new photos, {report.faces_added} faces, "
              f"{report.unchanged} unchanged, {report.known_content} moved/copied, "
              f"{report.gone} gone, {report.errors} errors, {report.unsupported} unsupported")
        if report.faces_kept_decisions:
            print(f"{report.faces_kept_decisions} faces of edited photos kept their names")
        for root in report.offline_roots:
            print(f"offline (kept as it was): {root}")
        if report.errors:
            print("see `photoface errors` for the files that could not be read")
    return 0


def cmd_status(args) -> int:
    from photoface.core.config import model_version
    from photoface.core.embed import compute_device

    with _library(args) as lib:
        counts = lib.counts()
        settings = lib.settings()
        info = {
            "library": str(lib.root),
            **counts,
            "roots": [r for _, r in lib.roots()],
            "model": model_version(settings["active_weights"], settings["align_mode"],
                                   settings["input_scaling"]),
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
    with _library(args) as lib:
        rows = lib.errors()
    if args.json:
        print(json.dumps([{"path": p, "reason": r} for p, r in rows]))
    else:
        for path, reason in rows:
            print(f"{path}: {reason}")
        print(f"{len(rows)} file(s) could not be read", file=sys.stderr)
    return 0


def cmd_folders(args) -> int:
    with _library(args) as lib:
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
    from photoface.core.verify import verify_photos

    with _library(args) as lib:
        result = verify_photos(lib, args.a, args.b)
    if args.json:
        print(json.dumps(result))
    else:
        verdict = "same person" if result["same"] else "different people"
        print(f"distance {result['distance']:.3f} (threshold {result['threshold']:.3f}, "
              f"model {result['model']}): {verdict}")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photoface",
        description="Find the faces in your photos and group them by person, privately, on this computer. "
                    "With no command (or a folder) photoface opens its window.")
    parser.add_argument("--version", action="version", version=f"photoface {__version__}")
    parser.add_argument("--library", metavar="DIR", default=None,
                        help="library folder (default: the user data folder, or $PHOTOFACE_LIBRARY)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("scan", help="scan folders (or every known folder) for photos and faces")
    p.add_argument("folders", nargs="*", help="folders to add and scan; none: re-scan all")
    p.add_argument("--workers", type=int, default=1, help="decode/detect threads (default 1)")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("status", help="photos, faces, persons, errors, model and compute device")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("errors", help="files that could not be read, with the reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_errors)

    p = sub.add_parser("folders", help="list, add or remove folders; exclude subfolders by pattern")
    p.add_argument("--add", nargs="+", metavar="DIR")
    p.add_argument("--remove", nargs="+", metavar="DIR")
    p.add_argument("--exclude", nargs="+", metavar="PATTERN", help="fnmatch on folder names or paths")
    p.add_argument("--include", nargs="+", metavar="PATTERN", help="drop an exclusion")
    p.set_defaults(func=cmd_folders)

    p = sub.add_parser("verify", help="are the largest faces of two photos the same person?")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _build_parser()
    # `photoface` or `photoface FOLDER…`: the window (a later issue); until then, help or a scan.
    if not argv or (not argv[0].startswith("-") and argv[0] not in parser._subparsers._group_actions[0].choices):
        if not argv:
            parser.print_help()
            return 0
        argv = ["scan", *argv]
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.command is None:
        parser.print_help()
        return 0
    from photoface.core.errors import PhotofaceError

    try:
        return args.func(args)
    except PhotofaceError as exc:
        print(f"photoface: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
