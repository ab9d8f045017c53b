"""Writing an export's files safely: a copy goes to a temporary name in the destination folder,
is fsynced and renamed, so a crash or a full disk leaves no half file; an existing different
file is never overwritten; a hard link falls back to a copy where none is possible. Originals
are only ever opened read-only.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Callable

from photoface.core.errors import PhotofaceError
from photoface.core.hashing import sha256_file

if TYPE_CHECKING:
    from photoface.core.interop.export import ExportReport

log = logging.getLogger(__name__)

_UMASK = os.umask(0o022)  # read once (os.umask can only be read by setting it) and put back
os.umask(_UMASK)
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


def _copy_bytes(src, dst) -> None:
    """Copies an open source file into an open destination file (tests replace this)."""
    shutil.copyfileobj(src, dst, 1 << 20)


def fsync_dir(folder: str) -> None:
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


def write_atomic(folder: str, name: str, fill: Callable, stat_from: str | None = None) -> None:
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
        write_atomic(folder, name, lambda f: _copy_bytes(src, f), stat_from=source)


class Exporter:
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


def disk_error(exc: OSError, destination: str) -> ExportError:
    if exc.errno in _FULL:
        what = "the disk quota" if exc.errno != errno.ENOSPC else "the disk"
        return DiskFullError(f"{what} of {destination} is full: free some space there and export "
                             f"again to finish (what was exported is kept)", destination, exc.errno)
    where = exc.filename or destination
    return ExportError(f"cannot write to {where}: {exc.strerror or exc}", destination, exc.errno)


def remove_stale_parts(folder: str) -> None:
    """Temporary files an earlier, killed export left behind (ours by name) go, once per folder."""
    for entry in os.scandir(folder):
        if entry.name.startswith(".photoface-") and entry.name.endswith(".part") and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def replace_own_file(folder: str, name: str, data: bytes) -> None:
    """Writes `data` over `folder/name`, a file photoface wrote itself, atomically."""
    tmp_name = f".{name}.new"
    if os.path.lexists(os.path.join(folder, tmp_name)):
        os.unlink(os.path.join(folder, tmp_name))
    write_atomic(folder, tmp_name, lambda f: f.write(data))
    os.replace(os.path.join(folder, tmp_name), os.path.join(folder, name))
