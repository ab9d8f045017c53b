"""Face crops for FaceNet and the GUI: aligned 160x160 faces from MTCNN landmarks, and thumbnails."""

from __future__ import annotations

import math

import cv2
import numpy as np

from photoface.core.types import Box, Detection

ALIGN_MODES = ("similarity", "margin")
FACENET_SIZE = 160

# Where the five landmarks (left_eye, right_eye, nose, mouth_left, mouth_right) go in a 160x160 crop,
# in pixels. FaceNet 20180408-102900 was trained on loose MTCNN crops (box + margin, 182 -> 160), so
# this template gives faces the scale and position they have in a margin crop: the mean landmark
# position over the 517 unclipped faces of five_celebrity_faces and lfw_subset, measured in the
# `mode="margin"` crop (margin 44/160 of the box) but with one isotropic scale of the same area
# (a margin crop stretches the narrower MTCNN box horizontally by ~1.1x), made left-right symmetric.
# Eyes end up 47 px apart; the ArcFace 112 px template rescaled to 160 px has them 50 px apart.
TEMPLATE_160 = np.array([
    [56.4, 64.4],
    [103.6, 64.4],
    [80.0, 92.9],
    [58.7, 115.3],
    [101.3, 115.3],
], dtype=np.float32)

# Share of the box's longer side added as margin in "margin" mode, half on each side; davidsandberg's
# align_dataset_mtcnn uses 44 px around faces resized to 160 px.
MARGIN_RATIO = 44.0 / 160.0


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + translation mapping `src` onto `dst` (Umeyama, 1991).

    Args:
        src: (N, 2) points, N >= 2.
        dst: (N, 2) points, in the same order.

    Returns:
        float64 (2, 3) matrix M such that dst ~= src @ M[:, :2].T + M[:, 2]; no reflection.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # would be a reflection: flip the weakest axis
        d[1, 1] = -1.0
    rotation = u @ d @ vt
    src_var = (src_c ** 2).sum() / len(src)
    scale = float(np.trace(np.diag(s) @ d) / src_var) if src_var > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def _warp(rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """warpAffine into a (size, size) crop, area-averaging first when the warp shrinks a lot.

    Bilinear warping alone aliases when a large face (say 800 px) is shrunk to 160 px, so the part of
    the photo that the crop covers is first reduced with INTER_AREA to about the output scale.
    Pixels from outside the photo are black.
    """
    scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    if scale < 0.5:
        # Source region that the output square comes from, with slack so that bilinear sampling
        # at the output's border still finds reduced pixels on both sides.
        inverse = cv2.invertAffineTransform(matrix)
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64)
        src = corners @ inverse.T
        height, width = rgb.shape[:2]
        slack = math.ceil(2.0 / scale)
        x0 = int(max(0, math.floor(src[:, 0].min()) - slack))
        y0 = int(max(0, math.floor(src[:, 1].min()) - slack))
        x1 = int(min(width, math.ceil(src[:, 0].max()) + slack))
        y1 = int(min(height, math.ceil(src[:, 1].max()) + slack))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            region = rgb[y0:y1, x0:x1]
            small_w = max(1, round((x1 - x0) * scale * 2))
            small_h = max(1, round((y1 - y0) * scale * 2))
            small = cv2.resize(region, (small_w, small_h), interpolation=cv2.INTER_AREA)
            # Compose: small pixels -> region pixels -> photo pixels -> output.
            # Pixel centres: small pixel u covers region [u*k, (u+1)*k), centred at (u+0.5)*k - 0.5.
            kx, ky = (x1 - x0) / small_w, (y1 - y0) / small_h
            to_photo = np.array([[kx, 0, x0 + 0.5 * kx - 0.5], [0, ky, y0 + 0.5 * ky - 0.5], [0, 0, 1]])
            matrix = np.vstack([matrix, [0, 0, 1]]) @ to_photo
            matrix, rgb = matrix[:2], small
    return cv2.warpAffine(np.ascontiguousarray(rgb), matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def margin_crop_bounds(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer (x1, y1, x2, y2) of the box widened by MARGIN_RATIO x its longer side, clipped to the photo."""
    half = MARGIN_RATIO * max(box.w, box.h) / 2.0
    x1 = int(round(max(box.x - half, 0.0)))
    y1 = int(round(max(box.y - half, 0.0)))
    x2 = int(round(min(box.x + box.w + half, float(width))))
    y2 = int(round(min(box.y + box.h + half, float(height))))
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def align_face(rgb: np.ndarray, detection: Detection, mode: str = "similarity",
               size: int = FACENET_SIZE) -> np.ndarray:
    """Cuts one face out of a photo as FaceNet input.

    Args:
        rgb: uint8 (H, W, 3) RGB photo the detection was made on.
        detection: the face, with box and landmarks in pixels of `rgb`.
        mode: "similarity" rotates and scales the landmarks onto TEMPLATE_160 (upright faces, outside
            of the photo black); "margin" is davidsandberg's crop: the box widened by
            MARGIN_RATIO x its longer side, clipped to the photo and resized (not rotated, aspect
            not kept).
        size: output side in pixels (default 160); the template scales with it.

    Returns:
        uint8 array of shape (size, size, 3), RGB.
    """
    if mode == "similarity":
        dst = TEMPLATE_160 * (size / FACENET_SIZE)
        matrix = similarity_transform(np.asarray(detection.landmarks, dtype=np.float64), dst)
        return _warp(rgb, matrix, size)
    if mode == "margin":
        height, width = rgb.shape[:2]
        x1, y1, x2, y2 = margin_crop_bounds(detection.box, width, height)
        crop = rgb[y1:y2, x1:x2]
        shrinking = crop.shape[0] > size or crop.shape[1] > size
        return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    raise ValueError(f"unknown align mode {mode!r}; use one of {ALIGN_MODES}")


def face_thumbnail(rgb: np.ndarray, box: Box, size: int = 128, context: float = 1.6) -> np.ndarray:
    """A square, unrotated picture of a face for the GUI.

    Args:
        rgb: uint8 (H, W, 3) RGB photo.
        box: the face box in pixels of `rgb`.
        size: output side in pixels.
        context: side of the square as a multiple of the box's longer side (some hair and chin).

    Returns:
        uint8 (size, size, 3) RGB, centred on the box; parts outside the photo are black.
    """
    cx, cy = box.center
    side = max(box.w, box.h, 1.0) * context
    scale = size / side
    matrix = np.array([[scale, 0.0, size / 2.0 - cx * scale], [0.0, scale, size / 2.0 - cy * scale]])
    return _warp(rgb, matrix, size)
