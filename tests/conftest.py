"""Shared fixtures: the one way tests find the shared face datasets, and scanned libraries of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SMALL_SETS = ("five_celebrity_faces", "lfw_subset", "sports_celebrities")


def _datasets_root() -> Path:
    return Path(os.environ.get("PHOTOFACE_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """Derived model files (FaceNet as ONNX) go to a folder of this session, not the user's cache;
    child processes started by tests inherit it."""
    old = os.environ.get("PHOTOFACE_CACHE")
    os.environ["PHOTOFACE_CACHE"] = str(tmp_path_factory.mktemp("model-cache"))
    yield Path(os.environ["PHOTOFACE_CACHE"])
    if old is None:
        os.environ.pop("PHOTOFACE_CACHE", None)
    else:
        os.environ["PHOTOFACE_CACHE"] = old


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


@pytest.fixture(scope="session")
def face_models():
    """The real MTCNN + FaceNet with the default settings, loaded once per test session."""
    from photoface.core.config import DEFAULTS
    from photoface.core.library.ingest import FaceModels

    models = FaceModels(dict(DEFAULTS))
    models.load()
    return models


@pytest.fixture(scope="session")
def scanned_set(datasets_dir, face_models, tmp_path_factory):
    """scanned_set(name) -> (library folder, dataset folder): each small set scanned once per session.

    The library is shared between tests: open it, read it, but do not change it (copy it first).
    """
    from photoface.core.library.ingest import scan
    from photoface.core.library.store import Library

    cache: dict[str, tuple[Path, Path]] = {}

    def get(name: str) -> tuple[Path, Path]:
        if name not in cache:
            folder = dataset_path(datasets_dir, name)
            lib_dir = tmp_path_factory.mktemp(f"lib-{name}")
            with Library(lib_dir) as lib:
                scan(lib, [str(folder)], models=face_models)
            cache[name] = (lib_dir, folder)
        return cache[name]

    return get


@pytest.fixture
def clustered_copy(scanned_set, tmp_path):
    """clustered_copy(name) -> a private copy of a scanned set's library, grouped into albums."""
    import shutil

    from photoface.core.albums.update import update_albums
    from photoface.core.library.store import Library

    def make(name: str) -> Path:
        lib_dir, _ = scanned_set(name)
        copy = tmp_path / f"lib-{name}"
        shutil.copytree(lib_dir, copy)
        with Library(copy) as lib:
            update_albums(lib, full=True)
        return copy

    return make
