"""Starting the GUI: ``harlab`` (start screen), ``harlab FILE`` and ``harlab demo``."""

from __future__ import annotations

import sys

import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from harlab.gui import settings
from harlab.gui.palette import apply_palette


def make_app() -> QApplication:
    """The QApplication (created once), with harlab's names and palette."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(app.organizationName() or settings.ORGANIZATION)
    app.setApplicationName(settings.APPLICATION)
    pg.setConfigOptions(antialias=False, background="w", foreground="k")
    apply_palette(app, settings.get_bool("dark", False))
    return app  # type: ignore[return-value]


def run_gui(paths: list[str]) -> int:
    """Open the main window on ``paths`` (the first one) or the start screen; run the event loop."""
    from harlab.gui.main_window import MainWindow

    app = make_app()
    window = MainWindow()
    opening = f"Opening {paths[0]}…" if paths else ""
    if paths:
        window.report(opening, 0)
    window.show()
    if paths:
        # drawn first: the window is there at once, and the file (probed by the child the command
        # line started before Qt, then read) fills it after
        app.processEvents()
        window.open_path(paths[0])
        if window.last_message == opening:
            window.report("", 1)
        for extra in paths[1:]:
            window.report(f"Only one session opens at a time; ignored {extra}")
    return app.exec()
