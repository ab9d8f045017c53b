"""Measures face detection per backend and downscale size on the shared face datasets.

For each set, backend and `max_side`: the share of photos with at least one face, the mean number
of faces per photo, and photos per second (one thread; decoding excluded). Prints one JSON object
per result, then a table. For the ONNX Runtime backend it also prints the time per photo of each
MTCNN step (pyramid resizes, P-Net, R-Net with its crops, O-Net with its crops); the rest of
`ms_per_photo` is box arithmetic and suppression.

    python -m benchmarks.detect [--set NAME] [--backend onnx|keras] [--max-side 512 1024 ...] [--every N]

Datasets are read from $PHOTOFACE_DATASETS (default ../shared/datasets relative to the repo root).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from photoface.core.faces.detect import FaceDetector  # noqa: E402

SETS = ("five_celebrity_faces", "lfw_subset", "sports_celebrities")
IMAGE_EXTS = {".jpg", ".jpeg", ".png"}


def _datasets_root() -> Path:
    return Path(os.environ.get("PHOTOFACE_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))


def _load_set(folder: Path) -> list[np.ndarray]:
    images = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_EXTS:
            with Image.open(path) as im:
                images.append(np.asarray(ImageOps.exif_transpose(im).convert("RGB")))
    return images


def _measure(detector: FaceDetector, images: list[np.ndarray]) -> dict:
    detector.load()
    detector.detect(images[0])  # warm-up: first-call allocations are not throughput
    steps = getattr(detector._net, "seconds", None)
    before = dict(steps) if steps else {}
    counts = []
    start = time.perf_counter()
    for rgb in images:
        counts.append(len(detector.detect(rgb)))
    seconds = time.perf_counter() - start
    step_ms = {k: round(1000 * (v - before[k]) / len(images), 1) for k, v in (steps or {}).items()}
    return {
        "ms_per_photo": round(1000 * seconds / len(images), 1),
        **({"step_ms_per_photo": step_ms} if step_ms else {}),
        "photos": len(images),
        "with_face": round(sum(c > 0 for c in counts) / len(images), 4),
        "faces_per_photo": round(float(np.mean(counts)), 3),
        "photos_per_s": round(len(images) / seconds, 2),
        "seconds": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", choices=SETS, help="run only this set (repeatable)")
    parser.add_argument("--backend", action="append", choices=("onnx", "keras"))
    parser.add_argument("--max-side", type=int, nargs="+", default=[512, 640, 800, 1024, 1600])
    parser.add_argument("--every", type=int, default=1,
                        help="use every N-th photo of each set (big sets at large sizes take minutes)")
    args = parser.parse_args(argv)

    root = _datasets_root()
    rows = []
    for set_name in args.set or SETS:
        images = _load_set(root / set_name)[::args.every]
        longest = max(max(im.shape[:2]) for im in images)
        for backend in args.backend or ("onnx", "keras"):
            detector = FaceDetector(backend=backend)
            for i, max_side in enumerate(sorted(args.max_side)):
                if i > 0 and sorted(args.max_side)[i - 1] >= longest:
                    continue  # no photo is downscaled at either size: the same result again
                detector.max_side = max_side
                row = {"set": set_name, "backend": backend, "max_side": max_side,
                       "largest_photo_px": longest, **_measure(detector, images)}
                print(json.dumps(row), flush=True)
                rows.append(row)

    header = f"{'set':22} {'backend':8} {'max_side':>8} {'photos':>6} {'with_face':>9} {'faces/ph':>8} {'photos/s':>8}"
    print(header)
    for r in rows:
        print(f"{r['set']:22} {r['backend']:8} {r['max_side']:>8} {r['photos']:>6} {r['with_face']:>9.3f} "
              f"{r['faces_per_photo']:>8.3f} {r['photos_per_s']:>8.2f}")


if __name__ == "__main__":
    main()
