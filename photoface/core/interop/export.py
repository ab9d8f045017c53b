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

import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable

from photoface import __version__
from photoface.core.library import people
from photoface.core.errors import Cancelled, PhotofaceError
from photoface.core.library.store import Library
from photoface.core.types import Box
from photoface.core.interop.xmp import read_orientation, region_xmp
from photoface.core.hashing import sha256_file
from photoface.core.text import plural

log = logging.getLogger(__name__)

INDEX_NAME = "photoface-export.json"
_UMASK = os.umask(0o022)  # read once (os.umask can only be read by setting it) and put back
os.umask(_UMASK)
MODES = ("copy", "hardlink", "symlink")
MAX_NAME_BYTES = 120  # well under 255 (ext4, NTFS, APFS) to leave room for suffixes
_FORBIDDEN = set('/\\:*?"<>|')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in "123456789¹²³"), *(f"LPT{i}" for i in "123456789¹²³")}
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NO_HARDLINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, getattr(errno, "ENOTSUP", errno.EXDEV),
                getattr(errno, "EOPNOTSUPP", errno.EXDEV)}


class ExportError(PhotofaceError):
    """The destination cannot be written. `destination` names it; what is done is kept."""

    def __init__(self, message: str, destination: str, code: int | None = None):
        self.destination, self.errno = destination, code
        super().__init__(message)


class DiskFullError(ExportError):
    """The destination's disk (or quota) is full: free space and export again to finish."""


# --- names ----------------------------------------------------------------------------------

def safe_name(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A file or folder name that every common file system accepts, looking like `name`.

    Replaces / \\ : * ? " < > |, control characters and undecodable bytes with "_", drops
    trailing dots and spaces and a leading dot, prefixes Windows device names (CON, NUL,
    COM1, …) with "_", and cuts to max_bytes of UTF-8 (NFC, as macOS expects). Never empty.
    """
    text = unicodedata.normalize("NFC", name)
    text = "".join("_" if ch in _FORBIDDEN or unicodedata.category(ch) in ("Cc", "Cs", "Cf", "Zl", "Zp")
                   else ch for ch in text)
    text = " ".join(text.split())
    if text.startswith("."):  # hidden on Unix
        text = "_" + text[1:]
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    text = text.rstrip(". ")
    if not text:
        return "_"
    if text.split(".")[0].rstrip(" ").upper() in _RESERVED:
        text = "_" + text
    return text


def safe_file_name(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """safe_name for a photo's file name, keeping its extension."""
    stem, ext = os.path.splitext(name)
    ext = safe_name(ext, 16) if ext.strip(". ") else ""
    ext = "." + ext.lstrip("_") if ext and ext != "_" else ""
    return safe_name(stem, max_bytes - len(ext.encode("utf-8"))) + ext


def _key(name: str) -> str:
    """Two names that are one file on a case-insensitive file system have the same key."""
    return unicodedata.normalize("NFC", name).casefold()


def album_folders(persons: Iterable[tuple[int, str]]) -> dict[int, str]:
    """person id -> folder name. Names that become equal once made safe (or equal but for
    case) are told apart by the person id: the lowest id keeps the plain name, the others get
    " (ID)". Depends only on ids and names, so it is the same on every export."""
    out: dict[int, str] = {}
    taken: set[str] = set()
    for pid, name in sorted(persons):
        folder = safe_name(name)
        if _key(folder) in taken:
            folder = safe_name(name, MAX_NAME_BYTES - 12) + f" ({pid})"
        taken.add(_key(folder))
        out[pid] = folder
    return out


def _suffixed(name: str, tag: str) -> str:
    stem, ext = os.path.splitext(name)
    return f"{stem}_{tag}{ext}"


# --- planning -------------------------------------------------------------------------------

@dataclass
class PlannedPhoto:
    """One photo of an album.

    Attributes:
        photo_id, sha256: the library's photo.
        source: the original file (None when no file of it is on disk now).
        name: the file name it gets in the album folder.
        boxes: this person's face boxes, pixels of the upright image.
        states: each face's state: confirmed, accepted (kept in the album by the user) or
            suggested (only with include_suggested).
    """

    photo_id: int
    sha256: str
    source: str | None
    name: str
    boxes: list[Box]
    states: list[str] = field(default_factory=list)


@dataclass
class AlbumPlan:
    """One person's folder: `folder` is relative to the destination."""

    person_id: int
    name: str
    folder: str
    photos: list[PlannedPhoto]


def _selected_persons(library: Library, person_ids: Iterable[int] | None) -> list[tuple[int, str]]:
    if person_ids is None:  # every named person the People screen shows
        return [(p.id, p.name) for p in people.list_people(library) if p.name is not None]
    out = []
    for pid in sorted(set(int(p) for p in person_ids)):
        row = library.con.execute("SELECT name FROM persons WHERE id = ?", (pid,)).fetchone()
        if row is None:
            raise PhotofaceError(f"no person {pid} (see `photoface people`)")
        out.append((pid, row[0] or f"Unnamed {pid}"))
    return out


def _source_of(library: Library, photo_id: int, first: str | None) -> str | None:
    for path in [first, *library.photo_paths(photo_id)]:
        if path and os.path.isfile(path):
            return path
    return None


#: Faces the user accepted as their person: what export and XMP carry by default.
USER_STATES = ("confirmed", "accepted")


def _states(include_suggested: bool) -> tuple[str, ...]:
    return USER_STATES + (("suggested",) if include_suggested else ())


def plan_export(library: Library, person_ids: Iterable[int] | None = None,
                include_suggested: bool = False, previous: dict | None = None) -> list[AlbumPlan]:
    """What an export would write, without touching the disk (for a dialog's counts too).

    Args:
        person_ids: the persons to export; None: every named, not hidden person.
        include_suggested: also the faces only suggested for a person (as its album shows
            them), not only the confirmed and accepted ones.
        previous: the destination's earlier index (see `read_index`): photos keep the file
            names they were given then.

    File names: the original's, made safe; photos of one album with the same name (from
    different folders) each get "_" + the first 8 hex digits of their sha256, the same on
    every export.
    """
    before = {(p["folder"], ph["sha256"]): os.path.basename(ph["path"])
              for p in (previous or {}).get("persons", []) for ph in p.get("photos", [])
              if isinstance(ph, dict) and "sha256" in ph and "path" in ph}
    selected = _selected_persons(library, person_ids)
    folders = album_folders(selected)
    sha_of = dict(library.con.execute("SELECT id, sha256 FROM photos").fetchall())
    plans = []
    for pid, name in selected:
        faces = [f for f in people.person_faces(library, pid) if f.state in _states(include_suggested)]
        by_photo: dict[int, list] = {}
        for f in faces:
            by_photo.setdefault(f.photo_id, []).append(f)
        photos = []
        for photo_id, fs in sorted(by_photo.items()):
            source = _source_of(library, photo_id, fs[0].path)
            base = safe_file_name(os.path.basename(source or fs[0].path or f"photo-{photo_id}.jpg"))
            photos.append(PlannedPhoto(photo_id, sha_of[photo_id], source, base, [f.box for f in fs],
                                       [f.state for f in fs]))
        folder = folders[pid]
        _name_files(photos, {sha: n for (fo, sha), n in before.items() if fo == folder})
        plans.append(AlbumPlan(pid, name, folder, photos))
    return plans


def _name_files(photos: list[PlannedPhoto], earlier: dict[str, str]) -> None:
    """Gives every photo of one folder a distinct name (case-insensitively), stably."""
    counts: dict[str, int] = {}
    for p in photos:
        counts[_key(p.name)] = counts.get(_key(p.name), 0) + 1
    taken: set[str] = set()
    rest = []
    for p in photos:  # names given by an earlier export stay
        old = earlier.get(p.sha256)
        if old and old == safe_file_name(old) and _key(old) not in taken:
            p.name = old
            taken.add(_key(old))
        else:
            rest.append(p)
    for p in rest:
        name = p.name if counts[_key(p.name)] == 1 else _suffixed(p.name, p.sha256[:8])
        for n in (8, 16, 64):
            if _key(name) not in taken:
                break
            name = _suffixed(p.name, p.sha256[:n])
        p.name = name
        taken.add(_key(name))


# --- writing --------------------------------------------------------------------------------

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
        return (f"exported {plural(self.photos, 'photo')} of {plural(self.persons, 'person')} to {self.destination} "
                f"in {self.seconds:.1f}s: {self.copied} copied{linked}, {self.unchanged} already there"
                f"{extra}")


def _copy_bytes(src, dst) -> None:
    """Copies an open source file into an open destination file (tests replace this)."""
    shutil.copyfileobj(src, dst, 1 << 20)


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (and Windows) cannot fsync a folder; the files are synced
    finally:
        os.close(fd)


def _write_atomic(folder: str, name: str, fill: Callable, stat_from: str | None = None) -> None:
    """Writes a new file `folder/name` via a temporary file and a rename.

    `fill(f)` writes the content into the open temporary file. With stat_from, the mode and
    times of that file are copied (shutil.copy2 semantics). The temporary file is removed
    on any error. Raises FileExistsError if `name` appeared meanwhile.
    """
    fd, tmp = tempfile.mkstemp(prefix=".photoface-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        if stat_from is not None:
            try:
                shutil.copystat(stat_from, tmp)
            except OSError:  # FAT/SMB may refuse chmod: the times matter most
                st = os.stat(stat_from)
                os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        else:
            # mkstemp makes the file private (0600); a file of ours (index, sidecar) gets the mode
            # any new file of the user would have.
            try:
                os.chmod(tmp, 0o666 & ~_UMASK)
            except OSError:
                pass
        target = os.path.join(folder, name)
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", target)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _copy_file(source: str, folder: str, name: str) -> None:
    with open(source, "rb") as src:  # the original: read-only, always
        _write_atomic(folder, name, lambda f: _copy_bytes(src, f), stat_from=source)


class _Exporter:
    """One export run: its report, and the source hashes computed so far."""

    def __init__(self, destination: str, mode: str, report: ExportReport):
        self.dest, self.mode, self.report = destination, mode, report
        self._hashes: dict[str, str] = {}

    def _hash(self, path: str) -> str:
        key = os.path.realpath(path)
        if key not in self._hashes:
            self._hashes[key] = sha256_file(path)
        return self._hashes[key]

    def same(self, source: str, target: str) -> bool:
        """Is `target` already this photo (so nothing needs writing)?"""
        if os.path.islink(target):
            return os.readlink(target) == source if self.mode == "symlink" else False
        try:
            st, ss = os.stat(target), os.stat(source)
        except OSError:
            return False
        if not os.path.isfile(target) or st.st_size != ss.st_size:
            return False
        if (st.st_dev, st.st_ino) == (ss.st_dev, ss.st_ino):
            return True
        if st.st_mtime_ns == ss.st_mtime_ns:
            return True
        return self._hash(target) == self._hash(source)  # same size, other time: unsure

    def place(self, source: str, folder_abs: str, name: str) -> tuple[str, str]:
        """Puts `source` into the folder as `name` (or `name (N)` if a different file has it).

        Returns:
            (file name used, how: copied/hardlinked/symlinked/copied-not-linked/unchanged).
        """
        stem, ext = os.path.splitext(name)
        for k in range(1000):
            candidate = name if k == 0 else f"{stem} ({k}){ext}"
            target = os.path.join(folder_abs, candidate)
            if os.path.lexists(target):
                if self.same(source, target):
                    return candidate, "unchanged"
                continue
            try:
                how = self._write(source, folder_abs, candidate)
            except FileExistsError:
                continue  # appeared meanwhile: look again
            if k:
                self.report.renamed += 1
            return candidate, how
        raise ExportError(f"too many different files named like {name} in {folder_abs}", self.dest)

    def _write(self, source: str, folder_abs: str, name: str) -> str:
        target = os.path.join(folder_abs, name)
        if self.mode == "symlink":
            os.symlink(source, target)
            return "symlinked"
        if self.mode == "hardlink":
            try:
                os.link(source, target, follow_symlinks=True)
                return "hardlinked"
            except OSError as exc:
                if exc.errno not in _NO_HARDLINK:
                    raise
                self.report.fallback_copies += 1
                if self.report.fallback_copies == 1:
                    why = ("the destination is on another file system" if exc.errno == errno.EXDEV
                           else f"hard links are not possible there ({exc.strerror})")
                    log.warning("hard link impossible for %s: %s; copying instead", source, why)
                    self.report.notes.append(f"{why}: photos were copied instead of hard-linked")
        _copy_file(source, folder_abs, name)
        return "copied" if self.mode == "copy" else "copied-not-linked"


def read_index(destination: str | os.PathLike) -> dict | None:
    """The destination's `photoface-export.json`, or None if absent or unreadable."""
    path = os.path.join(destination, INDEX_NAME)
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("persons"), list) else None


def _box_json(b: Box) -> list[float]:
    return [round(b.x, 2), round(b.y, 2), round(b.w, 2), round(b.h, 2)]


def _index(report: ExportReport, plans: list[AlbumPlan], previous: dict | None, include_suggested: bool) -> dict:
    persons = {}
    for plan in plans:
        persons[plan.folder] = {"id": plan.person_id, "name": plan.name, "folder": plan.folder, "photos": []}
    for it in report.items:
        folder = it.path.rsplit("/", 1)[0]
        entry = {"photo_id": it.photo_id, "sha256": it.sha256, "source": it.source, "path": it.path,
                 "how": it.how, "faces": [_box_json(b) for b in it.boxes], "face_states": it.states}
        if it.sidecar:
            entry.update(sidecar=it.sidecar, sidecar_sha256=it.sidecar_sha256)
        persons[folder]["photos"].append(entry)
    # Albums exported earlier but not this time are still in the folder: keep listing them.
    for old in (previous or {}).get("persons", []):
        if isinstance(old, dict) and old.get("folder") not in persons:
            persons[old.get("folder")] = old
    return {"format": "photoface-export", "version": 1, "photoface": __version__,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "mode": report.mode,
            "faces_exported": list(_states(include_suggested)),
            "box_units": "pixels of the EXIF-oriented photo: [x, y, w, h], top-left corner",
            "persons": sorted(persons.values(), key=lambda p: str(p.get("folder")))}


def _photo_xmp(library: Library, photo_id: int, source: str, include_suggested: bool) -> bytes:
    faces = [(f.person_name, f.box) for f in people.photo_faces(library, photo_id)
             if f.person_name and f.state in _states(include_suggested)]
    width, height = library.con.execute("SELECT width, height FROM photos WHERE id = ?", (photo_id,)).fetchone()
    return region_xmp(width, height, read_orientation(source), faces)


def _disk_error(exc: OSError, destination: str) -> ExportError:
    if exc.errno in _FULL:
        what = "the disk quota" if exc.errno != errno.ENOSPC else "the disk"
        return DiskFullError(f"{what} of {destination} is full: free some space there and export "
                             f"again to finish (what was exported is kept)", destination, exc.errno)
    where = exc.filename or destination
    return ExportError(f"cannot write to {where}: {exc.strerror or exc}", destination, exc.errno)


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
        _remove_stale_parts(dest)
    except OSError as exc:
        raise _disk_error(exc, dest) from exc
    previous = read_index(dest)
    plans = plan_export(library, person_ids, include_suggested, previous)
    earlier_sidecars = {ph.get("sidecar"): ph.get("sidecar_sha256")
                        for p in (previous or {}).get("persons", []) if isinstance(p, dict)
                        for ph in p.get("photos", []) if isinstance(ph, dict) and ph.get("sidecar")}
    report.persons = len(plans)
    total = sum(len(p.photos) for p in plans)
    exporter = _Exporter(dest, mode, report)
    done = 0
    for plan in plans:
        folder_abs = os.path.join(dest, plan.folder)
        if os.path.isdir(folder_abs):
            _remove_stale_parts(folder_abs)
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
                    raise _disk_error(exc, dest) from exc
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
                    raise _disk_error(exc, dest) from exc
                report.items.append(item)
            _progress(progress, done, total)
        if os.path.isdir(folder_abs):
            _fsync_dir(folder_abs)
    if report.sidecars_kept:
        report.notes.append(f"{report.sidecars_kept} XMP sidecars changed since photoface wrote them "
                            "were left as they are")
    if report.missing:
        report.notes.append(f"{len(report.missing)} photos have no file on disk now (offline or deleted)")
    index = _index(report, plans, previous, include_suggested)
    try:
        data = json.dumps(index, indent=1, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a file name that is not UTF-8: escape everything instead
        data = json.dumps(index, indent=1).encode("ascii")
    try:
        if os.path.lexists(os.path.join(dest, INDEX_NAME)):
            tmp_name = f".{INDEX_NAME}.new"
            if os.path.lexists(os.path.join(dest, tmp_name)):
                os.unlink(os.path.join(dest, tmp_name))
            _write_atomic(dest, tmp_name, lambda f: f.write(data))
            os.replace(os.path.join(dest, tmp_name), os.path.join(dest, INDEX_NAME))  # our own file
        else:
            _write_atomic(dest, INDEX_NAME, lambda f: f.write(data))
        _fsync_dir(dest)
    except OSError as exc:
        raise _disk_error(exc, dest) from exc
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    return report


def _remove_stale_parts(folder: str) -> None:
    """Temporary files an earlier, killed export left behind (ours by name) go, once per folder."""
    for entry in os.scandir(folder):
        if entry.name.startswith(".photoface-") and entry.name.endswith(".part") and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
            except OSError:
                pass


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
        tmp_name = f".{side_name}.new"
        if os.path.lexists(os.path.join(folder_abs, tmp_name)):
            os.unlink(os.path.join(folder_abs, tmp_name))
        _write_atomic(folder_abs, tmp_name, lambda f: f.write(data))
        os.replace(os.path.join(folder_abs, tmp_name), target)  # our own earlier sidecar
    else:
        _write_atomic(folder_abs, side_name, lambda f: f.write(data))
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
                _write_atomic(os.path.dirname(source), os.path.basename(target), lambda f: f.write(data))
            except FileExistsError:
                report.skipped.append(target)
                continue
            except OSError as exc:
                raise _disk_error(exc, os.path.dirname(source)) from exc
            report.written.append(target)
        _progress(progress, done, len(photo_ids))
    return report
