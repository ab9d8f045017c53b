"""What an export would write, decided before touching the disk: the persons, one safe folder
name each, and each album's photos with a file name every common file system accepts, stable
from one export to the next."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

from photoface.core.errors import PhotofaceError
from photoface.core.library import people, persons
from photoface.core.library.store import Library
from photoface.core.types import Box

MAX_NAME_BYTES = 120  # well under 255 (ext4, NTFS, APFS) to leave room for suffixes
_FORBIDDEN = set('/\\:*?"<>|')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in "123456789¹²³"), *(f"LPT{i}" for i in "123456789¹²³")}


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
        try:
            name = persons.person_name(library.con, pid)
        except KeyError:
            raise PhotofaceError(f"no person {pid} (see `photoface people`)") from None
        out.append((pid, name or f"Unnamed {pid}"))
    return out


def _source_of(library: Library, photo_id: int, first: str | None) -> str | None:
    for path in [first, *library.photo_paths(photo_id)]:
        if path and os.path.isfile(path):
            return path
    return None


#: Faces the user accepted as their person: what export and XMP carry by default.
USER_STATES = ("confirmed", "accepted")


def exported_states(include_suggested: bool) -> tuple[str, ...]:
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
    sha_of = people.photo_hashes(library)
    plans = []
    for pid, name in selected:
        faces = [f for f in people.person_faces(library, pid) if f.state in exported_states(include_suggested)]
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
