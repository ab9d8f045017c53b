"""Pixels to faces: the detector, the aligner and the embedder in use, and what they make of an image.

Nothing here knows the library: `library.ingest` stores what `faces_from_image` returns, and
`learning.versions.face_models` builds the FaceModels a library's settings and model ask for.
"""

from __future__ import annotations

import threading

import numpy as np

from photoface.core.config import model_version
from photoface.core.types import NewFace


class FaceModels:
    """The detector, aligner and embedder in use, configured from the library's settings.

    Detectors are made per worker thread (OpenCV DNN networks are not safe to share between
    threads); the embedder is one, used by the committing thread only.
    """

    def __init__(self, settings: dict, weights_path=None, weights_id: str = "shipped", int8_file=None):
        from photoface.core.faces.embed import FaceEmbedder  # light: ONNX Runtime loads in load()

        self.settings = settings
        self.align_mode = settings["align_mode"]
        self.scaling = settings["input_scaling"]
        self.precision = settings.get("embed_precision", "fp32")
        self.embedder = FaceEmbedder(weights=weights_path, scaling=self.scaling,
                                     batch_size=int(settings["embed_batch_size"]), precision=self.precision,
                                     int8_file=int8_file)
        self.model_version = model_version(weights_id, self.align_mode, self.scaling, self.precision)
        self._local = threading.local()

    def detector(self):
        det = getattr(self._local, "detector", None)
        if det is None:
            from photoface.core.faces.detect import FaceDetector

            s = self.settings
            det = FaceDetector(backend=s["detector_backend"], max_side=int(s["detect_max_side"]),
                               min_face_px=int(s["min_face_px"]),
                               min_score=float(s["min_detection_score"]))
            det.load()
            self._local.detector = det
        return det

    @property
    def detector_id(self) -> str:
        s = self.settings
        return (f"{s['detector_backend']}:{s['detect_max_side']}:{s['min_face_px']}:"
                f"{s['min_detection_score']}")

    def load(self) -> None:
        self.detector()
        self.embedder.load()


def faces_from_image(models: FaceModels, rgb: np.ndarray, seconds: dict | None = None) -> list[NewFace]:
    """Detects and aligns every face of an RGB image; embeddings are filled in later, in batches.

    Boxes and landmarks are in pixels of `rgb`. `seconds`, when given, gains the time spent in
    "detect" and in "align" (crops, thumbnails, their JPEGs).
    """
    import time

    import cv2

    from photoface.core.faces.align import align_face, face_thumbnail

    quality = int(models.settings["crop_jpeg_quality"])
    thumb_px = int(models.settings["thumb_px"])
    t0 = time.perf_counter()
    detections = models.detector().detect(rgb)
    t1 = time.perf_counter()
    faces = []
    for det in detections:
        crop = align_face(rgb, det, mode=models.align_mode)
        thumb = face_thumbnail(rgb, det.box, size=thumb_px)
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        faces.append(NewFace(
            box=det.box, score=float(det.score), landmarks=det.landmarks,
            sharpness=float(cv2.Laplacian(grey, cv2.CV_64F).var()),
            thumb_jpeg=encode_jpeg(thumb, 90), crop_jpeg=encode_jpeg(crop, quality),
            crop=crop))
    if seconds is not None:
        seconds["detect"] = seconds.get("detect", 0.0) + t1 - t0
        seconds["align"] = seconds.get("align", 0.0) + time.perf_counter() - t1
    return faces


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """An RGB image as JPEG bytes (thumbnails and aligned crops)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()



