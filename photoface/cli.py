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
from photoface.core.text import plural

log = logging.getLogger("photoface")


def _library(args):
    from photoface.core.library.store import Library

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
    from photoface.core.library.ingest import scan

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
        if not args.no_cluster:
            _recluster(lib, full=False)
    return 0


def cmd_status(args) -> int:
    from photoface.core.config import model_version
    from photoface.core.faces.embed import compute_device

    with _library(args) as lib:
        counts = lib.counts()
        settings = lib.settings()
        info = {
            "library": str(lib.root),
            **counts,
            "roots": [r for _, r in lib.roots()],
            "model": model_version(settings["active_weights"], settings["align_mode"],
                                   settings["input_scaling"], settings["embed_precision"]),
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
    from photoface.core.faces.verify import verify_photos
    from photoface.core.learning.versions import face_models, verify_threshold

    with _library(args) as lib:
        models = face_models(lib)
        result = verify_photos(models, args.a, args.b, verify_threshold(lib, models.model_version))
    if args.json:
        print(json.dumps(result))
    else:
        verdict = "same person" if result["same"] else "different people"
        print(f"distance {result['distance']:.3f} (threshold {result['threshold']:.3f}, "
              f"model {result['model']}): {verdict}")
    return 0


# --- person albums ----------------------------------------------------------------------------

def _person_id(lib, ref: str) -> int:
    """A person given by id or by name (case-insensitive)."""
    from photoface.core.albums.review import ReviewError
    from photoface.core.library.persons import person_named

    if ref.isdigit():
        return int(ref)
    person_id = person_named(lib.con, ref)
    if person_id is None:
        raise ReviewError(f"no person named {ref!r} (see `photoface people`)")
    return person_id


def _recluster(lib, full: bool, dry_run: bool = False) -> None:
    """Groups faces; a full regroup first prints what it changes (and, with dry_run, stops there)."""
    from photoface.core.albums.update import plan_albums
    from photoface.core.albums.regroup import apply_plan, summarize

    plan = plan_albums(lib, full=full)
    if full or dry_run:
        for line in summarize(lib, plan).lines():
            print(line)
    if dry_run:
        print("dry run: nothing was changed")
        return
    report = apply_plan(lib, plan, logged=full)
    print(f"albums: {report.albums} ({report.new_albums} new), {report.suggested_to_known} faces suggested "
          f"for known people, {report.unsorted} unsorted, {report.seconds:.1f}s")
    if full:
        print("`photoface undo` puts every album back as it was before this regroup")


def cmd_cluster(args) -> int:
    with _library(args) as lib:
        _recluster(lib, args.full, args.dry_run)
    return 0


def _face_json(f) -> dict:
    b = f.box
    return {"id": f.id, "photo": f.path, "box": [round(b.x, 1), round(b.y, 1), round(b.w, 1), round(b.h, 1)],
            "state": f.state, "person": f.person_id}


def cmd_people(args) -> int:
    from photoface.core.library import people

    with _library(args) as lib:
        persons = people.list_people(lib, include_hidden=args.all, min_faces=0 if args.all else None)
        if args.json:
            out = {"persons": [{"id": p.id, "name": p.name, "hidden": p.hidden, "faces_count": p.faces,
                                "confirmed": p.confirmed, "accepted": p.accepted,
                                "faces": [_face_json(f) for f in people.person_faces(lib, p.id)]}
                               for p in persons],
                   "unsorted": [_face_json(f) for f in people.unsorted_faces(lib)]}
            print(json.dumps(out))
            return 0
        print(f"{'id':>6}  {'name':30} {'faces':>6} {'confirmed':>9} {'accepted':>8}")
        for p in persons:
            flag = "  (hidden)" if p.hidden else ""
            print(f"{p.id:>6}  {p.label:30} {p.faces:>6} {p.confirmed:>9} {p.accepted:>8}{flag}")
        print(f"unsorted faces: {len(people.unsorted_faces(lib))}")
    return 0


def _review_action(args, action) -> int:
    """Runs `action(library, review)` (one decision) and prints the sentence it returns."""
    from photoface.core.albums.review import Review

    with _library(args) as lib:
        message = action(lib, Review(lib))
    if message:
        print(message)
    return 0


def _who(lib, person_id: int) -> str:
    """A person as the CLI names it: 'person 6 (Bob, 36 faces)'."""
    from photoface.core.library.people import person_name_and_size

    row = person_name_and_size(lib, person_id)
    if row is None:
        return f"person {person_id}"
    name, n = row
    return f"person {person_id} ({name or 'unnamed'}, {plural(n, 'face')})"


def _accepted_of(lib, person_id: int) -> int:
    from photoface.core.library.people import accepted_count

    return accepted_count(lib, person_id)


def cmd_merge(args) -> int:
    def act(lib, r):
        sources = [_person_id(lib, s) for s in args.persons]
        target = _person_id(lib, args.into)
        were = ", ".join(_who(lib, s) for s in sources)
        r.merge(sources, target)
        return (f"merged {were} into {_who(lib, target)}; {_accepted_of(lib, target)} of its faces are "
                f"accepted (kept together by every regroup)")
    return _review_action(args, act)


def cmd_split(args) -> int:
    def act(lib, r):
        pid = r.split(args.faces, args.name)
        return f"new {_who(lib, pid)} from {plural(len(set(args.faces)), 'confirmed face')}"
    return _review_action(args, act)


def cmd_move(args) -> int:
    def act(lib, r):
        pid = _person_id(lib, args.to)
        r.move(args.faces, pid)
        return f"moved {plural(len(set(args.faces)), 'face')} to {_who(lib, pid)} (confirmed there)"
    return _review_action(args, act)


def cmd_rename(args) -> int:
    from photoface.core.albums.review import NameTaken, Review

    with _library(args) as lib:
        review = Review(lib)
        pid = _person_id(lib, args.person)
        try:
            review.rename(pid, args.name)
        except NameTaken as taken:
            if not args.merge:
                print(f"photoface: {taken} (add --merge to merge person {pid} into it)", file=sys.stderr)
                return 1
            was = _who(lib, pid)
            review.merge([pid], taken.person_id)
            print(f"merged {was} into {_who(lib, taken.person_id)}")
            return 0
        if args.name.strip():
            print(f"renamed {_who(lib, pid)}; {_accepted_of(lib, pid)} of its faces are accepted")
        else:
            print(f"{_who(lib, pid)} has no name now")
    return 0


def cmd_confirm(args) -> int:
    def act(lib, r):
        pid = _person_id(lib, args.person)
        r.confirm(args.faces, pid)
        return f"confirmed {plural(len(set(args.faces)), 'face')} as {_who(lib, pid)}"
    return _review_action(args, act)


def cmd_reject(args) -> int:
    def act(lib, r):
        pid = _person_id(lib, args.person)
        r.reject(args.faces, pid)
        return (f"{plural(len(set(args.faces)), 'face')} will never be suggested for {_who(lib, pid)} again; "
                f"they are in Unsorted unless confirmed elsewhere")
    return _review_action(args, act)


def cmd_hide(args) -> int:
    def act(lib, r):
        pid = _person_id(lib, args.person)
        r.set_hidden(pid, not args.unhide)
        return f"{_who(lib, pid)} is {'shown in People again' if args.unhide else 'hidden, with its faces'}"
    return _review_action(args, act)


def cmd_not_face(args) -> int:
    def act(lib, r):
        r.not_a_face(args.faces)
        return f"{plural(len(set(args.faces)), 'detection')} marked as not a face"
    return _review_action(args, act)


def cmd_dismiss_background(args) -> int:
    """Dismisses background faces as not interesting (not "not a face"): those given, or every
    background face Unsorted lists, as the window's button does; --list and --restore show and
    bring back dismissed faces."""
    from photoface.core.library.people import dismissed_faces, unsorted_faces

    def act(lib, r):
        if args.list:
            gone = dismissed_faces(lib)
            lines = [f"{f.id}\t{f.path or '(no file)'}" for f in gone]
            return "\n".join(lines + [f"{plural(len(gone), 'dismissed face')}"])
        if args.restore:
            ids = args.faces or [f.id for f in dismissed_faces(lib)]
            if not ids:
                return "no dismissed faces to restore"
            r.restore_dismissed(ids)
            n = len(r.history()[-1][2]["faces"])
            return f"{plural(n, 'dismissed face')} restored to Unsorted (undo: photoface undo)"
        ids = args.faces or [f.id for f in unsorted_faces(lib) if f.background]
        if not ids:
            return "no background faces to dismiss"
        r.dismiss_background(ids)
        n = len(r.history()[-1][2]["faces"])
        where = "" if args.faces else " of Unsorted"
        return (f"{plural(n, 'background face')}{where} dismissed as not interesting "
                f"(see them: photoface dismiss-background --list; undo: photoface undo)")
    return _review_action(args, act)


def cmd_not_same(args) -> int:
    def act(lib, r):
        a, b = _person_id(lib, args.a), _person_id(lib, args.b)
        r.not_same_person(a, b)
        return f"remembered: {_who(lib, a)} and {_who(lib, b)} are not the same person"
    return _review_action(args, act)


def cmd_undo(args) -> int:
    from photoface.core.albums.review import describe_action

    def act(lib, r):
        done = r.undo() if args.command == "undo" else r.redo()
        verb = "undone" if args.command == "undo" else "redone"
        return f"{verb}: {describe_action(done[1])} (decision {done[0]})" if done else f"nothing to {args.command}"
    return _review_action(args, act)


def cmd_suggest(args) -> int:
    from photoface.core.albums.update import merge_suggestions, person_suggestions

    with _library(args) as lib:
        if args.person is None:
            for a, b, d in merge_suggestions(lib, args.limit):
                print(f"same person? {a} and {b} (distance {d:.3f})")
        else:
            for face, d in person_suggestions(lib, _person_id(lib, args.person), args.limit):
                print(f"face {face} (distance {d:.3f})")
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


def _count_progress(label: str):
    """(done, total) progress on stderr: one updating line on a terminal, a line every 5 s otherwise."""
    tty = sys.stderr.isatty()
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if done != total and now - last[0] < (0.1 if tty else 5):
            return
        last[0] = now
        line = f"{label} {done}/{total}"
        sys.stderr.write(("\r" + line + ("\n" if done == total else "")) if tty else line + "\n")
        sys.stderr.flush()

    return show


def cmd_export(args) -> int:
    from photoface.core.errors import Cancelled
    from photoface.core.interop.export import export_albums

    cancel = threading.Event()
    with _library(args) as lib:
        ids = [_person_id(lib, p) for p in args.persons] if args.persons else None
        try:
            report = export_albums(lib, args.dest, ids, mode=args.mode, xmp=args.xmp,
                                   include_suggested=args.include_suggested,
                                   progress=_count_progress("exporting"), cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            print("\nexport interrupted; run it again to finish", file=sys.stderr)
            return 130
        except Cancelled:
            return 130
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
    with _library(args) as lib:
        report = import_xmp(lib, args.dir, progress=_count_progress("reading XMP"))
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


def _finetune_progress(label: str = "learning"):
    """(done, total) work units of learning or re-embedding on stderr, every few seconds."""
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= 5:
            last[0] = now
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

    return show


def cmd_finetune(args) -> int:
    from photoface.core.errors import Cancelled
    from photoface.core.learning.finetune import NotEnoughToLearn, finetune

    cancel = threading.Event()
    with _library(args) as lib:
        try:
            result = finetune(lib, progress=_finetune_progress(), cancel=cancel, steps=args.steps,
                              **({"blocks": args.blocks} if args.blocks is not None else {}))
        except NotEnoughToLearn as exc:
            print(f"photoface: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("photoface: learning cancelled; nothing was changed", file=sys.stderr)
            return 130
        if args.json:
            print(json.dumps(result.to_dict()))
        else:
            d = result.data
            print(f"learned from {d['persons']} people, {d['train_faces']} faces "
                  f"({d['val_faces']} more kept aside to test), {result.steps_run} steps "
                  f"in {result.feature_seconds + result.train_seconds:.0f}s")
            print(result.table())
            print(result.reason)
        if result.accepted and result.model_id:
            if args.activate:
                try:
                    report = _switch_model(lib, result.model_id, cancel=cancel)
                except (Cancelled, KeyboardInterrupt):
                    print("photoface: switching cancelled; the previous model stays in use "
                          "(`photoface use-model` resumes)", file=sys.stderr)
                    return 130
                print(f"now using model {result.model_id} ({report.reembedded} faces re-embedded)")
            else:
                print(f"saved as model {result.model_id}; `photoface use-model {result.model_id}` switches to it")
    return 0


def cmd_models(args) -> int:
    from photoface.core.learning.versions import list_models

    with _library(args) as lib:
        rows = list_models(lib)
        if args.json:
            print(json.dumps([{"id": m.id, "created_at": m.created_at, "active": m.active, "info": m.info}
                              for m in rows]))
            return 0
        print(f"{'':2}{'id':14} {'date':25} {'people':>6} {'faces':>6} {'blocks':>6} "
              f"{'val AUC before -> after':>24} {'ops before -> after':>20}")
        for m in rows:
            v = m.info.get("validation", {})
            b, a = v.get("before", {}), v.get("after", {})
            figures = (f"{b.get('auc', float('nan')):.4f} -> {a.get('auc', float('nan')):.4f}" if v else "")
            ops = f"{b.get('ops_to_clean', '')} -> {a.get('ops_to_clean', '')}" if v else ""
            data = m.info.get("data", {})
            print(f"{'*' if m.active else ' '} {m.id:14} {m.created_at or '(built in)':25} "
                  f"{data.get('persons', ''):>6} {data.get('train_faces', ''):>6} "
                  f"{m.info.get('blocks_trained', ''):>6} {figures:>24} {ops:>20}")
    return 0


def _switch_model(lib, model_id: str, dry_run: bool = False, cancel=None):
    """Re-embeds, prints what the switch changes in the albums and (unless dry_run) switches."""
    from photoface.core.learning.versions import apply_activation, prepare_activation
    from photoface.core.albums.regroup import summarize

    plan, report = prepare_activation(lib, model_id, progress=_finetune_progress("re-embedding"), cancel=cancel)
    for line in summarize(lib, plan).lines():
        print(line)
    if dry_run:
        print(f"dry run: still using {report.previous} (the new embeddings are kept for later)")
        return None
    return apply_activation(lib, plan, report)


def cmd_use_model(args) -> int:
    from photoface.core.errors import Cancelled

    with _library(args) as lib:
        try:
            report = _switch_model(lib, args.model, args.dry_run)
        except (Cancelled, KeyboardInterrupt):
            print("photoface: switching cancelled; the previous model stays in use (run again to resume)",
                  file=sys.stderr)
            return 130
        if report is not None:
            print(f"now using model {report.model_id} (was {report.previous}); "
                  f"{report.reembedded} faces re-embedded, albums updated; `photoface undo` switches back")
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

    p = sub.add_parser("models", help="model versions: id, date, active, validation figures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("use-model", help="switch to a model version (re-embeds every face): ID or shipped")
    p.add_argument("model")
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
