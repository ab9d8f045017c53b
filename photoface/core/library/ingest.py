"""scan → detect → align → embed → store, with progress and cancel.

Reading, hashing, decoding and detection run in worker threads (ONNX Runtime and Pillow's
decoders release the GIL) while this thread embeds finished photos in batches and commits them,
so the detector and FaceNet overlap. Each batch is one transaction holding photos, faces,
embeddings and their file records together: a kill at any instant loses at most the batch in
flight, and a re-run picks up exactly the files that have no record yet.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from photoface.core.errors import Cancelled, ImageDecodeError
from photoface.core.faces import imaging
from photoface.core.faces.finder import FaceModels, encode_jpeg, faces_from_image
from photoface.core.library.background import mark_background
from photoface.core.library.store import Library, display_path, encode_path
from photoface.core.library.walk import FoundFile, RootPlan, plan_root
from photoface.core.types import Box, NewFace, NewPhoto

log = logging.getLogger(__name__)


@dataclass
class ScanProgress:
    """A snapshot for progress bars. Rates are per second; eta_s is None until there is a rate."""

    files_done: int
    files_total: int
    faces: int
    rate: float
    eta_s: float | None
    current: str


@dataclass
class ScanReport:
    """What a scan did. Every count is of files unless named otherwise."""

    roots: int = 0
    offline_roots: list[str] = field(default_factory=list)
    unchanged: int = 0
    new_photos: int = 0
    known_content: int = 0   # moved, renamed, copied or touched: no decode needed
    faces_added: int = 0
    faces_kept_decisions: int = 0
    errors: int = 0
    unsupported: int = 0
    gone: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)


ProgressFn = Callable[[ScanProgress], None]


@dataclass
class _Outcome:
    """What a worker made of one file."""

    file: FoundFile
    sha256: str | None = None
    photo: NewPhoto | None = None    # None: content already known, or an error
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def _process_file(models: FaceModels, f: FoundFile, known_sha: set[str]) -> _Outcome:
    out = _Outcome(f)
    t0 = time.perf_counter()
    try:
        # Read-only, once: the same bytes are hashed and decoded.
        with open(f.path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        out.error = "permission denied" if isinstance(exc, PermissionError) else \
            f"cannot read: {exc.strerror or exc}"
        return out
    out.sha256 = hashlib.sha256(data).hexdigest()
    t1 = time.perf_counter()
    out.seconds["read+hash"] = t1 - t0
    if out.sha256 in known_sha:
        return out
    # A big JPEG is decoded at the size the detector looks at (draft decoding), not in full.
    decode_side = int(models.settings["detect_max_side"]) if models.settings["jpeg_draft"] else None
    try:
        image = imaging.load_image(f.path, data=data, max_side=decode_side)
    except ImageDecodeError as exc:
        out.error = exc.reason
        return out
    out.seconds["decode"] = time.perf_counter() - t1
    faces = faces_from_image(models, image.rgb, seconds=out.seconds)
    _to_original_pixels(faces, *image.to_original)
    out.photo = NewPhoto(out.sha256, image.width, image.height, image.taken_at,
                         models.detector_id, faces)
    return out


def _to_original_pixels(faces: list[NewFace], fx: float, fy: float) -> None:
    """Boxes and landmarks of a photo decoded smaller, in place, in pixels of the original."""
    if fx == 1.0 and fy == 1.0:
        return
    factors = np.array([fx, fy], dtype=np.float32)
    for face in faces:
        b = face.box
        face.box = Box(b.x * fx, b.y * fy, b.w * fx, b.h * fy)
        face.landmarks = (face.landmarks * factors).astype(np.float32)


class _Committer:
    """Embeds finished photos in batches and writes each batch in one transaction."""

    def __init__(self, library: Library, models: FaceModels, report: ScanReport):
        self.library, self.models, self.report = library, models, report
        self.pending: list[tuple[int, _Outcome]] = []
        self.pending_faces = 0

    def add(self, root_id: int, outcome: _Outcome) -> None:
        self.pending.append((root_id, outcome))
        if outcome.photo is not None:
            self.pending_faces += len(outcome.photo.faces)
        if self.pending_faces >= self.models.embedder.batch_size or len(self.pending) >= 64:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        t0 = time.perf_counter()
        faces = [face for _, o in self.pending if o.photo for face in o.photo.faces]
        if faces:
            vectors = self.models.embedder.embed(np.stack([face.crop for face in faces]))
            for face, vec in zip(faces, vectors):
                face.embedding = vec
        t1 = time.perf_counter()
        self.report.stage_seconds["embed"] = self.report.stage_seconds.get("embed", 0.0) + t1 - t0
        with self.library.transaction() as con:
            new = [self._write(con, root_id, o) for root_id, o in self.pending]
            mark_background(con, [p for p in new if p is not None])  # one statement per batch
        self.report.stage_seconds["store"] = self.report.stage_seconds.get("store", 0.0) + time.perf_counter() - t1
        self.pending, self.pending_faces = [], 0

    def _write(self, con, root_id: int, o: _Outcome) -> int | None:
        """Records one file; returns the id of the photo it added, if it added one."""
        f, lib, rep = o.file, self.library, self.report
        if o.error is not None:
            lib.record_file(con, root_id, f.path, f.size, f.mtime_ns, status="error", error=o.error)
            rep.errors += 1
            log.warning("%s: %s", display_path(f.path), o.error)
            return None
        previous = lib.location(f.path)
        photo_id = lib.photo_id_by_sha(o.sha256)
        added = None
        if photo_id is None and o.photo is not None:
            photo_id, face_ids = lib.insert_photo(con, o.photo, self.models.model_version)
            added = photo_id
            rep.new_photos += 1
            rep.faces_added += len(face_ids)
            if previous is not None and previous.photo_id not in (None, photo_id):
                # Edited in place: faces that are still where they were keep their names.
                rep.faces_kept_decisions += lib.carry_over_decisions(
                    con, previous.photo_id, face_ids, [face.box for face in o.photo.faces])
        else:
            rep.known_content += 1
        lib.record_file(con, root_id, f.path, f.size, f.mtime_ns, photo_id=photo_id)
        if previous is not None and previous.photo_id not in (None, photo_id):
            lib.delete_photo_if_orphan(con, previous.photo_id)
        return added


def scan(library: Library, folders: list[str | bytes] | None = None, models: FaceModels | None = None,
         progress: ProgressFn | None = None, cancel: threading.Event | None = None,
         workers: int = 1) -> ScanReport:
    """Scans `folders` (added as roots first), or every root of the library when None.

    Args:
        progress: called from this thread after each file, at most ~10 times a second.
        cancel: when set, the scan stops within about a second (the batch being embedded is
            committed first) and raises Cancelled.
        workers: threads that read, decode and detect (the committing thread embeds).

    Returns:
        The report. Bad files are recorded (see `Library.errors`) and the scan goes on.
    """
    started = time.perf_counter()
    report = ScanReport()
    for folder in folders or []:
        library.add_root(os.fsdecode(folder))
    excludes = library.excludes()
    plans: list[RootPlan] = []
    for root_id, root in library.roots():
        root_b = encode_path(root)
        if folders is not None and not any(_is_within(root_b, encode_path(os.path.abspath(f))) for f in folders):
            continue
        plan = plan_root(library.locations_under(root_id), root_id, root_b, excludes, library.root)
        plans.append(plan)
        report.roots += 1
        if not plan.online:
            report.offline_roots.append(root)
            log.warning("folder %s is offline: its photos are kept as they were", root)
    report.stage_seconds["walk"] = time.perf_counter() - started

    _record_walk_results(library, plans, report)
    todo = [(p.root_id, f) for p in plans for f in p.todo]
    try:
        if todo:
            if models is None:
                from photoface.core.learning.versions import face_models  # the library's active model

                models = face_models(library)
            _process_all(library, models, todo, report, progress, cancel, workers)
    except Cancelled:
        report.cancelled = True
        raise
    finally:
        report.seconds = time.perf_counter() - started
    for p in plans:
        if p.online:
            library.mark_root_scanned(p.root_id)
    return report


def _is_within(root: bytes, folder: bytes) -> bool:
    return root == folder or root.startswith(folder.rstrip(b"/") + b"/")


def _record_walk_results(library: Library, plans: list[RootPlan], report: ScanReport) -> None:
    with library.transaction() as con:
        for p in plans:
            report.unchanged += p.unchanged
            for f in p.unsupported:
                library.record_file(con, p.root_id, f.path, f.size, f.mtime_ns, status="unsupported",
                                    error="unsupported format (RAW)")
            for path, reason in p.errors:
                library.record_file(con, p.root_id, path, 0, 0, status="error", error=reason)
                log.warning("%s: %s", display_path(path), reason)
            report.unsupported += len(p.unsupported)
            report.errors += len(p.errors)
    gone = [path for p in plans for path in p.gone]
    if gone:
        report.gone = library.forget_locations(gone)


def _process_all(library: Library, models: FaceModels, todo: list[tuple[int, FoundFile]],
                 report: ScanReport, progress: ProgressFn | None, cancel: threading.Event | None,
                 workers: int) -> None:
    known_sha = {sha for (sha,) in library.con.execute("SELECT sha256 FROM photos")}
    committer = _Committer(library, models, report)
    total, done, last_report = len(todo), 0, 0.0
    t_start = time.perf_counter()
    in_flight: deque[tuple[int, Future]] = deque()
    ahead = max(4, workers * 4)  # bounded: memory stays flat however many files there are
    items = iter(todo)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photoface-detect") as pool:
        try:
            while True:
                while len(in_flight) < ahead:
                    nxt = next(items, None)
                    if nxt is None:
                        break
                    in_flight.append((nxt[0], pool.submit(_process_file, models, nxt[1], known_sha)))
                if not in_flight:
                    break
                if cancel is not None and cancel.is_set():
                    raise Cancelled("scan cancelled")
                root_id, fut = in_flight.popleft()
                outcome = fut.result()
                for stage, secs in outcome.seconds.items():
                    report.stage_seconds[stage] = report.stage_seconds.get(stage, 0.0) + secs
                committer.add(root_id, outcome)
                done += 1
                now = time.perf_counter()
                if progress is not None and (now - last_report > 0.1 or done == total):
                    last_report = now
                    rate = done / max(now - t_start, 1e-6)
                    progress(ScanProgress(done, total, report.faces_added + committer.pending_faces,
                                          rate, (total - done) / rate if rate > 0 else None,
                                          display_path(outcome.file.path)))
        finally:
            for _, fut in in_flight:
                fut.cancel()
            committer.flush()  # what was finished is kept, cancelled or not


def add_manual_face(library: Library, models: FaceModels, photo_id: int, box) -> int:
    """Adds a face the detector missed, from a box the user drew (original pixels).

    The box is cropped with the margin recipe (no landmarks are known), embedded with the
    active model and stored as a 'manual' face, undecided, ready to be named.

    Returns:
        The new face's id.
    """
    from photoface.core.faces.align import align_face, face_thumbnail
    from photoface.core.types import Detection

    paths = library.photo_paths(photo_id)
    if not paths:
        raise ImageDecodeError(f"photo {photo_id}", "no file of this photo is on disk")
    image = imaging.load_image(paths[0])
    x, y, w, h = box.x, box.y, box.w, box.h
    landmarks = np.array([[x + w * .3, y + h * .4], [x + w * .7, y + h * .4], [x + w * .5, y + h * .6],
                          [x + w * .35, y + h * .8], [x + w * .65, y + h * .8]], np.float32)
    det = Detection(box, 1.0, landmarks)
    crop = align_face(image.rgb, det, mode="margin")
    import cv2

    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    face = NewFace(box=box, score=1.0, landmarks=landmarks,
                   sharpness=float(cv2.Laplacian(grey, cv2.CV_64F).var()),
                   thumb_jpeg=encode_jpeg(face_thumbnail(image.rgb, box, int(models.settings["thumb_px"])), 90),
                   crop_jpeg=encode_jpeg(crop, int(models.settings["crop_jpeg_quality"])),
                   embedding=models.embedder.embed(crop[None])[0], source="manual")
    with library.transaction() as con:
        return library.insert_face(con, photo_id, face, models.model_version, time.time())
