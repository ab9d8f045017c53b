"""Person albums to folders on disk: one folder per person, the photos copied or linked into it.

Safe by construction: originals are only ever opened read-only; a copy is written to a
temporary name in the destination folder, fsynced and renamed, so a crash or a full disk
leaves no half file; an existing different file is never overwritten (the new one gets a
" (1)" suffix); an existing identical file is left alone, so a re-export only adds what is new.
The destination gets an index, `photoface-export.json`: person, source and exported path, and
face boxes (with each face's state: confirmed, accepted or suggested) of every exported photo.
By default only faces the user confirmed or accepted go out; suggestions only when asked for.
Optional XMP sidecars (`photo.jpg.xmp`, digiKam's naming) carry the face names as MWG regions.
"""


from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from photoface.core.errors import Cancelled
from photoface.core.hashing import sha256_file
from photoface.core.interop.export_files import (DiskFullError, ExportError, Exporter, disk_error, fsync_dir,
                                                 remove_stale_parts, replace_own_file, write_atomic)
from photoface.core.interop.export_index import INDEX_NAME, build_index, read_index, write_index
from photoface.core.interop.export_plan import (MAX_NAME_BYTES, USER_STATES, AlbumPlan, PlannedPhoto, album_folders,
                                                exported_states, plan_export, safe_file_name, safe_name)
from photoface.core.interop.xmp_regions import read_orientation
from photoface.core.interop.xmp_write import region_xmp
from photoface.core.library import people
from photoface.core.library.store import Library
from photoface.core.text import plural
from photoface.core.types import Box

# Re-exported: the GUI, the CLI and tests import these from `export`.
__all__ = ["INDEX_NAME", "MAX_NAME_BYTES", "MODES", "USER_STATES", "AlbumPlan", "DiskFullError", "ExportError",
           "ExportReport", "ExportedPhoto", "PlannedPhoto", "SidecarReport", "album_folders", "export_albums",
           "plan_export", "read_index", "safe_file_name", "safe_name", "write_sidecars_beside_originals"]

log = logging.getLogger(__name__)

MODES = ("copy", "hardlink", "symlink")


@dataclass
class ExportedPhoto:
    """One photo in one album folder, as the index lists it."""

    person_id: int
    person_name: str
    photo_id: int
    sha256: str
    source: str
    path: str  # relative to the destination, "/"-separated
    how: str  # copied, hardlinked, symlinked, copied-not-linked, unchanged
    boxes: list[Box]
    states: list[str] = field(default_factory=list)
    sidecar: str | None = None
    sidecar_sha256: str | None = None


@dataclass
class ExportReport:
    """What an export did.

    Attributes:
        destination: the destination folder.
        mode: copy, hardlink or symlink.
        persons: albums exported.
        photos: album photos (a photo of two persons counts twice).
        copied, hardlinked, symlinked: files written.
        unchanged: files already there and identical.
        renamed: files written under a " (N)" name because a different file had the name.
        fallback_copies: copies made where a hard link was impossible (another file system).
        sidecars_written / sidecars_unchanged / sidecars_kept: XMP written, already right, or
            left alone because someone changed them after photoface wrote them.
        missing: photos with no file on disk now (offline drive, deleted): not exported.
        unreadable: (source, reason) of originals that could not be read.
        notes: plain-language remarks for the user (fallbacks, kept sidecars).
        items: every exported photo.
    """

    destination: str
    mode: str
    persons: int = 0
    photos: int = 0
    copied: int = 0
    hardlinked: int = 0
    symlinked: int = 0
    unchanged: int = 0
    renamed: int = 0
    fallback_copies: int = 0
    sidecars_written: int = 0
    sidecars_unchanged: int = 0
    sidecars_kept: int = 0
    missing: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    items: list[ExportedPhoto] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the CLI and the GUI's status bar."""
        linked = f", {self.hardlinked} hard-linked" if self.hardlinked else ""
        linked += f", {self.symlinked} symlinked" if self.symlinked else ""
        extra = f", {self.renamed} renamed (a different file had the name)" if self.renamed else ""
        extra += f", {len(self.missing)} missing" if self.missing else ""
        extra += f", {len(self.unreadable)} unreadable" if self.unreadable else ""
        extra += f", {self.sidecars_written} XMP written" if self.sidecars_written else ""
        return (f"Exported {plural(self.photos, 'photo')} of {plural(self.persons, 'person')} to {self.destination} "
                f"in {self.seconds:.1f}s: {self.copied} copied{linked}, {self.unchanged} already there"
                f"{extra}")


def _photo_xmp(library: Library, photo_id: int, source: str, include_suggested: bool) -> bytes:
    faces = [(f.person_name, f.box) for f in people.photo_faces(library, photo_id)
             if f.person_name and f.state in exported_states(include_suggested)]
    width, height = people.photo_size(library, photo_id)
    return region_xmp(width, height, read_orientation(source), faces)


def export_albums(library: Library, destination: str | os.PathLike,
                  person_ids: Iterable[int] | None = None, mode: str = "copy", xmp: bool = False,
                  include_suggested: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: threading.Event | None = None) -> ExportReport:
    """Exports person albums into `destination/<person name>/`.

    Args:
        person_ids: persons to export; None: every named person not hidden.
        mode: "copy" (bytes and modification time kept), "hardlink" (falls back to a copy
            where a link is impossible, e.g. another file system, and says so in the
            report's notes) or "symlink" (absolute links to the originals).
        xmp: also write `<file>.xmp` sidecars with MWG face regions next to each exported
            photo (never next to the originals).
        include_suggested: export faces only suggested for a person too, as the album shows
            them (default: the faces the user confirmed or accepted).
        progress: called (done, total) after each album photo.
        cancel: when set, stops between photos and raises Cancelled (what is done stays).

    Returns:
        The report; `photoface-export.json` in the destination lists every exported photo.

    Raises:
        DiskFullError: the destination is full (ENOSPC/EDQUOT); no partial file is left, and
            running the export again finishes the job.
        ExportError: the destination cannot be written (permissions, not a folder).
        Cancelled: cancel was set.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    started = time.perf_counter()
    dest = os.path.abspath(os.fspath(destination))
    report = ExportReport(dest, mode)
    try:
        os.makedirs(dest, exist_ok=True)
        remove_stale_parts(dest)
    except OSError as exc:
        raise disk_error(exc, dest) from exc
    previous = read_index(dest)
    plans = plan_export(library, person_ids, include_suggested, previous)
    earlier_sidecars = {ph.get("sidecar"): ph.get("sidecar_sha256")
                        for p in (previous or {}).get("persons", []) if isinstance(p, dict)
                        for ph in p.get("photos", []) if isinstance(ph, dict) and ph.get("sidecar")}
    # A named person with nothing the user accepted yet has no album to write: not counted as
    # exported (a new user read "3 persons" for two folders), but said in the notes.
    report.persons = sum(1 for p in plans if p.photos)
    empty = [p.name for p in plans if not p.photos]
    if empty:
        more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
        why = "their albums are empty" if include_suggested else "no photo of theirs is confirmed yet"
        report.notes.append(f"Nothing exported for {', '.join(empty[:5])}{more}: {why}")
    total = sum(len(p.photos) for p in plans)
    exporter = Exporter(dest, mode, report)
    done = 0
    for plan in plans:
        folder_abs = os.path.join(dest, plan.folder)
        if os.path.isdir(folder_abs):
            remove_stale_parts(folder_abs)
        for photo in plan.photos:
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"export to {dest} cancelled; {done} of {total} photos are done")
            done += 1
            report.photos += 1
            if photo.source is None:
                report.missing.append(f"{plan.folder}/{photo.name}")
            else:
                try:
                    if not os.path.isdir(folder_abs):
                        os.makedirs(folder_abs, exist_ok=True)
                    with open(photo.source, "rb"):
                        pass  # readable? a failure here is the original's, not the destination's
                except OSError as exc:
                    if exc.filename == photo.source:
                        report.unreadable.append((photo.source, exc.strerror or str(exc)))
                        _progress(progress, done, total)
                        continue
                    raise disk_error(exc, dest) from exc
                try:
                    name, how = exporter.place(os.path.abspath(photo.source), folder_abs, photo.name)
                    item = ExportedPhoto(plan.person_id, plan.name, photo.photo_id, photo.sha256,
                                         photo.source, f"{plan.folder}/{name}", how, photo.boxes,
                                         photo.states)
                    counter = "copied" if how == "copied-not-linked" else how
                    setattr(report, counter, getattr(report, counter) + 1)
                    if xmp:
                        _sidecar(library, report, item, folder_abs, name, earlier_sidecars, include_suggested)
                except OSError as exc:
                    raise disk_error(exc, dest) from exc
                report.items.append(item)
            _progress(progress, done, total)
        if os.path.isdir(folder_abs):
            fsync_dir(folder_abs)
    if report.sidecars_kept:
        report.notes.append(f"{report.sidecars_kept} XMP sidecars changed since photoface wrote them "
                            "were left as they are")
    if report.missing:
        report.notes.append(f"{len(report.missing)} photos have no file on disk now (offline or deleted)")
    try:
        write_index(dest, build_index(report, plans, previous, include_suggested))
    except OSError as exc:
        raise disk_error(exc, dest) from exc
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    return report


def _progress(progress, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _sidecar(library: Library, report: ExportReport, item: ExportedPhoto, folder_abs: str, name: str,
             earlier: dict, include_suggested: bool) -> None:
    """Writes `<name>.xmp` beside the exported photo unless someone else changed it since."""
    data = _photo_xmp(library, item.photo_id, item.source, include_suggested)
    digest = hashlib.sha256(data).hexdigest()
    side_name = name + ".xmp"
    rel = item.path + ".xmp"
    target = os.path.join(folder_abs, side_name)
    if os.path.lexists(target):
        current = sha256_file(target) if os.path.isfile(target) else None
        if current == digest:
            report.sidecars_unchanged += 1
            item.sidecar, item.sidecar_sha256 = rel, digest
            return
        if current is None or earlier.get(rel) != current:
            report.sidecars_kept += 1  # not ours, or edited since: never overwrite it
            return
        replace_own_file(folder_abs, side_name, data)  # our own earlier sidecar
    else:
        write_atomic(folder_abs, side_name, lambda f: f.write(data))
    report.sidecars_written += 1
    item.sidecar, item.sidecar_sha256 = rel, digest


@dataclass
class SidecarReport:
    """What `write_sidecars_beside_originals` did: written, skipped (a sidecar was there)."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def write_sidecars_beside_originals(library: Library, person_ids: Iterable[int] | None = None,
                                    include_suggested: bool = False,
                                    progress: Callable[[int, int], None] | None = None,
                                    cancel: threading.Event | None = None) -> SidecarReport:
    """Writes `<original>.xmp` sidecars with MWG face regions next to the ORIGINAL photos.

    Only for a user who asks for it explicitly (export never does this). The photos are not
    touched; an existing sidecar is never overwritten (digiKam or Lightroom may own it).
    Confirmed and accepted faces only unless include_suggested.
    """
    report = SidecarReport()
    photo_ids = sorted({ph.photo_id for plan in plan_export(library, person_ids, include_suggested)
                        for ph in plan.photos if ph.source})
    for done, photo_id in enumerate(photo_ids, 1):
        if cancel is not None and cancel.is_set():
            raise Cancelled("writing sidecars cancelled")
        for source in library.photo_paths(photo_id):
            if not os.path.isfile(source):
                continue
            target = source + ".xmp"
            if os.path.lexists(target):
                report.skipped.append(target)
                continue
            data = _photo_xmp(library, photo_id, source, include_suggested)
            try:
                write_atomic(os.path.dirname(source), os.path.basename(target), lambda f: f.write(data))
            except FileExistsError:
                report.skipped.append(target)
                continue
            except OSError as exc:
                raise disk_error(exc, os.path.dirname(source)) from exc
            report.written.append(target)
        _progress(progress, done, len(photo_ids))
    return report
