"""The Record window on a 1024×640 screen: it fits (its minimum width was 1092 px) and its
key controls, class buttons and setup form are whole."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QFormLayout, QPushButton

from tests.gui.gui_helpers import assert_whole, global_rect

pytestmark = pytest.mark.gui

SMALL = (1024, 640)


def test_record_window_fits_1024_wide_with_whole_controls(make_record_window, qtbot):
    w = make_record_window()
    assert w.minimumSizeHint().width() <= SMALL[0] and w.minimumSize().width() <= SMALL[0]
    w.resize(*SMALL)
    qtbot.waitUntil(lambda: w.width() == SMALL[0])
    for _ in range(3):  # the class buttons rewrap on the resize; let that layout pass run
        QApplication.processEvents()
    p = w.panel
    for b in (
        p.start_button,
        p.pause_button,
        p.stop_button,
        p.labels.stop_button,
        *p.labels.buttons.values(),
    ):
        assert_whole(b, w)
    assert_whole(p.labels.current, w)
    assert len(p.labels.buttons) >= 9
    form = p.setup.layout()
    assert isinstance(form, QFormLayout)
    for row in range(form.rowCount()):
        for role in (QFormLayout.ItemRole.LabelRole, QFormLayout.ItemRole.SpanningRole):
            item = form.itemAt(row, role)
            if item is not None and item.widget() is not None:
                assert_whole(item.widget(), w)  # "Label classes" was cut to "Label class"
    assert global_rect(p.left).right() < global_rect(p.plot_stack).left()
    w.grab().save("/tmp/harlab_small_record.png")
    for button in p.labels.buttons.values():  # wrapped buttons keep their order and do not overlap
        for other in p.labels.buttons.values():
            if other is not button:
                assert not global_rect(button).intersects(global_rect(other))
    assert all(isinstance(b, QPushButton) for b in p.labels.buttons.values())
