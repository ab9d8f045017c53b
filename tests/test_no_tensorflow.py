"""TensorFlow is for learning only: a scan from the command line and the window never import it.

Each check runs in a fresh interpreter (this test session imports TensorFlow elsewhere) whose import
system records every attempt to import `tensorflow` or `keras` and refuses it, so a guarded import
that swallowed the failure would still be caught.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import dataset_path

REPO_ROOT = Path(__file__).resolve().parent.parent

_GUARD = r"""
import json, sys
attempts = []

class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
            attempts.append(name)
            raise ImportError(f"{name} imported on a path that must not use TensorFlow")
        return None

sys.meta_path.insert(0, _Refuse())

def report(rc):
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
    print("GUARD " + json.dumps({"rc": rc, "attempts": attempts, "loaded": loaded}))
"""


def _run(code: str, tmp_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PHOTOFACE_CACHE": str(tmp_path / "cache"),
           "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", _GUARD + code], capture_output=True, text=True,
                         env=env, timeout=600, cwd=tmp_path)
    lines = [line for line in out.stdout.splitlines() if line.startswith("GUARD ")]
    assert lines, out.stdout[-2000:] + out.stderr[-4000:]
    return json.loads(lines[-1][len("GUARD "):]) | {"stderr": out.stderr[-4000:]}


@pytest.mark.model
def test_cli_scan_of_a_folder_never_imports_tensorflow(datasets_dir, tmp_path):
    source = dataset_path(datasets_dir, "five_celebrity_faces")
    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in sorted(source.glob("*/*.jpg"))[:4]:
        (folder / photo.name).write_bytes(photo.read_bytes())
    lib = tmp_path / "lib"
    result = _run(f"""
from photoface.cli import main
rc = main(["--library", {str(lib)!r}, "scan", {str(folder)!r}])
from photoface.core.library.store import Library
with Library({str(lib)!r}) as l:
    faces = l.con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
print("FACES", faces)
report(rc)
""", tmp_path)
    assert result["rc"] == 0, result["stderr"]
    assert result["attempts"] == [] and result["loaded"] == [], result
    # The scan really embedded faces (ONNX Runtime did the work, not a shortcut).
    from photoface.core.library.store import Library
    with Library(lib) as library:
        assert library.con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] >= 3


def test_window_starts_without_tensorflow(tmp_path):
    result = _run(f"""
from PySide6.QtWidgets import QApplication
app = QApplication([])
from photoface.core.library.store import Library
from photoface.gui.main_window import MainWindow
from photoface.gui.settings import ui_settings
win = MainWindow(Library({str(tmp_path / "lib")!r}), ui_settings({str(tmp_path / "ui.ini")!r}), probe_device=False)
win.show()
for _ in range(20):
    app.processEvents()
from photoface.core.faces.embed import compute_device
print("DEVICE", compute_device())
win.close()
report(0)
""", tmp_path)
    assert result["attempts"] == [] and result["loaded"] == [], result
