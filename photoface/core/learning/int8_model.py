"""A library's own INT8 FaceNet: built once from its stored faces, kept with the library.

`faces/quantize.build_int8` needs aligned faces to measure activation ranges on. The benchmark
(`python -m benchmarks.int8`) calibrates on lfw people; a user's library has no shared sets, but it
has every face's aligned crop, the very faces the model will see, so those calibrate it.

The file lives in `library.models_dir / <weights id> /` rather than the model cache: its ranges come
from this library's faces, and every `:int8` embedding the library stores must come from the same
file (a cache that was cleared and rebuilt from another library's faces would give slightly
different vectors under the same version). Discarding a fine-tuned model removes it with the folder.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from photoface.core.errors import Cancelled, PhotofaceError
from photoface.core.faces.embed import CROP_SIZE
from photoface.core.library.learning_rows import every_face
from photoface.core.library.store import Library

log = logging.getLogger(__name__)

CALIBRATION_FACES = 256  # as the benchmark's default; more changes the ranges very little
MIN_CALIBRATION_FACES = 20  # fewer faces give ranges too narrow for the faces scanned later


def int8_model_path(library: Library, weights_id: str) -> Path:
    """Where the library keeps the INT8 model of `weights_id` for its input scaling."""
    scaling = library.get_setting("input_scaling")
    return library.models_dir / weights_id / f"facenet-{scaling}-int8.onnx"


def calibration_crops(library: Library, n: int = CALIBRATION_FACES) -> np.ndarray:
    """Up to n stored crops, spread evenly over the library's faces in id order (so the same
    library gives the same faces): uint8 (n, 160, 160, 3) RGB."""
    from photoface.core.learning.reembed import decode_crop  # it imports versions, which imports this

    ids = every_face(library)
    chosen = ids[::max(1, len(ids) // n)][:n]
    if not chosen:
        return np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    return np.stack([decode_crop(library.face_crop(f)) for f in chosen])


def ensure_int8_model(library: Library, weights_id: str, cancel: threading.Event | None = None) -> Path:
    """The library's INT8 model of `weights_id`, quantised first if it has none (about 15 s on a CPU).

    Raises:
        PhotofaceError: the library has fewer than MIN_CALIBRATION_FACES faces to calibrate on.
        Cancelled: `cancel` was set before quantising.
        ModelNotFoundError: the weights file is missing or damaged.
    """
    from photoface.core.faces.embed import FaceEmbedder
    from photoface.core.faces.quantize import build_int8
    from photoface.core.learning.versions import weights_path

    path = int8_model_path(library, weights_id)
    if path.is_file():
        return path
    crops = calibration_crops(library)
    if len(crops) < MIN_CALIBRATION_FACES:
        raise PhotofaceError(f"the 8-bit face model is calibrated on this library's faces and it has "
                             f"{len(crops)}; scan photos with at least {MIN_CALIBRATION_FACES} faces first")
    if cancel is not None and cancel.is_set():
        raise Cancelled("switching to the 8-bit model cancelled before quantising")
    scaling = library.get_setting("input_scaling")
    fp32 = FaceEmbedder(weights=weights_path(library, weights_id), scaling=scaling)
    fp32.load()  # writes (or finds) the FP32 ONNX file that is quantised
    build_int8(fp32.onnx_path, crops, scaling, path)
    log.info("INT8 model of %s calibrated on %d faces of the library", weights_id, len(crops))
    return path
