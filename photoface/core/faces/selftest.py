"""`photoface self-test`: a one-line health check of both models, for users and bug reports.

Runs MTCNN and FaceNet on a photo photoface ships (NASA's public-domain portrait of astronaut
Eileen Collins, the one scikit-image carries as `skimage.data.astronaut()`), and checks what
comes out: one face where the face is, five landmarks inside it, a unit 512-d embedding that
barely moves when the photo is mirrored.
"""

from __future__ import annotations

import time

import numpy as np

from photoface.core.faces import imaging
from photoface.core.config import DEFAULTS
from photoface.core.paths import resources_dir

# Where the face is in the 512x512 portrait (x, y of its centre, in pixels), give or take 40 px.
EXPECTED_FACE_CENTRE = (215.0, 130.0)


def run_self_test() -> dict:
    """Returns a dict of checks and figures; `ok` is True when every check passed."""
    from photoface.core.faces.embed import compute_device
    from photoface.core.faces.finder import FaceModels, faces_from_image

    t0 = time.perf_counter()
    photo = resources_dir() / "astronaut.jpg"
    image = imaging.load_image(photo)
    models = FaceModels(dict(DEFAULTS))
    models.load()
    loaded_s = time.perf_counter() - t0
    faces = faces_from_image(models, image.rgb)
    mirrored = faces_from_image(models, np.ascontiguousarray(image.rgb[:, ::-1]))
    checks = {"one_face": len(faces) == 1, "mirrored_one_face": len(mirrored) == 1}
    result = {"photo": str(photo), "faces": len(faces), "device": compute_device(),
              "model": models.model_version, "detector": models.detector().backend_id,
              "load_s": round(loaded_s, 2)}
    if faces and mirrored:
        face = faces[0]
        cx, cy = face.box.center
        checks["face_where_expected"] = bool(np.hypot(cx - EXPECTED_FACE_CENTRE[0], cy - EXPECTED_FACE_CENTRE[1]) < 40)
        lm = face.landmarks
        checks["landmarks_in_box"] = bool(np.all((lm[:, 0] >= face.box.x) & (lm[:, 0] <= face.box.x + face.box.w)
                                                 & (lm[:, 1] >= face.box.y) & (lm[:, 1] <= face.box.y + face.box.h)))
        vecs = models.embedder.embed(np.stack([face.crop, mirrored[0].crop]))
        norms = np.linalg.norm(vecs, axis=1)
        distance = float(np.sum((vecs[0] - vecs[1]) ** 2))
        checks["unit_embedding"] = bool(np.allclose(norms, 1.0, atol=1e-4) and vecs.shape == (2, 512))
        checks["mirror_is_same_person"] = distance < 0.6
        result.update(box=[round(v, 1) for v in (face.box.x, face.box.y, face.box.w, face.box.h)],
                      score=round(face.score, 4), mirror_distance=round(distance, 4))
    result["checks"] = checks
    result["ok"] = all(checks.values())
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result
