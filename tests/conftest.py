"""Shared fixtures: the one way tests find the shared face datasets, and scanned libraries of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SMALL_SETS = ("five_celebrity_faces", "lfw_subset", "sports_celebrities")


def _datasets_root() -> Path:
    return Path(os.environ.get("PHOTOFACE_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The folder of identity-labelled face photo sets (`<set>/<identity>/<file>`)."""
    root = _datasets_root()
    if not root.is_dir():
        pytest.skip(f"face datasets not found at {root} (set PHOTOFACE_DATASETS)")
    return root


def dataset_path(datasets_dir: Path, name: str) -> Path:
    path = datasets_dir / name
    if not path.is_dir():
        pytest.skip(f"dataset {name!r} not found under {datasets_dir}")
    return path
