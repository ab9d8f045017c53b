"""The export's index, `photoface-export.json` in the destination: person, source and exported
path, and face boxes (with each face's state) of every exported photo. The next export reads
it back, so photos keep their file names and sidecars changed since are left alone."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

from photoface import __version__
from photoface.core.interop.export_files import fsync_dir, replace_own_file, write_atomic
from photoface.core.interop.export_plan import AlbumPlan, exported_states
from photoface.core.types import Box

if TYPE_CHECKING:
    from photoface.core.interop.export import ExportReport

INDEX_NAME = "photoface-export.json"


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


def build_index(report: ExportReport, plans: list[AlbumPlan], previous: dict | None, include_suggested: bool) -> dict:
    """The index of this export: its albums and photos, and the albums of earlier exports into
    the same destination that this one left out (they are still in the folder)."""
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
    for old in (previous or {}).get("persons", []):
        if isinstance(old, dict) and old.get("folder") not in persons:
            persons[old.get("folder")] = old
    return {"format": "photoface-export", "version": 1, "photoface": __version__,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "mode": report.mode,
            "faces_exported": list(exported_states(include_suggested)),
            "box_units": "pixels of the EXIF-oriented photo: [x, y, w, h], top-left corner",
            "persons": sorted(persons.values(), key=lambda p: str(p.get("folder")))}


def write_index(destination: str, index: dict) -> None:
    """Writes the index into the destination atomically (replacing the earlier one).

    Raises:
        OSError: the destination cannot be written.
    """
    try:
        data = json.dumps(index, indent=1, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a file name that is not UTF-8: escape everything instead
        data = json.dumps(index, indent=1).encode("ascii")
    if os.path.lexists(os.path.join(destination, INDEX_NAME)):
        replace_own_file(destination, INDEX_NAME, data)
    else:
        write_atomic(destination, INDEX_NAME, lambda f: f.write(data))
    fsync_dir(destination)
