"""The `photoface` command: with no argument (or a folder) the window, with a subcommand headless.

Only this package and `photoface.gui` decide how errors are shown; the work is all in the core.
One module per kind of command; this one builds the parser and runs a command.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from photoface import __version__
from photoface.cli.library_commands import (cmd_scan, cmd_status, cmd_errors, cmd_folders, cmd_verify,
                                            cmd_self_test)
from photoface.cli.album_commands import (cmd_cluster, cmd_people, cmd_merge, cmd_split, cmd_move,
                                          cmd_rename, cmd_confirm, cmd_reject, cmd_hide, cmd_not_face,
                                          cmd_dismiss_background, cmd_not_same, cmd_undo, cmd_suggest)
from photoface.cli.transfer_commands import cmd_export, cmd_import_xmp
from photoface.cli.model_commands import cmd_finetune, cmd_models, cmd_use_model


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
    parser.command_names = sub.choices  # read by main() to tell a folder from a command

    p = sub.add_parser("scan", help="scan folders (or every known folder) for photos and faces")
    p.add_argument("folders", nargs="*", help="folders to add and scan; none: re-scan all")
    p.add_argument("--workers", type=int, default=2, help="decode/detect threads (default 2: measured faster on 2 cores)")
    p.add_argument("--no-cluster", action="store_true", help="do not group the new faces into albums")
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

    p = sub.add_parser("self-test", help="check that both models load and work; prints the device")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_self_test)

    p = sub.add_parser("cluster", help="group new faces into person albums (--full: all undecided faces)")
    p.add_argument("--full", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="print what would change and change nothing")
    p.set_defaults(func=cmd_cluster)

    p = sub.add_parser("people", help="person albums: id, name, faces, confirmed, accepted")
    p.add_argument("--json", action="store_true", help="every person and the unsorted faces, with boxes")
    p.add_argument("--all", action="store_true", help="hidden persons and small albums too")
    p.set_defaults(func=cmd_people)

    p = sub.add_parser("merge", help="merge persons into another")
    p.add_argument("persons", nargs="+", help="ids or names")
    p.add_argument("--into", required=True, help="the person they become")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("split", help="a new person from these faces")
    p.add_argument("faces", nargs="+", type=int)
    p.add_argument("--name")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("move", help="move faces to a person (confirmed there, rejected from the old one)")
    p.add_argument("faces", nargs="+", type=int)
    p.add_argument("--to", required=True)
    p.set_defaults(func=cmd_move)

    p = sub.add_parser("rename", help="name a person (\"\" to unname)")
    p.add_argument("person")
    p.add_argument("name")
    p.add_argument("--merge", action="store_true", help="if the name is taken, merge into that person")
    p.set_defaults(func=cmd_rename)

    for name, fn, what in (("confirm", cmd_confirm, "these faces are PERSON"),
                           ("reject", cmd_reject, "these faces are not PERSON")):
        p = sub.add_parser(name, help=what)
        p.add_argument("faces", nargs="+", type=int)
        p.add_argument("--person", required=True)
        p.set_defaults(func=fn)

    p = sub.add_parser("hide", help="hide a person from People (--unhide to show again)")
    p.add_argument("person")
    p.add_argument("--unhide", action="store_true")
    p.set_defaults(func=cmd_hide)

    p = sub.add_parser("not-face", help="these detections are not faces")
    p.add_argument("faces", nargs="+", type=int)
    p.set_defaults(func=cmd_not_face)

    p = sub.add_parser("dismiss-background",
                       help="dismiss background faces (those given, or all of Unsorted) as not interesting")
    p.add_argument("faces", nargs="*", type=int)
    p.add_argument("--list", action="store_true", help="list the dismissed faces")
    p.add_argument("--restore", action="store_true", help="bring dismissed faces back (those given, or all)")
    p.set_defaults(func=cmd_dismiss_background)

    p = sub.add_parser("not-same", help="two persons are not the same (never suggest merging them)")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(func=cmd_not_same)

    for name in ("undo", "redo"):
        p = sub.add_parser(name, help=f"{name} the last decision")
        p.set_defaults(func=cmd_undo)

    p = sub.add_parser("suggest", help="faces that may be PERSON; with no PERSON, persons that may be one")
    p.add_argument("person", nargs="?")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_suggest)

    p = sub.add_parser("export", help="copy or link person albums into DEST/<name>/ (with an index, optional XMP)")
    p.add_argument("dest", metavar="DEST")
    p.add_argument("--persons", nargs="+", metavar="NAME_OR_ID", help="default: every named person")
    p.add_argument("--mode", choices=("copy", "hardlink", "symlink"), default="copy")
    p.add_argument("--xmp", action="store_true", help="write PHOTO.xmp sidecars with MWG face regions")
    p.add_argument("--include-suggested", action="store_true",
                   help="also faces only suggested for a person (default: confirmed and accepted faces)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import-xmp", help="name faces from the XMP face regions of the photos under DIR")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(func=cmd_import_xmp)
    p = sub.add_parser("finetune", help="learn from the confirmed faces: fine-tune FaceNet, compare, offer")
    p.add_argument("--steps", type=int, default=400, help="most training steps (stops early)")
    p.add_argument("--blocks", type=int, default=None, help="Block8 blocks to train (0-6, default 1)")
    p.add_argument("--activate", action="store_true", help="switch to the new model if it is offered")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("models", help="model versions: id, date, active, arithmetic, validation figures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("use-model", help="switch to a model version (re-embeds every face): ID or shipped")
    p.add_argument("model")
    p.add_argument("--precision", choices=("fp32", "int8"), default=None,
                   help="the arithmetic: fp32 (exact) or int8 (quantised, 2-4x faster, at most 0.0008 "
                        "AUC lower on the test sets); default: unchanged")
    p.add_argument("--dry-run", action="store_true", help="print what would change in the albums; do not switch")
    p.set_defaults(func=cmd_use_model)

    return parser


def _wants_window(argv: list[str], commands) -> bool:
    """True unless the first argument that is not an option (or --library's value) is a command,
    or help/version is asked for."""
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a in ("-h", "--help", "--version"):
            return False
        elif a == "--library":
            skip = True
        elif not a.startswith("-"):
            return a not in commands
    return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _build_parser()
    # `photoface` or `photoface [--library DIR] FOLDER…`: the window (scanning the folders).
    if _wants_window(argv, parser.command_names):
        window = argparse.ArgumentParser(prog="photoface", add_help=False)
        window.add_argument("--library", default=None)
        window.add_argument("-v", "--verbose", action="store_true")
        window.add_argument("folders", nargs="*")
        wargs = window.parse_args(argv)
        logging.basicConfig(level=logging.INFO if wargs.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        for folder in wargs.folders:
            if not os.path.isdir(folder):
                print(f"photoface: {folder}: not a folder", file=sys.stderr)
                return 2
        from photoface.gui.app import main as gui_main

        return gui_main(wargs.folders, wargs.library)
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
    except BrokenPipeError:
        # `photoface people | head`: the reader left. Point stdout at nothing so that Python's
        # flush at exit does not raise again, and end quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
