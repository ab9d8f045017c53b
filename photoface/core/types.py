"""Plain value types shared by every stage. Boxes are in pixels of the EXIF-corrected original."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Order of the five MTCNN landmarks everywhere in photoface.
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass(frozen=True)
class Box:
    """An axis-aligned box: top-left corner (x, y), width w and height h, in pixels."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    def iou(self, other: "Box") -> float:
        """Intersection over union, 0.0 for disjoint boxes."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def scaled(self, factor: float) -> "Box":
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)


@dataclass(frozen=True)
class Detection:
    """One face found by MTCNN.

    Attributes:
        box: the face box in original pixels (EXIF orientation applied).
        score: detector confidence in [0, 1], a Python float.
        landmarks: float32 array of shape (5, 2), (x, y) pixels, in LANDMARK_NAMES order.
    """

    box: Box
    score: float
    landmarks: np.ndarray


@dataclass
class NewFace:
    """A detected face ready to be stored (the scanner fills it, the store writes it)."""

    box: Box
    score: float
    landmarks: np.ndarray  # (5, 2) float32
    sharpness: float
    thumb_jpeg: bytes
    crop_jpeg: bytes
    embedding: np.ndarray | None = None  # (512,) float32
    source: str = "detector"
    crop: np.ndarray | None = None  # the aligned (160, 160, 3) uint8 crop, until it is embedded


@dataclass
class NewPhoto:
    """A decoded photo and its faces, written in one go with its location."""

    sha256: str
    width: int
    height: int
    taken_at: str | None
    detector: str
    faces: list[NewFace]
