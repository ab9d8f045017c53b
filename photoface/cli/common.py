"""What the commands share: opening the library, naming persons, grouping after a change, progress
lines on stderr.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from photoface.core.text import plural

log = logging.getLogger("photoface")


def open_library(args):
    from photoface.core.library.store import Library

    return Library(args.library)


def progress_printer():
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


def resolve_person(lib, ref: str) -> int:
    """A person given by id or by name (case-insensitive)."""
    from photoface.core.albums.review import ReviewError
    from photoface.core.library.persons import person_named

    if ref.isdigit():
        return int(ref)
    person_id = person_named(lib.con, ref)
    if person_id is None:
        raise ReviewError(f"no person named {ref!r} (see `photoface people`)")
    return person_id


def face_json(f) -> dict:
    b = f.box
    return {"id": f.id, "photo": f.path, "box": [round(b.x, 1), round(b.y, 1), round(b.w, 1), round(b.h, 1)],
            "state": f.state, "person": f.person_id}


def review_action(args, action) -> int:
    """Runs `action(library, review)` (one decision) and prints the sentence it returns."""
    from photoface.core.albums.review import Review

    with open_library(args) as lib:
        message = action(lib, Review(lib))
    if message:
        print(message)
    return 0


def who(lib, person_id: int) -> str:
    """A person as the CLI names it: 'person 6 (Bob, 36 faces)'."""
    from photoface.core.library.people import person_name_and_size

    row = person_name_and_size(lib, person_id)
    if row is None:
        return f"person {person_id}"
    name, n = row
    return f"person {person_id} ({name or 'unnamed'}, {plural(n, 'face')})"


def accepted_of(lib, person_id: int) -> int:
    from photoface.core.library.people import accepted_count

    return accepted_count(lib, person_id)


def count_progress(label: str):
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


def finetune_progress(label: str = "learning"):
    """(done, total) work units of learning or re-embedding on stderr, every few seconds."""
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= 5:
            last[0] = now
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

    return show


def recluster(lib, full: bool, dry_run: bool = False) -> None:
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


#: Exit status of a command stopped by Ctrl+C (the shell's 128 + SIGINT).
INTERRUPTED = 130


def interruptible(work, interrupted: str):
    """Runs work(cancel) for a long command: Ctrl+C sets `cancel` (what is done stays done),
    prints `interrupted` and gives None, as does the work's own Cancelled."""
    from photoface.core.errors import Cancelled

    cancel = threading.Event()
    try:
        return work(cancel)
    except KeyboardInterrupt:
        cancel.set()
        print("\n" + interrupted, file=sys.stderr)
    except Cancelled:
        pass
    return None
