"""Which faces the background rules (core/library/background.py) mark, on the real datasets.

Each photo of a labelled set has one labelled face, its subject
(`core.learning.evaluation.labelled_faces`): marking it background is a miss; the other faces of
multi-face photos are the bystanders the rules should mark. For each set and each setting of the
grid, one JSON line: faces, unlabelled faces, how many each rule (and any rule) marks, and how many
of those are labelled. The cached scanned libraries (benchmarks/out/libraries) are copied first.

    python -m benchmarks.background [--set NAME ...] [--grid]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks.common import OUT_DIR, add_set_argument, chosen_sets, emit
from photoface.core.learning.evaluation import labelled_faces
from photoface.core.learning.versions import active_version
from photoface.core.library import background
from photoface.core.library.store import Library

ALL_SETS = ("five_celebrity_faces", "lfw_subset", "sports_celebrities", "japanese_actors",
            "turkish_comedians", "indian_cricketers", "african_footballers", "lfw")
DEFAULT = (background.SIZE_RATIO, background.SHARPNESS_RATIO, background.EDGE_MARGIN, background.MAIN_FACE_RATIO)
GRID = [DEFAULT] + [(s, b, e, m) for s in (0.5, 0.6) for b in (0.15, 0.25, 0.35) for e in (0.0, 0.02)
                    for m in (0.8, 1.01) if (s, b, e, m) != DEFAULT]  # 1.01: blur and edge rules on every face


def measure(lib: Library, folder: Path, setting: tuple[float, float, float, float]) -> dict:
    labelled = {int(f) for f in labelled_faces(lib, str(folder), active_version(lib)).face_ids}
    marks = background.rule_marks(lib.con, *setting)
    out = {"faces": len(marks), "unlabelled": sum(1 for m in marks if m[0] not in labelled)}
    for k, name in ((1, "small"), (2, "blurry"), (3, "cut"), (None, "any")):
        hit = [m[0] for m in marks if (any(m[1:]) if k is None else m[k])]
        out[name] = len(hit)
        out[name + "_labelled"] = sum(1 for f in hit if f in labelled)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_set_argument(parser, default=ALL_SETS)
    parser.add_argument("--grid", action="store_true", help="also measure the settings around the default")
    args = parser.parse_args()
    for name, folder in chosen_sets(args):
        src = OUT_DIR / "libraries" / name
        if not (src / "library.sqlite").exists():
            print(f"{name}: no scanned library under {src} (run benchmarks.cluster first)")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(src, Path(tmp) / "lib")
            with Library(Path(tmp) / "lib") as lib:
                for setting in GRID if args.grid else [DEFAULT]:
                    emit({"set": name, "size_ratio": setting[0], "sharpness_ratio": setting[1],
                          "edge_margin": setting[2], "main_face_ratio": setting[3], **measure(lib, folder, setting)})


if __name__ == "__main__":
    main()
