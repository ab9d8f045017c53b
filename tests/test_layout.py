"""The core stays Qt-free and quick to import: the GUI and the CLI are thin layers over it."""

import subprocess
import sys


def test_core_imports_neither_qt_nor_tensorflow():
    code = (
        "import sys, pkgutil, importlib, photoface.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('photoface.core.' + m.name)\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('PySide6', 'shiboken6', 'tensorflow', 'keras')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing photoface.core pulled in: {out.stdout.strip()}"
