"""Are two photos of the same person? The largest face of each, one distance, one threshold."""

from __future__ import annotations

import numpy as np

from photoface.core.errors import PhotofaceError
from photoface.core.faces import imaging
from photoface.core.faces.finder import FaceModels, faces_from_image

# Squared L2 distance between unit embeddings below which two faces are one person, for the
# shipped model with the default preprocessing (shipped:margin:fixed): the best balanced-accuracy
# threshold over all pairs of lfw_subset's labelled faces, 1.342 (balanced accuracy 0.981;
# benchmarks/scan.py prints it as "verify_threshold"). Fine-tuned models store their own.
SHIPPED_THRESHOLD = 1.34


def best_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The distance threshold with the best balanced accuracy on labelled pairs.

    Balanced (the mean of the same-pair and different-pair accuracies) because all pairs of a
    labelled set are mostly different-person pairs, which would otherwise decide alone.

    Returns:
        (threshold, balanced accuracy): pairs with distance < threshold are called the same person.
    """
    order = np.argsort(distances, kind="stable")
    d, s = distances[order], same[order].astype(bool)
    n_same, n_diff = max(np.count_nonzero(s), 1), max(np.count_nonzero(~s), 1)
    # Rates when the first i pairs (smallest distances) are called "same".
    tpr = np.concatenate([[0], np.cumsum(s)]) / n_same
    tnr = (np.count_nonzero(~s) - np.concatenate([[0], np.cumsum(~s)])) / n_diff
    balanced = (tpr + tnr) / 2
    i = int(np.argmax(balanced))
    lo = d[i - 1] if i > 0 else d[0] - 1e-3
    hi = d[i] if i < len(d) else d[-1] + 1e-3
    return float((lo + hi) / 2), float(balanced[i])


def _largest_face_embedding(models: FaceModels, path: str) -> np.ndarray:
    image = imaging.load_image(path)
    faces = faces_from_image(models, image.rgb)
    if not faces:
        raise PhotofaceError(f"{path}: no face found")
    face = max(faces, key=lambda f: f.box.area)
    return models.embedder.embed(face.crop[None])[0]


def verify_photos(models: FaceModels, path_a: str, path_b: str, threshold: float) -> dict:
    """Compares the largest faces of two photos (see `learning.versions.verify_threshold`)."""
    a = _largest_face_embedding(models, path_a)
    b = _largest_face_embedding(models, path_b)
    distance = float(np.sum((a - b) ** 2))
    return {"a": path_a, "b": path_b, "distance": distance, "threshold": threshold,
            "same": distance < threshold, "model": models.model_version}
