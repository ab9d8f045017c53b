"""What every benchmark shares: where the datasets are, `--set`, JSON-lines output, peak RSS."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SMALL_SETS = ("five_celebrity_faces", "lfw_subset", "sports_celebrities")
OUT_DIR = REPO_ROOT / "benchmarks" / "out"  # git-ignored: cached libraries of big sets


def datasets_root() -> Path:
    return Path(os.environ.get("PHOTOFACE_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))


def add_set_argument(parser: argparse.ArgumentParser, default=SMALL_SETS) -> None:
    parser.add_argument("--set", action="append", dest="sets", metavar="NAME",
                        help=f"dataset to run (repeatable; default: {', '.join(default)})")
    parser.set_defaults(default_sets=list(default))


def chosen_sets(args) -> list[tuple[str, Path]]:
    root = datasets_root()
    names = args.sets or args.default_sets
    out = []
    for name in names:
        path = root / name
        if not path.is_dir():
            sys.exit(f"dataset {name!r} not found under {root} (set PHOTOFACE_DATASETS)")
        out.append((name, path))
    return out


def emit(record: dict) -> None:
    """One result, one JSON line: runs can be compared with `diff` or `jq`."""
    print(json.dumps(record, sort_keys=True), flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def dataset_photos(folder: Path) -> list[tuple[Path, str]]:
    """(path, identity) of every photo of a labelled set, in a fixed order."""
    exts = {".jpg", ".jpeg", ".png"}
    return [(p, p.relative_to(folder).parts[0]) for p in sorted(folder.rglob("*"))
            if p.suffix.lower() in exts and len(p.relative_to(folder).parts) == 2]


def keep_only_identities(lib, folder: Path, identities: set[str]) -> None:
    """Forgets every photo of the set outside `identities` (a smaller library of the same scan).

    Args:
        lib: an open `photoface.core.library.store.Library` (a scratch copy: this deletes rows).
        folder: the set's folder, one sub-folder per identity.
        identities: the sub-folder names to keep.
    """
    from photoface.core.library.store import decode_path

    root = os.path.abspath(folder)
    drop = []
    for loc_id, raw in lib.con.execute("SELECT id, path FROM locations").fetchall():
        rel = os.path.relpath(decode_path(raw), root)
        if rel.startswith("..") or rel.split(os.sep)[0] not in identities:
            drop.append((loc_id,))
    with lib.transaction() as con:
        con.executemany("DELETE FROM locations WHERE id = ?", drop)
        con.execute("DELETE FROM photos WHERE id NOT IN (SELECT photo_id FROM locations "
                    "WHERE photo_id IS NOT NULL)")
