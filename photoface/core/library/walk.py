"""Walk photo folders and decide, with one stat per file, what needs work.

Paths are bytes from end to end: a file name need not be valid UTF-8 to be a photo.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from photoface.core.faces.imaging import RAW_EXTENSIONS, SUPPORTED_EXTENSIONS

log = logging.getLogger(__name__)

# Folders that belong to other programs' libraries or to NAS housekeeping, never the user's photos.
FOREIGN_LIBRARY_PATTERNS = (
    "*.photoslibrary",      # Apple Photos
    "*.lrdata",             # Lightroom previews
    "*.lrlibrary",
    "@eaDir",               # Synology thumbnails
    "#recycle",
    "$RECYCLE.BIN",
    "System Volume Information",
    "thumbnails-digikam*",  # digiKam's thumbnail database folder when it is kept beside photos
)
# digiKam keeps its thumbnail and face databases as files beside the photos.
FOREIGN_FILES = (b"thumbnails-digikam.db", b"digikam4.db", b"recognition.db", b"similarity.db")

_SUPPORTED = {e.encode() for e in SUPPORTED_EXTENSIONS}
_RAW = {e.encode() for e in RAW_EXTENSIONS}


@dataclass(frozen=True)
class FoundFile:
    """A file seen on disk: its path and what one stat said."""

    path: bytes
    size: int
    mtime_ns: int


@dataclass
class WalkResult:
    """Everything one walk of one root found."""

    photos: list[FoundFile] = field(default_factory=list)
    unsupported: list[FoundFile] = field(default_factory=list)  # RAW: counted, not errors
    errors: list[tuple[bytes, str]] = field(default_factory=list)  # (path, reason)


def root_is_online(root: bytes, known_files: int) -> bool:
    """False for a root that is missing, or an empty mount point that used to hold photos.

    An unmounted drive usually leaves an empty folder behind: treating it as "all deleted" would
    drop every face of that drive from the albums, so an empty root that had files is offline.
    """
    if not os.path.isdir(root):
        return False
    if known_files == 0:
        return True
    try:
        with os.scandir(root) as it:
            return any(True for _ in it)
    except OSError:
        return False


def _excluded(name: bytes, rel: str, patterns: list[str]) -> bool:
    text = os.fsdecode(name)
    return any(fnmatch.fnmatch(text, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def walk(root: bytes, exclude_patterns: list[str] = (), skip_dirs: list[bytes] = ()) -> WalkResult:
    """Finds every photo under `root`, one stat each.

    Follows symbolic links to folders but never enters a folder twice (by device and inode), so
    a symlink loop ends. Skips hidden entries, other applications' libraries, `skip_dirs` (the
    library's own folder) and folders matching `exclude_patterns` (fnmatch against the folder's
    name and its path relative to the root).
    """
    result = WalkResult()
    patterns = list(FOREIGN_LIBRARY_PATTERNS) + list(exclude_patterns)
    skip = {os.path.realpath(d) for d in skip_dirs}
    visited: set[tuple[int, int]] = set()
    for path, entry_stat, error in _walk_entries(root, root, patterns, skip, visited):
        if error is not None:
            result.errors.append((path, error))
            continue
        ext = os.path.splitext(path)[1].lower()
        found = FoundFile(path, entry_stat.st_size, entry_stat.st_mtime_ns)
        if ext in _SUPPORTED:
            result.photos.append(found)
        elif ext in _RAW:
            result.unsupported.append(found)
    return result


def _walk_entries(root: bytes, folder: bytes, patterns: list[str], skip: set[bytes],
                  visited: set[tuple[int, int]]) -> Iterator[tuple[bytes, os.stat_result | None, str | None]]:
    try:
        st = os.stat(folder)
    except OSError as exc:
        yield folder, None, f"cannot open folder: {exc.strerror or exc}"
        return
    key = (st.st_dev, st.st_ino)
    if key in visited:
        log.info("not entering %s again (symbolic link loop or second link)", os.fsdecode(folder))
        return
    visited.add(key)
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield folder, None, f"cannot read folder: {exc.strerror or exc}"
        return
    subfolders = []
    for entry in entries:
        name = entry.name
        if name.startswith(b"."):
            continue
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError:
            is_dir = False
        if is_dir:
            rel = os.fsdecode(os.path.relpath(entry.path, root))
            if os.path.realpath(entry.path) in skip or _excluded(name, rel, patterns):
                continue
            subfolders.append(entry.path)
            continue
        if name in FOREIGN_FILES:
            continue
        try:
            entry_stat = entry.stat()  # the one stat a known file costs
        except OSError as exc:
            reason = "broken symbolic link" if entry.is_symlink() else f"cannot stat: {exc.strerror or exc}"
            yield entry.path, None, reason
            continue
        if stat.S_ISREG(entry_stat.st_mode):
            yield entry.path, entry_stat, None
        elif os.path.splitext(name)[1].lower() in _SUPPORTED | _RAW:
            # Never opened: reading a named pipe would hang the scan.
            yield entry.path, None, "not a regular file (named pipe, socket or device)"
    for sub in subfolders:
        yield from _walk_entries(root, sub, patterns, skip, visited)


@dataclass
class RootPlan:
    """What a scan of one root must do, decided from the walk and the library's records."""

    root_id: int
    root: bytes
    online: bool
    todo: list[FoundFile] = field(default_factory=list)         # new or changed: read them
    unchanged: int = 0                                           # same size and mtime: nothing to do
    unsupported: list[FoundFile] = field(default_factory=list)
    errors: list[tuple[bytes, str]] = field(default_factory=list)
    gone: list[bytes] = field(default_factory=list)              # known files no longer there


def plan_root(known: dict[bytes, tuple[int, int, str]], root_id: int, root: bytes,
              exclude_patterns: list[str], library_dir: Path) -> RootPlan:
    """Compares a walk of `root` with what the library knows (`known`: path -> size, mtime, status)."""
    plan = RootPlan(root_id, root, root_is_online(root, len(known)))
    if not plan.online:
        return plan
    walked = walk(root, exclude_patterns, [os.fsencode(library_dir)])
    seen = set()
    for f in walked.photos:
        seen.add(f.path)
        old = known.get(f.path)
        if old is not None and old[0] == f.size and old[1] == f.mtime_ns:
            plan.unchanged += 1
        else:
            plan.todo.append(f)
    for f in walked.unsupported:
        seen.add(f.path)
        plan.unsupported.append(f)
    for path, reason in walked.errors:
        seen.add(path)
        plan.errors.append((path, reason))
    plan.gone = [p for p in known if p not in seen]
    return plan
