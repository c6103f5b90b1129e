"""Before the first ``QApplication``: are the system libraries of Qt's X11 (xcb) platform there?

Without them Qt aborts the process with "xcb-cursor0 or libxcb-cursor0 is needed", naming one library of
several: installing it only reveals the next one (a first-time user hit libxcb-cursor0, then
libxcb-icccm4 and libxcb-keysyms1, the last two only visible with ``QT_DEBUG_PLUGINS=1``). Trying each
library here turns that into one line that names every Debian/Ubuntu package to install. Qt-free, so it
runs before PyQt6 is imported.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
}
"""Shared objects that PyQt6's ``libqxcb.so`` needs from the system (its ``ldd`` less what the wheel
bundles), with the Debian/Ubuntu package that provides each."""


def platform_will_be_xcb(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt will pick its xcb plugin: on Linux, asked for explicitly or by default (not Wayland-only)."""
    env = os.environ if env is None else env
    if not (platform or sys.platform).startswith("linux"):
        return False
    asked = env.get("QT_QPA_PLATFORM", "").strip().lower()
    if asked:
        return asked.split(":")[0].split(";")[0] == "xcb"
    return bool(env.get("DISPLAY")) or not env.get("WAYLAND_DISPLAY")


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname, mode=getattr(os, "RTLD_LAZY", 1))
    except OSError:
        return False
    return True


def missing_xcb_libraries(loads: Callable[[str], bool] = _loads) -> list[str]:
    """The shared objects of :data:`XCB_LIBRARIES` that the dynamic loader cannot find."""
    return [so for so in XCB_LIBRARIES if not loads(so)]


def missing_qt_libraries_message(
    env: Mapping[str, str] | None = None, loads: Callable[[str], bool] = _loads
) -> str | None:
    """One actionable line when Qt's xcb platform would abort for want of system libraries, else None."""
    if not platform_will_be_xcb(env):
        return None
    missing = missing_xcb_libraries(loads)
    if not missing:
        return None
    packages = " ".join(XCB_LIBRARIES[so] for so in missing)
    return (
        f"Qt's X11 platform needs system libraries that are missing ({', '.join(missing)}); "
        f"install them with: sudo apt-get install {packages}  "
        "(or run without a window: QT_QPA_PLATFORM=offscreen snd-player CKPT --screenshot out.png)"
    )
