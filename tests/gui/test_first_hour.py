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
