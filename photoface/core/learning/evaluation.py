"""Ground truth from labelled datasets (`<set>/<identity>/<photo>`), for tests and benchmarks.

The labelled face of a photo is its detected face with the largest
area / (1 + distance of its centre from the photo's centre / 50), the distance measured in
pixels with the photo's long side scaled to 1024. Photos with no face are left out and counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from photoface.core.library.learning_rows import located_photos
from photoface.core.library.store import Library, decode_path
from photoface.core.types import Box


def labelled_face_index(boxes: list[Box], width: int, height: int) -> int:
    """Index of the labelled face among a photo's detected faces (there must be at least one)."""
    scale = 1024.0 / max(width, height)
    cx, cy = width / 2.0, height / 2.0

    def weight(b: Box) -> float:
        bx, by = b.center
        dist = np.hypot(bx - cx, by - cy) * scale
        return (b.area * scale * scale) / (1.0 + dist / 50.0)

    return int(np.argmax([weight(b) for b in boxes]))


@dataclass
class LabelledFaces:
    """One labelled face per photo that has a face.

    Attributes:
        face_ids: (N,) int64 face ids in the library.
        identities: (N,) identity names (the photo's folder name).
        embeddings: (N, 512) float32 of the requested model version.
        photos: how many photos of the dataset the library knows.
        photos_without_face: how many of those had no face (left out).
    """

    face_ids: np.ndarray
    identities: np.ndarray
    embeddings: np.ndarray
    photos: int
    photos_without_face: int

    @property
    def detection_rate(self) -> float:
        return 1.0 - self.photos_without_face / max(self.photos, 1)

    def identity_codes(self) -> np.ndarray:
        return np.unique(self.identities, return_inverse=True)[1]


def labelled_faces(library: Library, dataset_root: str, model: str) -> LabelledFaces:
    """The labelled faces of every photo under `dataset_root` that the library scanned."""
    root = os.path.abspath(dataset_root)
    rows = located_photos(library)
    face_ids, identities, seen_photos, no_face = [], [], set(), 0
    for raw, photo_id, w, h in rows:
        path = decode_path(raw)
        rel = os.path.relpath(path, root)
        if rel.startswith("..") or os.sep not in rel or photo_id in seen_photos:
            continue
        seen_photos.add(photo_id)
        faces = [f for f in library.faces_of_photo(photo_id) if f.state != "not_face"]
        if not faces:
            no_face += 1
            continue
        best = faces[labelled_face_index([f.box for f in faces], w, h)]
        face_ids.append(best.id)
        identities.append(rel.split(os.sep)[0])
    ids, vecs = library.embeddings(model, face_ids)
    order = {fid: i for i, fid in enumerate(ids)}
    keep = [i for i, fid in enumerate(face_ids) if fid in order]
    return LabelledFaces(
        face_ids=np.asarray([face_ids[i] for i in keep], np.int64),
        identities=np.asarray([identities[i] for i in keep]),
        embeddings=vecs[[order[face_ids[i]] for i in keep]] if keep else np.zeros((0, 512), np.float32),
        photos=len(seen_photos), photos_without_face=no_face)
