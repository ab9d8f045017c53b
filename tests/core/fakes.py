"""A library filled with synthetic faces, for unit tests of store, review and cluster logic.

Embeddings are unit vectors around a few identity centres; no model runs. Integration tests
use the real models instead.
"""

from __future__ import annotations

import threading

import numpy as np

from photoface.core.library.store import Library
from photoface.core.types import NewFace, NewPhoto
from photoface.core.types import Box

MODEL = "fake:margin:fixed"


def identity_vectors(n_ids: int, per_id: int, noise: float = 0.35, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors (n_ids*per_id, 512) float32 unit, labels) clustered around n_ids centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, 512))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_ids), per_id)
    x = centres[labels] + noise * rng.normal(size=(len(labels), 512)) / np.sqrt(512)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels


def fill_library(lib: Library, vectors: np.ndarray, model: str = MODEL, faces_per_photo: int = 1) -> list[int]:
    """Photos of `faces_per_photo` consecutive vectors each, all present on disk. Returns the face ids."""
    root = lib.add_root("/fake")
    ids = []
    with lib.transaction() as con:
        for i in range(0, len(vectors), faces_per_photo):
            faces = [NewFace(Box(10 + 90 * j, 10, 80, 80), 0.99, np.zeros((5, 2), np.float32), 200.0, b"t", b"c",
                             embedding=v) for j, v in enumerate(vectors[i:i + faces_per_photo])]
            pid, fids = lib.insert_photo(con, NewPhoto(f"{i:064x}", 200, 200, None, "fake", faces), model)
            lib.record_file(con, root, f"/fake/{i}.jpg".encode(), 1, 1, photo_id=pid)
            ids.extend(fids)
    return ids


def face_state(lib: Library) -> dict:
    """Everything the review actions may change, for exact before/after comparisons."""
    con = lib.con
    return {
        "faces": con.execute("SELECT id, person_id, state FROM faces ORDER BY id").fetchall(),
        "persons": con.execute("SELECT id, name, hidden, cover_face_id FROM persons ORDER BY id").fetchall(),
        "rejections": con.execute("SELECT * FROM rejections ORDER BY 1, 2").fetchall(),
        "not_same": con.execute("SELECT * FROM not_same_person ORDER BY 1, 2").fetchall(),
    }


def cancel_after_first_batch():
    """(cancel event, progress callback) that asks a resumable job to stop once a batch is done."""
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    return cancel, progress
