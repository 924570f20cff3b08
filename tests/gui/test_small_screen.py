"""The workbench on a 1024×640 screen: it fits (its minimum width was 1042 px with a session
open) and its main regions, toolbar and menus are whole."""

from __future__ import annotations

from itertools import combinations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from tests.gui.gui_helpers import assert_whole, global_rect
from tests.gui.test_layout import six_row_session

pytestmark = pytest.mark.gui

SMALL = (1024, 640)


def test_workbench_fits_1024_wide_with_whole_toolbar_menus_and_docks(make_window, qtbot):
    w = make_window()
    w.heatmap_action.setChecked(True)
    assert w.show_session(six_row_session(), unsaved=False)
    qtbot.waitUntil(w.timeline.is_idle, timeout=10000)
    assert w.minimumSizeHint().width() <= SMALL[0] and w.minimumSize().width() <= SMALL[0]
    w.resize(*SMALL)
    qtbot.waitUntil(lambda: w.width() == SMALL[0])
    regions = [w.centralWidget(), w.meta_dock]
    assert all(r.isVisible() and r.width() > 150 for r in regions)
    for a, b in combinations(regions, 2):
        assert not global_rect(a).intersects(global_rect(b)), (a, b)
    assert w.meta_dock.width() <= 300  # the dock gives way (it kept 330 px)
    w.resizeDocks([w.meta_dock], [0], Qt.Orientation.Horizontal)  # dragged to its narrowest
    qtbot.waitUntil(lambda: w.timeline.width() >= 720)  # the rows keep most of the width
    bar = w.menuBar()
    for action in bar.actions():
        assert bar.rect().contains(bar.actionGeometry(action)), action.text()
    for tb in w.findChildren(QToolBar):
        if not tb.isVisible():
            continue
        for action in tb.actions():
            if action.isVisible() and not action.isSeparator():
                button = tb.widgetForAction(action)
                assert button is not None and button.isVisible(), action.text()  # not in the » overflow menu
                assert_whole(button, w)
    w.grab().save("/tmp/harlab_small_workbench.png")
