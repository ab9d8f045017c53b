"""What every view needs: the library (GUI-thread connection), its folder for worker threads,
the undoable actions, the thumbnail cache, and a way to open a photo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from photoface.core.library.store import Library
from photoface.gui.actions import Actions
from photoface.gui.thumbnails import ThumbnailCache


@dataclass
class Context:
    library: Library
    actions: Actions
    thumbs: ThumbnailCache
    open_photo: Callable[[int, int | None], None]  # (photo id, face id to highlight)
    open_person: Callable[[int], None]
    add_manual_face: Callable[[int, tuple[int, int, int, int]], None]  # (photo id, box)

    @property
    def lib_dir(self) -> Path:
        return self.library.root
