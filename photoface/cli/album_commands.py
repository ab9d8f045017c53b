"""Commands over the person albums: grouping, the review actions (each one undoable decision),
suggestions.
"""

from __future__ import annotations

import json
import sys

from photoface.core.text import plural
from photoface.cli.common import (open_library, resolve_person, face_json, review_action, who, accepted_of,
                                  recluster)


def cmd_cluster(args) -> int:
    with open_library(args) as lib:
        recluster(lib, args.full, args.dry_run)
    return 0


def cmd_people(args) -> int:
    from photoface.core.library import people

    with open_library(args) as lib:
        persons = people.list_people(lib, include_hidden=args.all, min_faces=0 if args.all else None)
        if args.json:
            out = {"persons": [{"id": p.id, "name": p.name, "hidden": p.hidden, "faces_count": p.faces,
                                "confirmed": p.confirmed, "accepted": p.accepted,
                                "faces": [face_json(f) for f in people.person_faces(lib, p.id)]}
                               for p in persons],
                   "unsorted": [face_json(f) for f in people.unsorted_faces(lib)]}
            print(json.dumps(out))
            return 0
        print(f"{'id':>6}  {'name':30} {'faces':>6} {'confirmed':>9} {'accepted':>8}")
        for p in persons:
            flag = "  (hidden)" if p.hidden else ""
            print(f"{p.id:>6}  {p.label:30} {p.faces:>6} {p.confirmed:>9} {p.accepted:>8}{flag}")
        print(f"unsorted faces: {len(people.unsorted_faces(lib))}")
    return 0


def cmd_merge(args) -> int:
    def act(lib, r):
        sources = [resolve_person(lib, s) for s in args.persons]
        target = resolve_person(lib, args.into)
        were = ", ".join(who(lib, s) for s in sources)
        r.merge(sources, target)
        return (f"merged {were} into {who(lib, target)}; {accepted_of(lib, target)} of its faces are "
                f"accepted (kept together by every regroup)")
    return review_action(args, act)


def cmd_split(args) -> int:
    def act(lib, r):
        pid = r.split(args.faces, args.name)
        return f"new {who(lib, pid)} from {plural(len(set(args.faces)), 'confirmed face')}"
    return review_action(args, act)


def cmd_move(args) -> int:
    def act(lib, r):
        pid = resolve_person(lib, args.to)
        r.move(args.faces, pid)
        return f"moved {plural(len(set(args.faces)), 'face')} to {who(lib, pid)} (confirmed there)"
    return review_action(args, act)


def cmd_rename(args) -> int:
    from photoface.core.albums.review import NameTaken, Review

    with open_library(args) as lib:
        review = Review(lib)
        pid = resolve_person(lib, args.person)
        try:
            review.rename(pid, args.name)
        except NameTaken as taken:
            if not args.merge:
                print(f"photoface: {taken} (add --merge to merge person {pid} into it)", file=sys.stderr)
                return 1
            was = who(lib, pid)
            review.merge([pid], taken.person_id)
            print(f"merged {was} into {who(lib, taken.person_id)}")
            return 0
        if args.name.strip():
            print(f"renamed {who(lib, pid)}; {accepted_of(lib, pid)} of its faces are accepted")
        else:
            print(f"{who(lib, pid)} has no name now")
    return 0


def cmd_confirm(args) -> int:
    def act(lib, r):
        pid = resolve_person(lib, args.person)
        r.confirm(args.faces, pid)
        return f"confirmed {plural(len(set(args.faces)), 'face')} as {who(lib, pid)}"
    return review_action(args, act)


def cmd_reject(args) -> int:
    def act(lib, r):
        pid = resolve_person(lib, args.person)
        r.reject(args.faces, pid)
        return (f"{plural(len(set(args.faces)), 'face')} will never be suggested for {who(lib, pid)} again; "
                f"they are in Unsorted unless confirmed elsewhere")
    return review_action(args, act)


def cmd_hide(args) -> int:
    def act(lib, r):
        pid = resolve_person(lib, args.person)
        r.set_hidden(pid, not args.unhide)
        return f"{who(lib, pid)} is {'shown in People again' if args.unhide else 'hidden, with its faces'}"
    return review_action(args, act)


def cmd_not_face(args) -> int:
    def act(lib, r):
        r.not_a_face(args.faces)
        return f"{plural(len(set(args.faces)), 'detection')} marked as not a face"
    return review_action(args, act)


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
    return review_action(args, act)


def cmd_not_same(args) -> int:
    def act(lib, r):
        a, b = resolve_person(lib, args.a), resolve_person(lib, args.b)
        r.not_same_person(a, b)
        return f"remembered: {who(lib, a)} and {who(lib, b)} are not the same person"
    return review_action(args, act)


def cmd_undo(args) -> int:
    from photoface.core.albums.review import describe_action

    def act(lib, r):
        done = r.undo() if args.command == "undo" else r.redo()
        verb = "undone" if args.command == "undo" else "redone"
        return f"{verb}: {describe_action(done[1])} (decision {done[0]})" if done else f"nothing to {args.command}"
    return review_action(args, act)


def cmd_suggest(args) -> int:
    from photoface.core.albums.update import merge_suggestions, person_suggestions

    with open_library(args) as lib:
        if args.person is None:
            for a, b, d in merge_suggestions(lib, args.limit):
                print(f"same person? {a} and {b} (distance {d:.3f})")
        else:
            for face, d in person_suggestions(lib, resolve_person(lib, args.person), args.limit):
                print(f"face {face} (distance {d:.3f})")
    return 0
