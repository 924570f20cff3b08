"""Heatmap class names: typical names ("stairs_down", "eating_sandwich") stand whole in the
rows' name column when the window has room; a name too long for it is shortened with "…"
and shows whole when hovered."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from harlab.gui.prediction_rows import NAME_COLUMN_MAX
from tests.gui.gui_helpers import make_predictions, make_session, view_pos
from tests.gui.test_layout import check_layout, open_at_1280x800

pytestmark = pytest.mark.gui

LONG = "walking_downstairs_carrying_a_heavy_bag"
CLASSES = ["walking", "sitting", "stairs_down", "eating_sandwich", "brushing_teeth", LONG]


def tick_texts(axis) -> list[str]:
    return [text for _v, text in axis._tickLevels[0]]


def test_class_names_whole_when_room_and_full_name_on_hover(make_window, qtbot):
    s = make_session(minutes=10, n_segments=20)
    make_predictions(s, name="activity-predicted", classes=CLASSES)
    w = open_at_1280x800(make_window, qtbot, s)
    tl = w.timeline
    row = tl.pred_rows[0]
    axis = row.heat_plot.getAxis("left")
    texts = tick_texts(axis)
    for name in ("stairs_down", "eating_sandwich", "brushing_teeth"):
        assert name in texts, texts  # was "stairs_do…"
    shortened = [t for t in texts if t.endswith("…")]
    assert shortened and LONG.startswith(shortened[0][:-1])
    # one name column for every row, so the rows' time axes stay aligned
    widths = {p.getAxis("left").width() for p in tl._all_plots()} | {tl.axis_plot.getAxis("left").width()}
    assert len(widths) == 1 and widths.pop() <= NAME_COLUMN_MAX
    check_layout(w)
    # hovering a class name (a real mouse move over the view) gives it whole as the tooltip
    view = tl.glw.viewport()
    for i, name in enumerate(CLASSES):
        pos = view_pos(row.heat_plot, 0.0, i + 0.5)
        x = int(tl.glw.mapFromScene(axis.sceneBoundingRect().center()).x())
        target = QPoint(x, pos.y())
        qtbot.mouseMove(view, target)
        QApplication.processEvents()
        qtbot.waitUntil(lambda name=name: axis.toolTip() == name, timeout=3000)
    w.grab().save("/tmp/harlab_heatmap_names.png")
