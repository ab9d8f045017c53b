"""A photo as the photo views list it: its id, date taken, a file, and a face of it to highlight
(the timeline, photo_timeline.py, shows them; the photo viewer steps through them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhotoRow:
    photo_id: int
    taken_at: str | None
    path: str | None
    face_id: int | None  # a face of the photo to highlight when it opens
