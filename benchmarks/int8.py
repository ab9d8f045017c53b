"""FaceNet INT8 (ONNX Runtime static QDQ) against FP32: verification AUC and speed on every shared set.

    python -m benchmarks.int8 [--set NAME ...] [--calibration-faces 256] [--write]
                              [--calibrate-on lfw|library]

Calibration faces come from lfw photos of people outside lfw_subset, so no evaluated set's faces
calibrate the model (lfw itself is then not evaluated: too big to scan here in minutes). With
`--calibrate-on library` each set's model is calibrated instead as the app calibrates it
(core/learning/int8_model.py): on up to `--calibration-faces` stored crops of that set's own
scanned library (benchmarks/out/libraries, every face, bystanders too), the faces it then embeds. Prints one
JSON line per set: set, faces, auc_fp32, auc_int8, faces_per_s_fp32, faces_per_s_int8 (this
process, same crops, batches of 32). `--write` also installs the INT8 model where `FaceEmbedder(
precision="int8")` looks for it (beside the shipped FP32 ONNX in the model cache).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import add_set_argument, chosen_sets, dataset_photos, datasets_root, emit

ALL_SETS = ("five_celebrity_faces", "lfw_subset", "sports_celebrities", "japanese_actors",
            "turkish_comedians", "indian_cricketers", "african_footballers")


def labelled_crops(folder: Path, models, max_photos: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The labelled face of each photo, aligned as the scanner does: uint8 crops and identity codes."""
    from photoface.core.faces.align import align_face
    from photoface.core.faces.imaging import load_image
    from photoface.core.learning.evaluation import labelled_face_index

    photos = dataset_photos(folder)
    if max_photos:
        photos = photos[::max(1, len(photos) // max_photos)][:max_photos]
    crops, identities = [], []
    for path, identity in photos:
        try:
            rgb = load_image(path).rgb
        except Exception:  # a photo the scanner would record as an error
            continue
        dets = models.detector().detect(rgb)
        if not dets:
            continue
        h, w = rgb.shape[:2]
        det = dets[labelled_face_index([d.box for d in dets], w, h)]
        crops.append(align_face(rgb, det, mode=models.align_mode))
        identities.append(identity)
    return np.stack(crops), np.unique(np.asarray(identities), return_inverse=True)[1]


def calibration_crops(models, n: int) -> np.ndarray:
    """n aligned faces of lfw people who are not in lfw_subset (one photo each, fixed order)."""
    root = datasets_root()
    excluded = {p.name for p in (root / "lfw_subset").iterdir()}
    people = [p for p in sorted((root / "lfw").iterdir()) if p.is_dir() and p.name not in excluded]
    step = max(1, len(people) // (n + n // 4))
    photos = [sorted(p.glob("*.jpg"))[0] for p in people[::step] if any(p.glob("*.jpg"))]
    from photoface.core.faces.finder import faces_from_image
    from photoface.core.faces.imaging import load_image

    crops = []
    for path in photos:
        faces = faces_from_image(models, load_image(path).rgb)
        if faces:
            crops.append(faces[0].crop)
        if len(crops) == n:
            break
    return np.stack(crops)


def faces_per_s(embedder, crops: np.ndarray) -> tuple[np.ndarray, float]:
    embedder.embed(crops[:32])  # warm-up
    t0 = time.perf_counter()
    vecs = embedder.embed(crops)
    return vecs, len(crops) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_set_argument(parser, default=ALL_SETS)
    parser.add_argument("--calibration-faces", type=int, default=256)
    parser.add_argument("--max-photos", type=int, default=None, help="evaluate at most this many photos per set")
    parser.add_argument("--write", action="store_true", help="install the INT8 model for precision='int8'")
    parser.add_argument("--calibrate-on", choices=("lfw", "library"), default="lfw",
                        help="lfw people outside lfw_subset (default), or each set's own library as the app does")
    args = parser.parse_args()
    if args.calibrate_on == "library":
        library_calibrated(args)
        return

    from photoface.core import paths
    from photoface.core.config import DEFAULTS
    from photoface.core.faces import facenet_onnx
    from photoface.core.faces.embed import FaceEmbedder
    from photoface.core.faces.finder import FaceModels
    from photoface.core.faces.quantize import build_int8, int8_path
    from photoface.core.learning import metrics

    models = FaceModels(dict(DEFAULTS))
    fp32 = FaceEmbedder(scaling=models.scaling, batch_size=32)
    fp32.load()
    t0 = time.perf_counter()
    calib = calibration_crops(models, args.calibration_faces)
    with tempfile.TemporaryDirectory() as tmp:
        target = int8_path(facenet_onnx.onnx_model_path(None, paths.cache_dir())) if args.write else Path(tmp) / "int8.onnx"
        build_int8(fp32.onnx_path, calib, models.scaling, target)
        emit({"calibration_faces": len(calib), "quantise_s": round(time.perf_counter() - t0, 1),
              "int8_mb": round(target.stat().st_size / 1e6, 1), "fp32_mb": round(fp32.onnx_path.stat().st_size / 1e6, 1),
              "device": fp32.device, "written": str(target) if args.write else None})
        from photoface.core.faces import onnx_runtime

        int8 = FaceEmbedder(scaling=models.scaling, batch_size=32)
        int8._session = onnx_runtime.make_session(target)  # the file just made, wherever it is
        for name, folder in chosen_sets(args):
            crops, labels = labelled_crops(folder, models, args.max_photos)
            v32, fps32 = faces_per_s(fp32, crops)
            v8, fps8 = faces_per_s(int8, crops)
            emit({"set": name, "faces": len(crops),
                  "auc_fp32": round(metrics.roc_auc_same_vs_different(v32, labels), 4),
                  "auc_int8": round(metrics.roc_auc_same_vs_different(v8, labels), 4),
                  "faces_per_s_fp32": round(fps32, 1), "faces_per_s_int8": round(fps8, 1),
                  "max_abs_diff": round(float(np.abs(v32 - v8).max()), 4)})


def library_calibrated(args) -> None:
    """Each set's INT8 model calibrated on its own library's stored crops, as the app does."""
    import shutil

    from benchmarks.cluster import scanned_library
    from photoface.core.config import DEFAULTS
    from photoface.core.faces import onnx_runtime
    from photoface.core.faces.embed import FaceEmbedder
    from photoface.core.faces.finder import FaceModels
    from photoface.core.faces.quantize import build_int8
    from photoface.core.learning import metrics
    from photoface.core.learning.int8_model import calibration_crops as library_crops
    from photoface.core.library.store import Library

    models = FaceModels(dict(DEFAULTS))
    fp32 = FaceEmbedder(scaling=models.scaling, batch_size=32)
    fp32.load()
    for name, folder in chosen_sets(args):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(scanned_library(name, folder), Path(tmp) / "lib")  # never write the cache
            with Library(Path(tmp) / "lib") as lib:
                calib = library_crops(lib, args.calibration_faces)
            t0 = time.perf_counter()
            target = Path(tmp) / "int8.onnx"
            build_int8(fp32.onnx_path, calib, models.scaling, target)
            quantise_s = time.perf_counter() - t0
            int8 = FaceEmbedder(scaling=models.scaling, batch_size=32)
            int8._session = onnx_runtime.make_session(target)
            crops, labels = labelled_crops(folder, models, args.max_photos)
            v32, fps32 = faces_per_s(fp32, crops)
            v8, fps8 = faces_per_s(int8, crops)
            emit({"set": name, "calibrated_on": "its own library", "calibration_faces": len(calib),
                  "quantise_s": round(quantise_s, 1), "faces": len(crops),
                  "auc_fp32": round(metrics.roc_auc_same_vs_different(v32, labels), 4),
                  "auc_int8": round(metrics.roc_auc_same_vs_different(v8, labels), 4),
                  "faces_per_s_fp32": round(fps32, 1), "faces_per_s_int8": round(fps8, 1),
                  "max_abs_diff": round(float(np.abs(v32 - v8).max()), 4)})


if __name__ == "__main__":
    main()
