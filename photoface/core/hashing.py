"""Content hashes of files, read in 1 MiB chunks so big files never sit whole in memory."""

from __future__ import annotations

import hashlib
import os


def sha256_file(path: str | bytes | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (opened read-only)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
