"""XMP face names into the library: `import_xmp()` reads the regions of the library's photos under a
folder (`xmp_read`), matches them to detected faces by box overlap and names the faces, as one
undoable decision (`import_names()`). Writing regions is `xmp_write`; what both share (namespaces,
orientation) is `xmp_regions`. The public names of all four stay importable from here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from photoface.core.albums.review import clean_name
from photoface.core.errors import Cancelled
from photoface.core.interop.xmp_read import (JPEG_XMP_SIGNATURE, MAX_XMP_BYTES, Region, XmpError, embedded_xmp,
                                             jpeg_xmp, parse_xmp, read_regions, region_to_pixels, sidecar_paths)
from photoface.core.interop.xmp_regions import oriented_to_stored, read_orientation, stored_size, stored_to_oriented
from photoface.core.interop.xmp_write import region_xmp, xml_text
from photoface.core.library import face_states, people, persons
from photoface.core.library.decisions import Touched, record_decision
from photoface.core.library.store import Library, decode_path, display_path, encode_path
from photoface.core.types import Box

# Re-exported: tests and benchmarks import the reading and writing names from `xmp`.
__all__ = ["JPEG_XMP_SIGNATURE", "MAX_XMP_BYTES", "MIN_IOU", "Conflict", "ImportResult", "Region",
           "XmpError", "XmpImportReport", "embedded_xmp", "import_names", "import_xmp", "jpeg_xmp",
           "match_regions", "oriented_to_stored", "parse_xmp", "read_orientation", "read_regions",
           "region_to_pixels", "region_xmp", "sidecar_paths", "stored_size", "stored_to_oriented"]

log = logging.getLogger(__name__)

MIN_IOU = 0.3  # region vs detected box: XMP writers draw boxes tighter or looser than MTCNN


@dataclass(frozen=True)
class Conflict:
    """An XMP name that was not applied, and why."""

    face_id: int
    xmp_name: str
    library_name: str | None
    reason: str
    path: str | None = None


@dataclass
class ImportResult:
    """What `import_names` changed: `named` faces confirmed, `already` ones that had the name."""

    decision_id: int | None = None
    named: int = 0
    already: int = 0
    persons_created: list[int] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def import_names(library: Library, assignments: Iterable[tuple[int, str, str | None]],
                 params: dict | None = None) -> ImportResult:
    """Names faces as one undoable decision ('import_xmp'): `Review(library).undo()` undoes it all.

    Each face becomes confirmed for the person of that name (an existing one, matched
    case-insensitively, or a new named person). What the user decided in photoface wins:
    a confirmed face, a face the user kept with another named person (accepted), a face marked
    "not a face", or a face rejected from that person keeps its state and is listed as a conflict; so is a second, different name for the same face.

    Args:
        assignments: (face id, name, where the name came from or None).
        params: recorded with the decision (what the user asked for).
    """
    result = ImportResult()
    with library.transaction() as con:
        plan: dict[int, str] = {}
        for face_id, raw_name, origin in assignments:
            name = clean_name(xml_text(raw_name or ""))
            if name is None:
                continue
            row = face_states.face_with_person_name(con, face_id)
            if row is None:
                continue
            person_id, state, pname = row
            conflict = lambda why: result.conflicts.append(  # noqa: E731
                Conflict(face_id, name, pname, why, origin))
            if face_id in plan:
                if plan[face_id].casefold() != name.casefold():
                    conflict(f"another XMP names this face {plan[face_id]!r}")
                continue
            if state == "accepted" and pname is not None and pname.casefold() != name.casefold():
                conflict(f"kept with {pname!r} in photoface")
                continue
            if state == "confirmed":
                if pname is not None and pname.casefold() == name.casefold():
                    result.already += 1
                elif pname is not None:
                    conflict(f"confirmed as {pname!r} in photoface")
                else:
                    conflict(f"confirmed for unnamed person {person_id} in photoface")
                continue
            if state == "not_face":
                conflict("marked as not a face in photoface")
                continue
            if persons.rejected_from_name(con, face_id, name):
                conflict(f"rejected from {name!r} in photoface")
                continue
            plan[face_id] = name
        if not plan:
            return result
        touched = Touched(faces=set(plan))
        record = {**(params or {}), "faces": sorted(plan), "persons_created": result.persons_created}

        def apply(con) -> None:
            person_of: dict[str, int] = {}
            now = time.time()
            for face_id in sorted(plan):
                name = plan[face_id]
                key = name.casefold()
                if key not in person_of:
                    person_id = persons.person_named(con, name)
                    if person_id is None:
                        person_id = persons.new_person(con, name, now)
                        touched.created_persons.add(person_id)
                        result.persons_created.append(person_id)  # also in `record`: the same list
                    person_of[key] = person_id
                face_states.set_face_state(con, face_id, person_of[key], "confirmed")

        _, result.decision_id = record_decision(con, "import_xmp", record, touched, apply)
        result.named = len(plan)
    return result


@dataclass
class XmpImportReport:
    """What `import_xmp` found and did.

    Attributes:
        photos: library photos with a file under the folder.
        files_with_regions: photo files whose XMP held named face regions.
        regions: named face regions read.
        matched: regions matched to a detected face.
        unmatched: (path, name) of regions no detected face overlapped enough.
        errors: (file, reason) of XMP that could not be read.
        result: the names applied and the conflicts (see ImportResult).
    """

    photos: int = 0
    files_with_regions: int = 0
    regions: int = 0
    matched: int = 0
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    result: ImportResult = field(default_factory=ImportResult)
    seconds: float = 0.0


def _library_photos_under(library: Library, folder: str) -> dict[int, list[str]]:
    """photo id -> its files (present, sorted) under `folder`."""
    root = encode_path(os.path.abspath(folder)).rstrip(b"/") + b"/"
    out: dict[int, list[str]] = {}
    for path, photo_id in people.readable_files(library):
        if path.startswith(root):
            out.setdefault(photo_id, []).append(decode_path(path))
    return out


def match_regions(boxes: list[tuple[int, Box]], regions: list[tuple[str, Box]],
                  min_iou: float = MIN_IOU) -> tuple[list[tuple[int, str]], list[str]]:
    """Pairs named regions with detected faces, best overlap first, each at most once.

    Args:
        boxes: (face id, box in upright pixels) of the detected faces.
        regions: (name, box in upright pixels) of the XMP regions.

    Returns:
        ((face id, name) pairs, names of the regions left unmatched).
    """
    pairs = sorted(((fb.iou(rb), fid, i) for fid, fb in boxes for i, (_, rb) in enumerate(regions)),
                   key=lambda t: (-t[0], t[1], t[2]))
    used_faces, used_regions, matched = set(), set(), []
    for iou, fid, i in pairs:
        if iou < min_iou or fid in used_faces or i in used_regions:
            continue
        used_faces.add(fid)
        used_regions.add(i)
        matched.append((fid, regions[i][0]))
    return matched, [regions[i][0] for i in range(len(regions)) if i not in used_regions]


def import_xmp(library: Library, folder: str, min_iou: float = MIN_IOU,
               progress: Callable[[int, int], None] | None = None,
               cancel: threading.Event | None = None) -> XmpImportReport:
    """Reads the XMP face names of the library's photos under `folder` and applies them.

    Sidecars (`X.jpg.xmp`, `X.xmp`) and XMP embedded in the photo are read; each named face
    region is matched to a detected face by IoU >= min_iou (after converting it to the
    upright pixels photoface uses) and all matches are applied as one undoable decision.

    Args:
        progress: called (done, total) after each photo.
        cancel: when set, stops before applying anything and raises Cancelled.
    """
    started = time.perf_counter()
    report = XmpImportReport()
    photos = _library_photos_under(library, folder)
    report.photos = len(photos)
    sizes = people.photo_sizes(library)
    assignments: list[tuple[int, str, str]] = []
    for done, (photo_id, paths) in enumerate(sorted(photos.items()), 1):
        if cancel is not None and cancel.is_set():
            raise Cancelled("XMP import cancelled; nothing was changed")
        width, height = sizes[photo_id]
        faces = [(f.id, f.box) for f in library.faces_of_photo(photo_id)]
        named_regions: list[tuple[str, Box, str]] = []
        for path in paths:
            regions, errors = read_regions(path)
            report.errors.extend((display_path(p), why) for p, why in errors)
            regions = [r for r in regions if r.name and r.name.strip()]
            if not regions:
                continue
            report.files_with_regions += 1
            orientation = read_orientation(path)
            for r in regions:
                box = region_to_pixels(r, width, height, orientation)
                # The same region seen again through a second copy of the photo counts once.
                if not any(n.casefold() == r.name.casefold() and b.iou(box) > 0.8 for n, b, _ in named_regions):
                    named_regions.append((r.name, box, path))
        report.regions += len(named_regions)
        matched, unmatched = match_regions(faces, [(n, b) for n, b, _ in named_regions], min_iou)
        report.matched += len(matched)
        origin = {n: p for n, _, p in named_regions}
        assignments.extend((fid, name, origin[name]) for fid, name in matched)
        report.unmatched.extend((display_path(origin[n]), n) for n in unmatched)
        if progress is not None:
            progress(done, len(photos))
    report.result = import_names(library, assignments, {"folder": os.path.abspath(folder)})
    report.seconds = time.perf_counter() - started
    log.info("XMP import from %s: %d regions, %d matched, %d named, %d conflicts", folder,
             report.regions, report.matched, report.result.named, len(report.result.conflicts))
    return report
