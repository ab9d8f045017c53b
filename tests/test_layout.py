"""The core stays Qt-free and quick to import, and its packages depend in the direction of the flow:
faces (pixels → vectors) knows nothing of the library; the GUI and the CLI are thin layers over it."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "photoface" / "core"


def test_core_imports_neither_qt_nor_tensorflow():
    code = (
        "import sys, pkgutil, importlib, photoface.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'photoface.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('PySide6', 'shiboken6', 'tensorflow', 'keras')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing photoface.core pulled in: {out.stdout.strip()}"


def _imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_faces_knows_nothing_of_the_library_or_later_stages():
    later = ("photoface.core.library", "photoface.core.albums", "photoface.core.learning",
             "photoface.core.interop")
    for path in sorted((CORE / "faces").glob("*.py")):
        bad = sorted(n for n in _imported(path) if n.startswith(later))
        assert not bad, f"{path.name} imports {bad}: faces/ turns pixels into vectors and nothing else"


def test_every_core_module_lives_in_its_stage():
    """Only shared vocabulary sits at the top of core/; everything else is in a stage package."""
    top = {p.stem for p in CORE.glob("*.py")}
    assert top <= {"__init__", "types", "errors", "config", "paths", "hashing", "text"}, top
    assert {p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == \
        {"faces", "library", "albums", "learning", "interop"}


def test_albums_know_nothing_of_learning_or_interop():
    """Fine-tuning validates on the album engine and versions switch the model albums are grouped
    in, never the other way round: albums/ reads the active version through the library."""
    later = ("photoface.core.learning", "photoface.core.interop")
    for path in sorted((CORE / "albums").glob("*.py")):
        bad = sorted(n for n in _imported(path) if n.startswith(later))
        assert not bad, f"albums/{path.name} imports {bad}"


def test_the_album_engine_is_pure():
    """albums/engine.py is arrays in, arrays out: no library, no files."""
    bad = sorted(n for n in _imported(CORE / "albums" / "engine.py")
                 if n.startswith(("photoface.core.library", "sqlite3", "pathlib")))
    assert not bad, f"engine.py imports {bad}"


def _runs_sql(path: Path) -> list[int]:
    """Lines where a file calls .execute / .executemany / .executescript (SQLite's cursor API)."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("execute", "executemany", "executescript")]


def test_only_the_library_runs_sql():
    """SQL lives in core/library/ alone, behind named functions: one "photo is present" condition,
    one blob decoder, and a schema that can change in one package."""
    package = CORE.parent
    for path in sorted(package.rglob("*.py")):
        if (CORE / "library") in path.parents:
            continue
        lines = _runs_sql(path)
        assert not lines, f"{path.relative_to(package.parent)} runs SQL at lines {lines}: move it to core/library/"


def test_the_sql_check_sees_sql():
    assert _runs_sql(CORE / "library" / "store.py"), "the check would pass on any file"
