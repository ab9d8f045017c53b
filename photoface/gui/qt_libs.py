"""Before the window opens on Linux: are the system libraries Qt's X11 (xcb) platform plugin
needs installed? Without them Qt prints "Could not load the Qt platform plugin "xcb"" and aborts,
naming none of them; this names each one and the Debian/Ubuntu package that has it.

Imports no Qt (it must run where Qt cannot start). `python -m photoface.gui.qt_libs` is the check
`make run` does first; `gui.app.main` does it too.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

# The libraries PySide6's libqxcb.so loads (`ldd`, PySide6 6.12) that a desktop install may lack,
# and the Debian/Ubuntu packages that install them. libxcb-cursor0 is the one most often missing:
# Qt needs it since 6.5, and a default desktop does not install it.
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, found without importing Qt (None when not there)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def will_use_xcb(env: dict[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will pick the xcb plugin: on Linux, asked for it, or nothing asked for outside a
    Wayland session (in one, Qt 6 takes its Wayland plugin first)."""
    if not platform.startswith("linux"):
        return False
    asked = env.get("QT_QPA_PLATFORM", "").strip()
    if asked:
        return asked.split(":")[0].split(";")[0] == "xcb"
    return not env.get("WAYLAND_DISPLAY")


def missing_from_ldd(ldd_output: str) -> list[str]:
    """The libraries `ldd` could not find ("libxcb-cursor.so.0 => not found"), in its order."""
    missing = []
    for line in ldd_output.splitlines():
        name, arrow, where = line.strip().partition("=>")
        if arrow and where.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def message(missing: list[str]) -> str:
    """What the user reads: each missing library, its package, and one command that installs them."""
    lines = ["photoface cannot open its window: Qt's X11 platform needs these system libraries, "
             "which are not installed:"]
    packages = []
    for lib in missing:
        package = PACKAGES.get(lib)
        lines.append(f"  {lib}" + (f"  (Debian/Ubuntu package {package})" if package else ""))
        if package and package not in packages:
            packages.append(package)
    if packages:
        lines.append(f"Install them with:  sudo apt install {' '.join(packages)}")
    lines.append("(Other distributions name the packages after the same libraries. The command line, "
                 "`photoface scan DIR` and the others, works without them.)")
    return "\n".join(lines)


def check(env: dict[str, str] | None = None) -> str | None:
    """The message naming the missing libraries, or None when none is missing (or this is not an
    xcb start, or it cannot be told: no plugin, no ldd)."""
    env = dict(os.environ) if env is None else env
    plugin = xcb_plugin()
    ldd = shutil.which("ldd")
    if not will_use_xcb(env) or plugin is None or ldd is None:
        return None
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    missing = missing_from_ldd(out)
    return message(missing) if missing else None


def main() -> int:
    said = check()
    if said:
        print(said, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
