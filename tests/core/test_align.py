"""align_face and face_thumbnail on synthetic images and landmarks (no model)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from photoface.core.faces.align import (
    MARGIN_RATIO,
    TEMPLATE_160,
    align_face,
    face_thumbnail,
    margin_crop_bounds,
    similarity_transform,
)
from photoface.core.types import Box, Detection


def _rotate_scale(points: np.ndarray, angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (points @ rot.T) * scale + np.array(shift)


def _dot_image(points: np.ndarray, radius: float, shape=(600, 800, 3)) -> np.ndarray:
    """Black image with a red disc of `radius` pixels around each point."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    img = np.zeros(shape, dtype=np.uint8)
    for x, y in points:
        img[(xx - x) ** 2 + (yy - y) ** 2 <= radius ** 2, 0] = 255
    return img


def test_similarity_transform_recovers_rotation_scale_shift():
    src = TEMPLATE_160.astype(np.float64)
    dst = _rotate_scale(src, 23.0, 2.5, (310.0, -40.0))
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(src @ m[:, :2].T + m[:, 2], dst, atol=1e-9)
    assert math.isclose(math.sqrt(np.linalg.det(m[:, :2])), 2.5, rel_tol=1e-9)


@pytest.mark.parametrize("angle, scale", [(0.0, 1.0), (-30.0, 3.0), (15.0, 0.6), (170.0, 5.0)])
def test_similarity_puts_landmarks_on_the_template(angle, scale):
    # A face rotated and scaled in the photo; the aligned crop must show its dots at template places.
    landmarks = _rotate_scale(TEMPLATE_160 - 80.0, angle, scale, (400.0, 300.0)).astype(np.float32)
    rgb = _dot_image(landmarks, radius=2.0 * max(scale, 1.0))  # at least 2 px in the crop
    det = Detection(box=Box(0.0, 0.0, 10.0, 10.0), score=1.0, landmarks=landmarks)
    crop = align_face(rgb, det, mode="similarity", size=160)
    assert crop.shape == (160, 160, 3) and crop.dtype == np.uint8
    for x, y in TEMPLATE_160:
        xi, yi = int(round(x)), int(round(y))
        assert crop[yi, xi, 0] > 200, (x, y)


def test_similarity_crop_of_a_uniform_photo_and_other_sizes():
    rgb = np.full((300, 300, 3), 200, dtype=np.uint8)
    det = Detection(box=Box(100, 100, 100, 100), score=1.0,
                    landmarks=(TEMPLATE_160 * 100 / 160 + 100).astype(np.float32))
    crop = align_face(rgb, det, size=112)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    assert np.all(np.abs(crop[5:-5, 5:-5].astype(int) - 200) <= 1)


def test_margin_crop_bounds_math():
    box = Box(100.0, 50.0, 80.0, 100.0)
    half = MARGIN_RATIO * 100.0 / 2  # 13.75 px each side, from the longer side (h)
    assert margin_crop_bounds(box, 1000, 1000) == (
        round(100 - half), round(50 - half), round(180 + half), round(150 + half))
    # Clipped at the photo's edges.
    assert margin_crop_bounds(Box(5.0, 2.0, 80.0, 100.0), 90, 100) == (0, 0, 90, 100)


def test_margin_mode_resizes_the_clipped_crop():
    rgb = np.zeros((400, 400, 3), dtype=np.uint8)
    box = Box(100.0, 100.0, 160.0, 160.0)
    x1, y1, x2, y2 = margin_crop_bounds(box, 400, 400)
    rgb[y1:y2, x1:x2] = 255  # the crop area is white, the rest black
    det = Detection(box=box, score=1.0, landmarks=np.zeros((5, 2), np.float32))
    crop = align_face(rgb, det, mode="margin")
    assert crop.shape == (160, 160, 3) and crop.dtype == np.uint8
    assert crop.min() == 255
    with pytest.raises(ValueError):
        align_face(rgb, det, mode="dlib")


def test_large_face_is_area_averaged_not_aliased():
    # A 1-pixel checkerboard shrunk ~10x must come out mid-grey, which plain bilinear sampling misses.
    rgb = ((np.indices((2000, 2000)).sum(axis=0) % 2) * 255).astype(np.uint8)[..., None].repeat(3, axis=2)
    landmarks = (TEMPLATE_160 * 10 + 200).astype(np.float32)
    det = Detection(box=Box(200, 200, 1600, 1600), score=1.0, landmarks=landmarks)
    crop = align_face(rgb, det)
    assert np.abs(crop.astype(int) - 127).max() < 30


def test_face_thumbnail_is_square_and_centred():
    rgb = np.zeros((300, 500, 3), dtype=np.uint8)
    rgb[100:200, 200:300] = 255
    thumb = face_thumbnail(rgb, Box(200.0, 100.0, 100.0, 100.0), size=128, context=2.0)
    assert thumb.shape == (128, 128, 3) and thumb.dtype == np.uint8
    assert thumb[64, 64].min() == 255 and thumb[5, 5].max() == 0
    assert thumb[32:96, 32:96].min() >= 250
    # A box at the corner: the part outside the photo is black, no error.
    corner = face_thumbnail(rgb, Box(0.0, 0.0, 20.0, 20.0), size=64)
    assert corner.shape == (64, 64, 3)
