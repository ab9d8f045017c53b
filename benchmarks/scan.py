"""Scan throughput and embedding quality: photoface's pipeline against the reference, in one process.

The reference is the classic recipe: `mtcnn` (Keras) at long side 1024, the box widened by
44/160 x max(w, h), resized to 160x160, prewhitened, the original frozen FaceNet graph one face at
a time, one photo at a time, nothing overlapped. Both are timed after their models are loaded.

    python -m benchmarks.scan [--set NAME ...] [--skip-reference] [--compare-preprocessing]
                              [--compare-draft] [--rescan-lfw] [--workers N]

Prints one JSON object per result and a table. Quality is the ROC AUC of same- vs
different-identity distances over each photo's labelled face (see photoface.core.learning.evaluation).
Stage times are seconds summed over the threads that ran them (decode, detect and align in the
workers; embed and store in the committing thread), so they can add up to more than the wall time;
`stage_ms_per_photo` divides them by the photos.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from benchmarks.common import OUT_DIR, add_set_argument, chosen_sets, dataset_photos, datasets_root, emit, peak_rss_mb
from photoface.core.learning import metrics
from photoface.core.config import DEFAULTS
from photoface.core.learning.evaluation import labelled_face_index, labelled_faces
from photoface.core.library.ingest import FaceModels, scan
from photoface.core.library.store import Library
from photoface.core.faces.verify import best_threshold


def _load_rgb(path) -> np.ndarray:
    from photoface.core.faces.imaging import load_image

    return load_image(path).rgb


def run_photoface(name: str, folder, models: FaceModels, workers: int, label: str = "photoface") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        with Library(tmp) as lib:
            t0, cpu0 = time.perf_counter(), time.process_time()
            report = scan(lib, [str(folder)], models=models, workers=workers)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            lf = labelled_faces(lib, str(folder), models.model_version)
    labels = lf.identity_codes()
    d_same, d_diff = metrics.pair_distances(lf.embeddings, labels)
    threshold, accuracy = best_threshold(np.concatenate([d_same, d_diff]),
                                         np.concatenate([np.ones(len(d_same)), np.zeros(len(d_diff))]))
    stage_total = sum(report.stage_seconds.values()) or 1.0
    photos = report.new_photos + report.known_content
    return {
        "set": name, "pipeline": label, "workers": workers,
        "photos": photos, "faces": report.faces_added, "errors": report.errors,
        "seconds": round(seconds, 2),
        # CPU seconds of every thread: on a busy shared machine a steadier figure than photos/s.
        "cpu_ms_per_photo": round(1000 * cpu / max(photos, 1), 1),
        "photos_per_s": round(photos / seconds, 3), "faces_per_s": round(report.faces_added / seconds, 3),
        "detection_rate": round(lf.detection_rate, 4),
        "auc": round(metrics.roc_auc_same_vs_different(lf.embeddings, labels), 4),
        "verify_threshold": round(threshold, 4), "verify_accuracy": round(accuracy, 4),
        "stage_share": {k: round(v / stage_total, 3) for k, v in sorted(report.stage_seconds.items())},
        "stage_seconds": {k: round(v, 2) for k, v in sorted(report.stage_seconds.items())},
        "stage_ms_per_photo": {k: round(1000 * v / max(photos, 1), 1)
                               for k, v in sorted(report.stage_seconds.items())},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


class Reference:
    """The classic one-at-a-time recipe, with the original frozen graph."""

    def __init__(self):
        from photoface.core.faces.detect import FaceDetector
        from photoface.core.faces.facenet import FrozenFaceNet

        self.detector = FaceDetector(backend="keras", max_side=1024, min_face_px=20, min_score=0.9)
        self.detector.load()
        self.facenet = FrozenFaceNet()

    def run(self, name: str, folder) -> dict:
        from photoface.core.faces.align import align_face
        from photoface.core.faces.embed import scale_crops

        photos = dataset_photos(folder)
        stage = {"decode": 0.0, "detect": 0.0, "align": 0.0, "embed": 0.0}
        vectors, identities, faces, no_face = [], [], 0, 0
        t_start, cpu_start = time.perf_counter(), time.process_time()
        for path, identity in photos:
            t0 = time.perf_counter()
            rgb = _load_rgb(path)
            t1 = time.perf_counter()
            dets = self.detector.detect(rgb)
            t_detect = time.perf_counter()
            crops = [align_face(rgb, d, mode="margin") for d in dets]
            t2 = time.perf_counter()
            embs = [self.facenet.embed_one(scale_crops(c[None], "prewhiten")[0]) for c in crops]
            t3 = time.perf_counter()
            stage["decode"] += t1 - t0
            stage["detect"] += t_detect - t1
            stage["align"] += t2 - t_detect
            stage["embed"] += t3 - t2
            faces += len(dets)
            if not dets:
                no_face += 1
                continue
            h, w = rgb.shape[:2]
            vectors.append(embs[labelled_face_index([d.box for d in dets], w, h)])
            identities.append(identity)
        seconds, cpu = time.perf_counter() - t_start, time.process_time() - cpu_start
        labels = np.unique(np.asarray(identities), return_inverse=True)[1]
        total = sum(stage.values())
        return {
            "set": name, "pipeline": "reference", "photos": len(photos), "faces": faces,
            "seconds": round(seconds, 2),
            "cpu_ms_per_photo": round(1000 * cpu / len(photos), 1),
            "photos_per_s": round(len(photos) / seconds, 3), "faces_per_s": round(faces / seconds, 3),
            "detection_rate": round(1 - no_face / len(photos), 4),
            "auc": round(metrics.roc_auc_same_vs_different(np.asarray(vectors), labels), 4),
            "stage_share": {k: round(v / total, 3) for k, v in stage.items()},
            "stage_seconds": {k: round(v, 2) for k, v in stage.items()},
            "stage_ms_per_photo": {k: round(1000 * v / len(photos), 1) for k, v in stage.items()},
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }


def compare_preprocessing(name: str, folder, models: FaceModels) -> list[dict]:
    """AUC of the labelled faces for each alignment mode x input scaling, same detections."""
    from photoface.core.faces.align import align_face
    from photoface.core.faces.embed import FaceEmbedder

    crops = {"similarity": [], "margin": []}
    identities = []
    for path, identity in dataset_photos(folder):
        rgb = _load_rgb(path)
        dets = models.detector().detect(rgb)
        if not dets:
            continue
        h, w = rgb.shape[:2]
        det = dets[labelled_face_index([d.box for d in dets], w, h)]
        for mode in crops:
            crops[mode].append(align_face(rgb, det, mode=mode))
        identities.append(identity)
    labels = np.unique(np.asarray(identities), return_inverse=True)[1]
    out = []
    for scaling in ("fixed", "prewhiten"):
        embedder = FaceEmbedder(scaling=scaling)
        for mode, stack in crops.items():
            vecs = embedder.embed(np.stack(stack))
            out.append({"set": name, "align_mode": mode, "input_scaling": scaling,
                        "auc": round(metrics.roc_auc_same_vs_different(vecs, labels), 4),
                        "faces": len(stack)})
    return out


def rescan_lfw(models_settings: dict) -> dict:
    """Times a re-scan of the unchanged lfw set (the library is built once and kept in benchmarks/out)."""
    folder = datasets_root() / "lfw"
    lib_dir = OUT_DIR / "libraries" / "lfw"
    if not (lib_dir / "library.sqlite").exists():
        with Library(lib_dir) as lib:
            t0 = time.perf_counter()
            first = scan(lib, [str(folder)], workers=1)
            emit({"set": "lfw", "pipeline": "photoface", "first_scan_s": round(time.perf_counter() - t0, 1),
                  "photos": first.new_photos, "faces": first.faces_added})
    scan_lib = Library(lib_dir)  # warm the file cache once, untimed
    scan(scan_lib, None)
    scan_lib.close()
    t0 = time.perf_counter()
    with Library(lib_dir) as lib:
        report = scan(lib, None)
    seconds = time.perf_counter() - t0
    return {"set": "lfw", "rescan_s": round(seconds, 3), "unchanged": report.unchanged,
            "rescan_photos_per_s": round(report.unchanged / seconds, 1), "new_photos": report.new_photos}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_set_argument(parser)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--compare-preprocessing", action="store_true",
                        help="only print AUC for each alignment mode x input scaling")
    parser.add_argument("--rescan-lfw", action="store_true", help="only time a re-scan of unchanged lfw")
    parser.add_argument("--compare-draft", action="store_true",
                        help="only scan each set twice: JPEG draft decoding on, then off (full size)")
    args = parser.parse_args()

    settings = dict(DEFAULTS)
    if args.rescan_lfw:
        emit(rescan_lfw(settings))
        return
    models = FaceModels(settings)
    models.load()
    if args.compare_draft:
        draft, full = FaceModels(dict(settings, jpeg_draft=True)), FaceModels(dict(settings, jpeg_draft=False))
        draft.load()
        full.load()
        for name, folder in chosen_sets(args):
            emit(run_photoface(name, folder, draft, args.workers, label="draft"))
            emit(run_photoface(name, folder, full, args.workers, label="full-decode"))
        return
    if args.compare_preprocessing:
        for name, folder in chosen_sets(args):
            for rec in compare_preprocessing(name, folder, models):
                emit(rec)
        return
    reference = None if args.skip_reference else Reference()
    rows = []
    for name, folder in chosen_sets(args):
        ours = run_photoface(name, folder, models, args.workers)
        emit(ours)
        rows.append(ours)
        if reference is not None:
            ref = reference.run(name, folder)
            emit(ref)
            rows.append(ref)
            emit({"set": name, "speedup_photos_per_s": round(ours["photos_per_s"] / ref["photos_per_s"], 2),
                  "cpu_per_photo_ratio": round(ref["cpu_ms_per_photo"] / ours["cpu_ms_per_photo"], 2),
                  "auc_photoface": ours["auc"], "auc_reference": ref["auc"]})
    stages = ("decode", "detect", "align", "embed", "store")
    print(f"\n{'set':22} {'pipeline':10} {'photos/s':>9} {'faces/s':>8} {'det.rate':>8} {'AUC':>7} "
          + " ".join(f"{s:>7}" for s in stages) + f" {'cpu ms':>7} {'peak MB':>8}   (stages, cpu: ms per photo)")
    for r in rows:
        per_stage = " ".join(f"{r['stage_ms_per_photo'].get(s, 0.0):7.1f}" for s in stages)
        print(f"{r['set']:22} {r['pipeline']:10} {r['photos_per_s']:9.2f} {r['faces_per_s']:8.2f} "
              f"{r['detection_rate']:8.3f} {r['auc']:7.4f} {per_stage} {r['cpu_ms_per_photo']:7.0f} "
              f"{r['peak_rss_mb']:8.0f}")


if __name__ == "__main__":
    main()
