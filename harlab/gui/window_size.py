"""First sizes of top-level windows, kept inside the screen they open on.

A fixed ``resize(1400, 860)`` is taller and wider than a 1280×800 laptop's desktop: the
window's bottom (status bar, Record's Stop button) opened below the screen edge. Windows
ask for their preferred size here and get at most what the screen has room for.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

#: Share of the available desktop a window may take at first (leaves room for its frame).
SCREEN_SHARE = 0.95


def resize_within_screen(widget: QWidget, width: int, height: int) -> None:
    """Resize ``widget`` to ``width``×``height``, shrunk to fit the available desktop."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        room = screen.availableGeometry()
        width = min(width, int(room.width() * SCREEN_SHARE))
        height = min(height, int(room.height() * SCREEN_SHARE))
    widget.resize(width, height)
