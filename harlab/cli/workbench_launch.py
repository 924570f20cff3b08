"""Opening the workbench from the command line, or saying why it cannot open here.

On Linux and other X11/Wayland systems Qt needs ``DISPLAY`` or ``WAYLAND_DISPLAY``; without
either (an ssh shell, a container, CI) Qt aborts with a message about platform plugins, or
waits, instead of saying what is wrong. Every command that opens a window (``harlab``,
``harlab FILE``, ``harlab demo``) asks :func:`missing_display` first and, when no window can
open, says so and how to go on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path


def missing_display() -> str | None:
    """Why no window can open here, or None when one can (or Qt is told where to draw).

    ``QT_QPA_PLATFORM`` (e.g. ``offscreen``) means the caller chose a platform: trust it."""
    if sys.platform in ("darwin", "win32") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"


def open_workbench(paths: Sequence[str], without_display: str = "") -> int:
    """Run the workbench on ``paths`` until it closes; its exit code.

    Without a display, prints why and ``without_display`` (what to do instead; by default the
    commands that work without one) and returns 1 before Qt is imported."""
    reason = missing_display()
    if reason is not None:
        hint = (
            without_display
            or (f"harlab: 'harlab info {paths[0]}' shows what the file holds, " if paths else "harlab: ")
            + "'harlab --help' lists the commands that need no window"
        )
        print(f"harlab: cannot open the workbench: {reason}\n{hint}", file=sys.stderr)
        return 1
    if paths:
        start_probe_early(Path(paths[0]))
    from harlab.gui.app import run_gui  # Qt only when a window is wanted

    return int(run_gui(list(paths)) or 0)


def start_probe_early(path: Path) -> None:
    """Start the hostile-file probe of a session file to be opened, before Qt is imported.

    The probe (a child process starting Python and h5py, a scan of every byte, the metadata walk)
    used to start with the open, after Qt, pyqtgraph and the window, and the scan ran in this
    process (a week: a gigabyte); started here, with the scan in the child, all of it runs on the
    other core while they start, and the window's open only collects its verdict. A file harlab
    cannot open as a session is left to the window (an import needs no probe)."""
    from harlab.core.files import is_session_file
    from harlab.storage.probe import start_probe

    if path.is_file() and is_session_file(path):
        start_probe(path)
