"""What every view needs: the library (GUI-thread connection), its folder for worker threads,
the undoable actions, the thumbnail caches (faces, photos), and a way to open a photo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from photoface.core.library.store import Library
from photoface.gui.actions import Actions
from photoface.gui.photo_thumbs import PhotoThumbnailCache
from photoface.gui.thumbnails import ThumbnailCache


@dataclass
class Context:
    library: Library
    actions: Actions
    thumbs: ThumbnailCache
    # (photo id, face id to highlight[, the (photo id, face id) list the viewer's arrows step through])
    open_photo: Callable[..., None]
    open_person: Callable[[int], None]
    add_manual_face: Callable[[int, tuple[int, int, int, int]], object]  # (photo id, box) -> the job
    photo_thumbs: PhotoThumbnailCache | None = None

    @property
    def lib_dir(self) -> Path:
        return self.library.root
