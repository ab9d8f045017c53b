"""Re-embedding every face from its stored aligned crop, for a change of model.

Each face row keeps its aligned 160x160 crop as a JPEG, so a new model needs no photo: decode the
crop, embed it, store the vector under the new model version. Batches are committed one by one and
faces that already have an embedding of the target version are skipped, so a cancelled or crashed
run resumes where it stopped. Nothing here switches the active model (see `core/learning/versions.py`).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import numpy as np

from photoface.core.faces.embed import CROP_SIZE, FaceEmbedder
from photoface.core.errors import Cancelled, StoreError
from photoface.core.learning.versions import target_version, weights_path
from photoface.core.library.learning_rows import faces_missing
from photoface.core.library.store import Library

log = logging.getLogger(__name__)


def decode_crop(jpeg: bytes) -> np.ndarray:
    """A stored crop as the network's input.

    Args:
        jpeg: the JPEG bytes of `Library.face_crop` (written by the scanner from an RGB crop).

    Returns:
        uint8 (160, 160, 3) RGB.

    Raises:
        StoreError: the bytes are not a 160x160 colour JPEG (a damaged library).
    """
    import cv2

    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape != (CROP_SIZE, CROP_SIZE, 3):
        shape = None if bgr is None else bgr.shape
        raise StoreError(f"a stored face crop cannot be decoded (got {shape}); re-scan the photo")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def reembed(library: Library, weights_id: str,
            progress: Callable[[int, int], None] | None = None,
            cancel: threading.Event | None = None,
            batch_size: int = 64, embedder: FaceEmbedder | None = None,
            precision: str | None = None) -> int:
    """Embeds every face that has no embedding of the target model version yet.

    Args:
        library: the open library (this thread's connection).
        weights_id: "shipped" or a model id under `library.models_dir`.
        progress: called with (faces done, faces to do) after each committed batch.
        cancel: set it to stop between batches; what was committed stays (resumable).
        batch_size: faces per forward pass and per transaction.
        embedder: an already loaded embedder of those weights and precision (default: one is made).
        precision: "fp32" or "int8" (default: the library's `embed_precision`); a switch of
            precision re-embeds with the target one before the setting changes.

    Returns:
        How many faces were embedded.

    Raises:
        Cancelled: `cancel` was set.
        ModelNotFoundError: the weights file is missing or damaged.
        PhotofaceError: INT8 asked of a library with too few faces to calibrate it on.
    """
    precision = precision or library.get_setting("embed_precision")
    version = target_version(library, weights_id, precision)
    todo = faces_missing(library, version)
    if progress is not None:
        progress(0, len(todo))
    if not todo:
        return 0
    if embedder is None:
        int8_file = None
        if precision == "int8":
            from photoface.core.learning.int8_model import ensure_int8_model

            int8_file = ensure_int8_model(library, weights_id, cancel)
        embedder = FaceEmbedder(weights=weights_path(library, weights_id),
                                scaling=library.get_setting("input_scaling"), batch_size=32,
                                precision=precision, int8_file=int8_file)
    done = 0
    for start in range(0, len(todo), batch_size):
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"re-embedding cancelled after {done} of {len(todo)} faces")
        ids = todo[start:start + batch_size]
        crops = np.stack([decode_crop(library.face_crop(f)) for f in ids])
        vecs = embedder.embed(crops)
        with library.transaction() as con:
            for fid, vec in zip(ids, vecs):
                library.put_embedding(con, fid, version, vec)
        done += len(ids)
        if progress is not None:
            progress(done, len(todo))
    log.info("re-embedded %d faces as %s", done, version)
    return done
