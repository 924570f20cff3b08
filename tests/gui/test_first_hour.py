"""What a researcher trying the workbench for the first time hits (issue 17, second pass).

Each test drives the real window as a person would and fails on the code before its fix.
"""

from __future__ import annotations

import pytest
from gui_helpers import press_shortcut

pytestmark = pytest.mark.gui


def open_window(make_window, qtbot, path):
    w = make_window()
    assert w.open_path(path)
    qtbot.waitUntil(w.timeline.is_idle, timeout=5000)
    return w


def on_screen(widget) -> bool:
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def test_segment_table_key_brings_the_tabbed_table_forward(make_window, qtbot, session_path):
    """The table opens tabbed behind the Session panel; Ctrl+T must show it, not hide it."""
    w = open_window(make_window, qtbot, session_path)
    dock = w.table_dock
    qtbot.waitUntil(lambda: on_screen(w.meta_dock))
    assert not on_screen(dock)
    press_shortcut(qtbot, w, "toggle_segment_table")
    qtbot.waitUntil(lambda: on_screen(dock))
    press_shortcut(qtbot, w, "toggle_segment_table")
    qtbot.waitUntil(lambda: not dock.isVisible())
    press_shortcut(qtbot, w, "toggle_segment_table")
    qtbot.waitUntil(lambda: on_screen(dock))


def test_session_panel_says_duration_in_units_a_person_reads(make_window, qtbot, tmp_path):
    """A 47 s recording read "Duration: 0.01 h"; a 10-minute one "0.17 h"."""
    from gui_helpers import make_session

    from harlab.storage import save_session

    short = save_session(make_session(minutes=47 / 60), tmp_path / "short.h5")
    w = open_window(make_window, qtbot, short)
    assert "Duration: 47.0 s" in w.meta_dock.info.text()
    assert w.open_path(save_session(make_session(minutes=10), tmp_path / "ten.h5"))
    assert "Duration: 10 min 0 s" in w.meta_dock.info.text()


def test_windows_first_open_inside_the_screen(qtbot, tmp_path):
    """The workbench opened 1400×860 and Record 1320×860: past the bottom of a 1280×800
    laptop's desktop, hiding the status bar and Record's buttons."""
    from harlab.gui.labeling.help_dialog import HelpDialog
    from harlab.gui.main_window import MainWindow
    from harlab.gui.record.panel import RecordWindow

    main = MainWindow()
    qtbot.addWidget(main)
    record = RecordWindow(main, tmp_path, auto_scan=False)
    qtbot.addWidget(record)
    room = main.screen().availableGeometry()
    for widget in (main, record, HelpDialog(None, main)):
        fits = widget.size().boundedTo(widget.minimumSizeHint().expandedTo(room.size()))
        assert widget.size() == fits, f"{type(widget).__name__} {widget.size()} > screen {room.size()}"
    record.panel.shutdown()
