"""Issue 17, part 9: on a plain Linux desktop the window's start says which system libraries
Qt's xcb platform lacks (and their packages) instead of Qt's plugin error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from photoface.gui import qt_libs

REPO_ROOT = Path(__file__).resolve().parents[2]

FAKE_LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /opt/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f01)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f02)
\tlibxcb-cursor.so.0 => not found
\tlibmystery.so.3 => not found
"""


def test_missing_libraries_are_read_from_ldd():
    assert qt_libs.missing_from_ldd(FAKE_LDD) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libmystery.so.3"]
    assert qt_libs.missing_from_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_message_names_each_library_and_its_package():
    text = qt_libs.message(["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libmystery.so.3"])
    assert "libxcb-cursor.so.0" in text and "libxcb-cursor0" in text and "libmystery.so.3" in text
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4\n" in text + "\n"
    assert "plugin" not in text.lower()  # the user's words, not Qt's


def test_only_an_xcb_start_is_checked():
    assert qt_libs.will_use_xcb({}, "linux")
    assert qt_libs.will_use_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert qt_libs.will_use_xcb({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not qt_libs.will_use_xcb({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not qt_libs.will_use_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not qt_libs.will_use_xcb({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux")
    assert not qt_libs.will_use_xcb({}, "darwin")


def test_check_reports_what_ldd_did_not_find(monkeypatch):
    monkeypatch.setattr(qt_libs.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=FAKE_LDD, stderr=""))
    if qt_libs.xcb_plugin() is None or shutil.which("ldd") is None:
        pytest.skip("no xcb plugin or no ldd here: the check stays silent, as it should")
    said = qt_libs.check({"QT_QPA_PLATFORM": "xcb"})
    assert said is not None and "libxcb-cursor0" in said
    assert qt_libs.check({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_the_table_covers_what_the_plugin_links():
    """Every X11/xcb/GL/font/glib/dbus library libqxcb.so loads has its package in the table."""
    plugin, ldd = qt_libs.xcb_plugin(), shutil.which("ldd")
    if plugin is None or ldd is None:
        pytest.skip("no xcb plugin or no ldd here")
    out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True).stdout
    names = [line.split("=>")[0].strip() for line in out.splitlines() if "=>" in line]
    system = [n for n in names if any(k in n for k in ("xcb", "X11", "xkb", "libGL.", "libEGL", "fontconfig",
                                                        "freetype", "glib-2", "dbus-1"))]
    assert "libxcb-cursor.so.0" in system
    assert [n for n in system if n not in qt_libs.PACKAGES] == []


@pytest.mark.parametrize("module", ["photoface.gui.qt_libs", "photoface"])
def test_make_run_and_the_window_name_the_missing_library(tmp_path, module):
    """`make run`'s first step and the `photoface` command itself, with an ldd that reports
    libxcb-cursor missing (a fake one first on PATH): the words, exit status 1, no Qt error."""
    if qt_libs.xcb_plugin() is None or not sys.platform.startswith("linux"):
        pytest.skip("no xcb plugin here")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ldd"
    fake.write_text("#!/bin/sh\nprintf '\\tlibxcb-cursor.so.0 => not found\\n'\n")
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", QT_QPA_PLATFORM="xcb",
               PHOTOFACE_LIBRARY=str(tmp_path / "lib"), PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "libxcb-cursor.so.0" in out.stderr and "sudo apt install libxcb-cursor0" in out.stderr
    assert "Could not load the Qt platform plugin" not in out.stderr
